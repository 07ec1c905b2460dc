/**
 * The audit log: one JSON line per capability call, allowed or denied, for both tiers.
 * Appending never throws into the caller (a full disk must not break a check); records are
 * appended in order by one writer chain; `close()` waits for them. The file is rotated by size
 * (config.yaml `audit:`), so a daemon auditing every check's reads does not fill the disk. A side effect waits for its
 * record first (`ensureWritten`): a change that cannot be audited is not made.
 */
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CxError } from '../errors.js';

/** One audit record. */
export interface AuditRecord {
  ts: string;
  plugin: string;
  tier: 'trusted' | 'sandboxed';
  /** exec | fs | net */
  capability: string;
  /** run | readFile | writeFile | … | tcpConnect | resolve | http */
  op: string;
  /** The command, path or host:port. */
  target: string;
  args?: unknown;
  allowed: boolean;
  /** Why a call was denied or refused. */
  reason?: string;
  dryRun: boolean;
}

const MAX_FIELD = 4096;

function clip(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_FIELD ? `${v.slice(0, MAX_FIELD)}…` : v;
  if (Array.isArray(v)) return v.slice(0, 64).map(clip);
  return v;
}

/** How much audit log is kept: the live file up to `maxBytes`, then `keep` rotated ones (audit.jsonl.1 newest). */
export interface AuditRetention {
  maxBytes: number;
  keep: number;
}

/** config.yaml's `audit:` defaults (schemas/config.schema.json): 10 MB a file, 5 old files, 60 MB at most. */
export const DEFAULT_AUDIT_RETENTION: AuditRetention = Object.freeze({ maxBytes: 10 * 1024 * 1024, keep: 5 });

/**
 * Appends audit records as JSON lines to a file (or keeps them in memory for tests). Records
 * appended while a write is under way go out together in the next write. When the file would
 * grow past `retention.maxBytes` it is rotated first (audit.jsonl -> audit.jsonl.1 -> … ->
 * audit.jsonl.<keep>, the oldest dropped); another cx-ops process that already rotated it is
 * noticed (the path is no longer the file this one has open) and the new file is just reopened.
 */
export class AuditLog {
  /** Records kept in memory (only for AuditLog.memory()). */
  readonly records: AuditRecord[] = [];
  /** Write failures (kept, never thrown). */
  readonly failures: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private handle?: Promise<FileHandle | null>;
  private closed = false;
  private pending: string[] = [];
  private scheduled = false;
  /** Bytes in the open file, as far as this process knows. */
  private size = 0;
  private retention: AuditRetention = DEFAULT_AUDIT_RETENTION;

  /** @param path the JSONL file; null keeps records in memory only. */
  constructor(readonly path: string | null) {}

  /** An in-memory audit log (tests). */
  static memory(): AuditLog {
    return new AuditLog(null);
  }

  /** Sets how much is kept (config.yaml `audit:`); applies from the next write. */
  retain(retention: AuditRetention): void {
    this.retention = { maxBytes: Math.max(1, retention.maxBytes), keep: Math.max(0, Math.floor(retention.keep)) };
  }

  /** Appends a record; `ts` is filled in. Never throws. */
  append(record: Omit<AuditRecord, 'ts'> & { ts?: string }): void {
    let full: AuditRecord;
    try {
      full = {
        ts: record.ts ?? new Date().toISOString(),
        ...record,
        target: clip(record.target) as string,
        args: clip(record.args),
      } as AuditRecord;
    } catch {
      return;
    }
    if (this.path === null) {
      this.records.push(full);
      return;
    }
    if (this.closed) return;
    let line: string;
    try {
      line = `${JSON.stringify(full)}\n`;
    } catch (e) {
      this.failures.push(String(e));
      return;
    }
    this.pending.push(line);
    if (this.scheduled) return; // the write already queued takes this record too
    this.scheduled = true;
    this.chain = this.chain.then(() => this.drain());
  }

  /** Writes every pending record in one write, rotating first when the file would pass its cap. */
  private async drain(): Promise<void> {
    this.scheduled = false;
    const text = this.pending.join('');
    this.pending = [];
    const bytes = Buffer.byteLength(text);
    try {
      if (this.size > 0 && this.size + bytes > this.retention.maxBytes) await this.rotate();
      const fh = await this.file();
      if (!fh) return;
      await fh.write(text);
      this.size += bytes;
    } catch (e) {
      this.failures.push(e instanceof Error ? e.message : String(e));
    }
  }

  /** Moves the full file aside (unless another process already did) and opens a fresh one. */
  private async rotate(): Promise<void> {
    const path = this.path!;
    const fh = await this.handle;
    this.handle = undefined;
    const [onDisk, mine] = await Promise.all([stat(path).catch(() => null), fh?.stat().catch(() => null)]);
    await fh?.close().catch(() => undefined);
    if (!onDisk || !mine || onDisk.ino !== mine.ino || onDisk.dev !== mine.dev) return; // rotated elsewhere
    if (this.retention.keep === 0) {
      await unlink(path).catch(() => undefined);
      return;
    }
    for (let i = this.retention.keep - 1; i >= 1; i--)
      await rename(`${path}.${i}`, `${path}.${i + 1}`).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    await rename(path, `${path}.1`);
  }

  private file(): Promise<FileHandle | null> {
    this.handle ??= (async () => {
      try {
        await mkdir(dirname(this.path!), { recursive: true, mode: 0o700 });
        const fh = await open(this.path!, 'a', 0o600);
        this.size = (await fh.stat()).size;
        return fh;
      } catch (e) {
        this.failures.push(e instanceof Error ? e.message : String(e));
        return null;
      }
    })();
    return this.handle;
  }

  /**
   * Resolves when every record appended so far is written; throws CX_ERR_IO naming the audit
   * file when one of them could not be (each failure is reported once).
   */
  async ensureWritten(): Promise<void> {
    if (this.path === null) return;
    await this.chain;
    if (this.failures.length > this.reported) {
      const why = this.failures[this.failures.length - 1];
      this.reported = this.failures.length;
      throw new CxError('CX_ERR_IO', {
        path: this.path,
        detail: `the audit record could not be written (${why}); the change was not made. Free space or fix the log directory (--log-dir), then run again`,
      });
    }
  }

  private reported = 0;

  /** Resolves when every record appended so far is written. */
  async flush(): Promise<void> {
    await this.chain;
  }

  /** Writes what is pending and closes the file; later records are dropped. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    const fh = await this.handle;
    this.handle = undefined;
    try {
      await fh?.close();
    } catch {
      // Closing an audit file must not fail a shutdown.
    }
  }
}
