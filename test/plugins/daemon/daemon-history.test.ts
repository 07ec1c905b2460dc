/**
 * The one history store: `cx-ops history` reads what the daemon wrote; kill -9 of the daemon at
 * any moment leaves a database that passes PRAGMA integrity_check; a corrupt database is moved
 * aside with a message and a fresh one started; a full disk is said once while checks go on.
 */
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, test } from 'vitest';
import { daemonRoot, eventually, type DaemonRoot } from './daemon-process.js';

let host: DaemonRoot | undefined;
afterEach(async () => {
  await host?.cleanup();
  host = undefined;
});

const dbOf = (root: string) => join(root, 'var/lib/cx/history.db');
const cyclesDone = (lines: Array<{ type: string; data?: Record<string, any> }>) =>
  lines.filter((l) => l.type === 'cycle_end' && l.data?.job === 'checks').length;

describe('the history store', () => {
  test('cx-ops history reads the results the daemon stored; kill -9 at any moment never corrupts the database', async () => {
    host = await daemonRoot('healthy');
    await host.config('daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory, cpu_load, disk_space]\n');
    let stored = 0;
    for (let round = 0; round < 3; round++) {
      const d = await host.start();
      await d.waitFor(() => cyclesDone(d.lines) >= 2, 'two cycles');
      // Killed at a moment the test does not choose: somewhere in the daemon's write loop.
      await new Promise((r) => setTimeout(r, 137 * (round + 1)));
      d.kill('SIGKILL');
      await d.exited;
      const db = new Database(dbOf(host.root), { readonly: false });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const n = Number((db.prepare('SELECT count(*) AS n FROM check_results').get() as { n: number }).n);
        // At most the cycle in flight is lost: every completed cycle before it is there.
        expect(n).toBeGreaterThanOrEqual(stored + 3);
        expect(n % 3).toBe(0);
        stored = n;
      } finally {
        db.close();
      }
    }
    const r = await host.cli(['history', '--check', 'memory', '--since', '1h', '--json']);
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      database: dbOf(host.root),
      exists: true,
      filter: { check: 'memory', since: '1h', limit: 100 },
    });
    expect(out.results.length).toBe(stored / 3);
    expect(
      out.results.every((x: { check_id: string; status: string }) => x.check_id === 'memory' && x.status === 'PASS'),
    ).toBe(true);
    const text = await host.cli(['history', '--limit', '2']);
    expect(text.stdout.trim().split('\n')).toHaveLength(2);
    expect((await host.cli(['history', '--since', 'yesterday'])).stderr).toContain(
      'error[CX_ERR_USAGE]: --since yesterday is not a duration',
    );
  });

  test('a corrupt database is moved aside with a message and a fresh one is started', async () => {
    host = await daemonRoot('healthy');
    await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
    await mkdir(join(host.root, 'var/lib/cx'), { recursive: true });
    await writeFile(dbOf(host.root), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(8192, 0x5a)]));
    const d = await host.start();
    const moved = await d.waitFor((l) => l.type === 'history_corrupt', 'corrupt database moved aside');
    expect(moved.level).toBe('warn');
    expect(moved.message).toMatch(/moved to .*history\.db\.corrupt-/);
    const files = await readdir(join(host.root, 'var/lib/cx'));
    expect(files.some((f) => /^history\.db\.corrupt-/.test(f))).toBe(true);
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'a cycle');
    await eventually(
      async () => (await d.get('/api/v1/history')).json.results.length > 0,
      'results in the fresh store',
    );
    expect((await d.stop()).exitCode).toBe(0);
  });

  test('a full disk: the daemon says so once, keeps running checks and serving, and counts what it could not store', async () => {
    host = await daemonRoot('healthy');
    // history.max_file_mb caps the file below what one more cycle needs: SQLite fails the write
    // with SQLITE_FULL ("database or disk is full"), exactly as when the disk is full.
    await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  history: { max_file_mb: 0.001 }\n');
    const d = await host.start();
    const said = await d.waitFor((l) => l.type === 'history_write_failed', 'history write failure');
    expect(said.level).toBe('error');
    expect(said.message).toContain('database or disk is full');
    expect(said.message).toContain('checks go on running and being served');
    expect(said.data).toEqual({ code: 'SQLITE_FULL' });
    const at = cyclesDone(d.lines);
    await d.waitFor(() => cyclesDone(d.lines) >= at + 2, 'two more cycles despite the full disk');
    expect(d.lines.filter((l) => l.type === 'history_write_failed')).toHaveLength(1);
    expect((await d.get('/health')).status).toBe(200);
    expect(
      Number(/cx_ops_daemon_history_write_errors_total (\d+)/.exec((await d.get('/metrics')).text)?.[1]),
    ).toBeGreaterThanOrEqual(12);
    expect((await d.stop()).exitCode).toBe(0);
  });

  test('a history store that cannot be opened: the daemon says so and runs without history', async () => {
    host = await daemonRoot('healthy');
    await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
    await mkdir(join(host.root, 'var/lib/cx'), { recursive: true });
    const seed = new Database(dbOf(host.root));
    seed.pragma('journal_mode = WAL');
    seed.close();
    await symlink('/dev/full', `${dbOf(host.root)}-wal`);
    const d = await host.start();
    const said = await d.waitFor((l) => l.type === 'history_unavailable', 'history unavailable');
    expect(said.message).toContain('running without history');
    await d.waitFor(() => cyclesDone(d.lines) >= 2, 'cycles without history');
    expect((await d.get('/api/v1/history')).json).toEqual({ available: false, results: [] });
    expect((await d.stop()).exitCode).toBe(0);
  });
});
