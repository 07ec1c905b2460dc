/**
 * The audit log: one JSON line per capability call, allowed or denied, for both tiers.
 * Appending never throws into the caller (a full disk must not break a check); records are
 * appended in order by one writer chain; `close()` waits for them. A side effect waits for its
 * record first (`ensureWritten`): a change that cannot be audited is not made.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
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

/** Appends audit records as JSON lines to a file (or keeps them in memory for tests). */
export class AuditLog {
  /** Records kept in memory (only for AuditLog.memory()). */
  readonly records: AuditRecord[] = [];
  /** Write failures (kept, never thrown). */
  readonly failures: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private handle?: Promise<FileHandle | null>;
  private closed = false;

  /** @param path the JSONL file; null keeps records in memory only. */
  constructor(readonly path: string | null) {}

  /** An in-memory audit log (tests). */
  static memory(): AuditLog {
    return new AuditLog(null);
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
    this.chain = this.chain.then(async () => {
      try {
        const fh = await this.file();
        if (fh) await fh.write(line);
      } catch (e) {
        this.failures.push(e instanceof Error ? e.message : String(e));
      }
    });
  }

  private file(): Promise<FileHandle | null> {
    this.handle ??= (async () => {
      try {
        await mkdir(dirname(this.path!), { recursive: true, mode: 0o700 });
        return await open(this.path!, 'a', 0o600);
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
