/**
 * The one history store: an SQLite database (better-sqlite3) in cx-ops' data directory, in WAL
 * mode, holding check results and daemon events (later: heal actions, task runs, alerts). Its
 * schema is versioned (PRAGMA user_version) and migrated forward on open. A kill -9 loses at
 * most the transaction in flight; a database that fails its integrity check is moved aside and a
 * fresh one started, with a message saying where the old one went.
 *
 * SQLite does its own file I/O: the database file cannot go through ctx.localFs (it needs
 * byte-range locks and a shared-memory WAL index), so better-sqlite3 opens it directly — the one
 * path this plugin touches without a capability. Moving a corrupt file aside goes through ctx.localFs.
 */
import Database from 'better-sqlite3';
import type { CheckResult, FsCapability } from 'cx-ops/sdk';

/** Schema migrations, in order; user_version is the number applied. Never edit a shipped one. */
const MIGRATIONS: string[] = [
  `CREATE TABLE check_results (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     cycle INTEGER NOT NULL,
     job TEXT NOT NULL,
     check_id TEXT NOT NULL,
     name TEXT NOT NULL,
     status TEXT NOT NULL,
     message TEXT NOT NULL,
     duration_ms REAL NOT NULL,
     details TEXT NOT NULL
   );
   CREATE INDEX check_results_check_ts ON check_results (check_id, ts);
   CREATE INDEX check_results_ts ON check_results (ts);
   CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     level TEXT NOT NULL,
     type TEXT NOT NULL,
     plugin TEXT,
     message TEXT NOT NULL,
     data TEXT
   );
   CREATE INDEX events_ts ON events (ts);`,
  // Plugins' own durable state (the alerts plugin's alert states, silences and notification queue).
  `CREATE TABLE plugin_state (
     plugin TEXT NOT NULL,
     key TEXT NOT NULL,
     ts INTEGER NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (plugin, key)
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface StoredResult {
  ts: string;
  cycle: number;
  job: string;
  check_id: string;
  name: string;
  status: CheckResult['status'];
  message: string;
  duration_ms: number;
}

export interface StoredEvent {
  ts: string;
  level: 'info' | 'warn' | 'error';
  type: string;
  plugin: string | null;
  message: string;
  data: unknown;
}

export interface HistoryQuery {
  check?: string;
  /** Epoch milliseconds. */
  since?: number;
  limit?: number;
}

export interface OpenOutcome {
  store: HistoryStore;
  /** Set when a corrupt database was moved aside. */
  movedAside?: { to: string; reason: string };
}

const isCorrupt = (e: unknown) =>
  /SQLITE_CORRUPT|SQLITE_NOTADB|malformed|not a database/i.test(
    `${(e as { code?: string }).code ?? ''} ${e instanceof Error ? e.message : ''}`,
  );

export class HistoryStore {
  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {}

  /** Opens (creating and migrating) the store; a corrupt database is moved aside first. */
  static async open(file: string, fs: Pick<FsCapability, 'rename' | 'stat'>, now = Date.now()): Promise<OpenOutcome> {
    try {
      return { store: HistoryStore.openChecked(file) };
    } catch (e) {
      if (!isCorrupt(e)) throw e;
      const to = `${file}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
      for (const suffix of ['', '-wal', '-shm']) {
        if (await fs.stat(file + suffix)) await fs.rename(file + suffix, to + suffix);
      }
      return {
        store: HistoryStore.openChecked(file),
        movedAside: { to, reason: e instanceof Error ? e.message : String(e) },
      };
    }
  }

  private static openChecked(file: string): HistoryStore {
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a crash loses at most the last transactions, never consistency.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 2000');
      // A 512 KiB page cache, not SQLite's 2 MB: the daemon appends and seldom reads back (the OS
      // caches the file anyway), and the cache stays resident for the daemon's life.
      db.pragma('cache_size = -512');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok')
        throw Object.assign(new Error(`integrity check failed: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
      const version = Number(db.pragma('user_version', { simple: true }));
      if (version > MIGRATIONS.length)
        throw new Error(
          `${file} has schema version ${version}, newer than this cx-ops knows (${MIGRATIONS.length}); upgrade cx-ops or move the file away`,
        );
      for (let v = version; v < MIGRATIONS.length; v++) {
        db.transaction(() => {
          db.exec(MIGRATIONS[v]!);
          db.pragma(`user_version = ${v + 1}`);
        })();
      }
      return new HistoryStore(db, file);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** The schema version in the file. */
  version(): number {
    return Number(this.db.pragma('user_version', { simple: true }));
  }

  /** Stores one cycle's results in one transaction (all or nothing). */
  addResults(ts: number, cycle: number, job: string, results: CheckResult[]): void {
    const insert = this.db.prepare(
      'INSERT INTO check_results (ts, cycle, job, check_id, name, status, message, duration_ms, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const r of results)
        insert.run(
          ts,
          cycle,
          job,
          r.check_id,
          r.name,
          r.status,
          r.message,
          r.duration_ms,
          JSON.stringify(r.details ?? {}),
        );
    })();
  }

  addEvent(ts: number, e: Omit<StoredEvent, 'ts'>): void {
    this.db
      .prepare('INSERT INTO events (ts, level, type, plugin, message, data) VALUES (?, ?, ?, ?, ?, ?)')
      .run(ts, e.level, e.type, e.plugin, e.message, e.data === undefined ? null : JSON.stringify(e.data));
  }

  results(q: HistoryQuery = {}): StoredResult[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.check) {
      where.push('check_id = ?');
      args.push(q.check);
    }
    if (q.since !== undefined) {
      where.push('ts >= ?');
      args.push(q.since);
    }
    const rows = this.db
      .prepare(
        `SELECT ts, cycle, job, check_id, name, status, message, duration_ms FROM check_results ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, id DESC LIMIT ?`,
      )
      .all(...args, q.limit ?? 1000) as Array<Omit<StoredResult, 'ts'> & { ts: number }>;
    return rows.map((r) => ({ ...r, ts: new Date(r.ts).toISOString() }));
  }

  events(q: { since?: number; limit?: number } = {}): StoredEvent[] {
    const rows = this.db
      .prepare(
        `SELECT ts, level, type, plugin, message, data FROM events ${q.since !== undefined ? 'WHERE ts >= ?' : ''} ORDER BY ts DESC, id DESC LIMIT ?`,
      )
      .all(...(q.since !== undefined ? [q.since] : []), q.limit ?? 200) as Array<
      Omit<StoredEvent, 'ts' | 'data'> & { ts: number; data: string | null }
    >;
    return rows.map((r) => ({
      ...r,
      ts: new Date(r.ts).toISOString(),
      data: r.data === null ? null : (JSON.parse(r.data) as unknown),
    }));
  }

  /** A plugin's state entries whose key starts with `prefix`, by key. */
  state(plugin: string, prefix = ''): Array<{ key: string; ts: number; value: unknown }> {
    const rows = this.db
      .prepare('SELECT key, ts, value FROM plugin_state WHERE plugin = ? AND substr(key, 1, ?) = ? ORDER BY key')
      .all(plugin, prefix.length, prefix) as Array<{ key: string; ts: number; value: string }>;
    return rows.map((r) => ({ key: r.key, ts: r.ts, value: JSON.parse(r.value) as unknown }));
  }

  /** Sets (value) or deletes (null) a plugin's state entries, in one transaction. */
  putState(plugin: string, ts: number, entries: Array<{ key: string; value: unknown }>): void {
    const put = this.db.prepare(
      'INSERT INTO plugin_state (plugin, key, ts, value) VALUES (?, ?, ?, ?) ON CONFLICT (plugin, key) DO UPDATE SET ts = excluded.ts, value = excluded.value',
    );
    const del = this.db.prepare('DELETE FROM plugin_state WHERE plugin = ? AND key = ?');
    this.db.transaction(() => {
      for (const e of entries)
        if (e.value === null || e.value === undefined) del.run(plugin, e.key);
        else put.run(plugin, e.key, ts, JSON.stringify(e.value));
    })();
  }

  /** Row counts (for `history` and the API). */
  counts(): { results: number; events: number } {
    const n = (t: string) => Number((this.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n);
    return { results: n('check_results'), events: n('events') };
  }

  /** Bytes the database occupies (pages in use). */
  sizeBytes(): number {
    const pages = Number(this.db.pragma('page_count', { simple: true }));
    const free = Number(this.db.pragma('freelist_count', { simple: true }));
    return (pages - free) * Number(this.db.pragma('page_size', { simple: true }));
  }

  /** Deletes records older than `maxAgeMs`, then the oldest while the store is over `maxBytes`. Returns rows deleted. */
  prune(now: number, maxAgeMs: number, maxBytes: number): number {
    const cutoff = now - maxAgeMs;
    let deleted = 0;
    this.db.transaction(() => {
      deleted += this.db.prepare('DELETE FROM check_results WHERE ts < ?').run(cutoff).changes;
      deleted += this.db.prepare('DELETE FROM events WHERE ts < ?').run(cutoff).changes;
    })();
    for (let i = 0; i < 20 && this.sizeBytes() > maxBytes; i++) {
      const { results } = this.counts();
      if (!results) break;
      // The oldest tenth of the results (and the events older than the newest of them) go.
      const upTo = this.db
        .prepare('SELECT ts FROM check_results ORDER BY ts ASC LIMIT 1 OFFSET ?')
        .get(Math.max(0, Math.floor(results / 10))) as { ts: number } | undefined;
      if (!upTo) break;
      this.db.transaction(() => {
        deleted += this.db.prepare('DELETE FROM check_results WHERE ts <= ?').run(upTo.ts).changes;
        deleted += this.db.prepare('DELETE FROM events WHERE ts <= ?').run(upTo.ts).changes;
      })();
    }
    return deleted;
  }

  /** PRAGMA integrity_check: 'ok' or the problems. */
  integrity(): string {
    return String(this.db.pragma('integrity_check', { simple: true }));
  }

  /** A hard cap on the file (PRAGMA max_page_count): beyond it a write fails with SQLITE_FULL, as on a full disk. */
  limitBytes(bytes: number): void {
    const pages = Math.max(1, Math.floor(bytes / Number(this.db.pragma('page_size', { simple: true }))));
    this.db.pragma(`max_page_count = ${pages}`);
  }

  close(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      /* closing still flushes */
    }
    this.db.close();
  }
}
