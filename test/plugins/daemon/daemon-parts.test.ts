/** The daemon's small parts: durations, listen addresses, health staleness, the event log, the history store. */
import { mkdtemp, rm, stat, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { DaemonState } from '../../../plugins-builtin/daemon/daemon-state.js';
import { formatDuration, parseDuration } from '../../../plugins-builtin/daemon/duration.js';
import { EventLog, escapeControl } from '../../../plugins-builtin/daemon/event-log.js';
import { HistoryStore, SCHEMA_VERSION } from '../../../plugins-builtin/daemon/history-store.js';
import { jobEventType } from '../../../plugins-builtin/daemon/job-kind.js';
import { parseListen } from '../../../plugins-builtin/daemon/listen-address.js';

const result = (check_id: string, status: 'PASS' | 'FAIL' | 'WARN') => ({
  check_id,
  name: check_id,
  status,
  message: `${check_id} ${status}`,
  details: {},
  fix_id: null,
  duration_ms: 1,
});

describe('job event types', () => {
  test("a plugin's event keeps a type under its own prefix; anything else is plugin_event", () => {
    expect(jobEventType('heal', 'heal_unmonitored')).toBe('heal_unmonitored');
    expect(jobEventType('checks-system', 'checks_system_x')).toBe('checks_system_x');
    for (const t of ['cycle_end', 'heal_', 'heal_Bad', 'healx_y', 'heal_a b', 7, undefined, `heal_${'x'.repeat(70)}`])
      expect(jobEventType('heal', t)).toBe('plugin_event');
  });
});

describe('durations and addresses', () => {
  test('parseDuration reads 30s, 5m, 1h, 500ms and plain seconds; rejects the rest', () => {
    expect([
      parseDuration('30s'),
      parseDuration('5m'),
      parseDuration('1h'),
      parseDuration('500ms'),
      parseDuration(90),
      parseDuration('7d'),
    ]).toEqual([30_000, 300_000, 3_600_000, 500, 90_000, 604_800_000]);
    expect([parseDuration('soon'), parseDuration('0s'), parseDuration(-1), parseDuration('5 minutes')]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect([formatDuration(250), formatDuration(45_000), formatDuration(150_000), formatDuration(3_600_000)]).toEqual([
      '250ms',
      '45s',
      '2m30s',
      '1h',
    ]);
  });

  test('parseListen: loopback or not, IPv6 in brackets, errors that say what is wrong', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080, loopback: true });
    expect(parseListen('[::1]:9')).toEqual({ host: '::1', port: 9, loopback: true });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0, loopback: true });
    expect(parseListen('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080, loopback: false });
    expect(parseListen('example.com:80')).toBe(
      "'example.com' is not an IP address (give a numeric address, or localhost)",
    );
    expect(parseListen('127.0.0.1')).toBe("'127.0.0.1' is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)");
    expect(parseListen('127.0.0.1:70000')).toBe('port 70000 is out of range (0-65535)');
  });
});

describe('health', () => {
  test('starting before any cycle; healthy with WARNs; unhealthy with a FAIL; stale after 3 intervals', () => {
    const s = new DaemonState(10_000, 0);
    expect(s.health(0)).toMatchObject({ status: 'starting', checks: {}, timestamp: null });
    s.last = {
      cycle: 4,
      started_at: 1000,
      ended_at: 2000,
      duration_ms: 1000,
      results: [result('disk_space', 'PASS'), result('cpu_load', 'WARN')],
      checks: {},
    };
    expect(s.health(5000)).toEqual({
      status: 'healthy',
      checks: { disk_space: 'pass', cpu_load: 'warn' },
      timestamp: new Date(2000).toISOString(),
      age_seconds: 3,
      interval_seconds: 10,
      cycle: 4,
    });
    expect(s.health(32_000).status).toBe('healthy');
    expect(s.health(32_001)).toMatchObject({ status: 'stale', age_seconds: 30 });
    s.last = { ...s.last, results: [result('memory', 'FAIL')] };
    expect(s.health(2000).status).toBe('unhealthy');
  });
});

describe('the event log', () => {
  test('text lines escape control characters from plugins; JSON lines are JSON', () => {
    const out: string[] = [];
    const log = new EventLog({ format: 'text', write: (l) => out.push(l), perPluginPerMinute: 100, now: () => 0 });
    log.info('plugin_event', 'red \u001b[31mALERT\u001b[0m\rover\nnext\u0007', undefined, 'evil');
    expect(out[0]).toBe(
      '1970-01-01T00:00:00.000Z info  plugin_event [evil]: red \\x1b[31mALERT\\x1b[0m\\x0dover\\nnext\\x07\n',
    );
    expect(out[0]!.slice(0, -1)).not.toMatch(/[\u0000-\u001f]/);
    log.setFormat('json');
    log.warn('x', 'a\u001bb', { k: 1 });
    expect(JSON.parse(out[1]!)).toEqual({
      ts: '1970-01-01T00:00:00.000Z',
      level: 'warn',
      type: 'x',
      plugin: null,
      message: 'a\u001bb',
      data: { k: 1 },
    });
    expect(escapeControl('\u2028')).toBe('\\u2028');
  });

  test("a plugin's lines are rate-limited per minute; the drop is counted and summarised once", () => {
    let t = 0;
    const out: string[] = [];
    const dropped: string[] = [];
    const log = new EventLog({
      format: 'text',
      write: (l) => out.push(l),
      perPluginPerMinute: 3,
      now: () => t,
      onSuppressed: (p) => dropped.push(p),
    });
    for (let i = 0; i < 10; i++) log.info('plugin_event', `line ${i}`, undefined, 'noisy');
    log.info('cycle_end', 'the daemon itself is never limited');
    log.info('plugin_event', 'quiet one', undefined, 'quiet');
    expect(out).toHaveLength(5);
    expect(dropped).toEqual(Array(7).fill('noisy'));
    expect(log.suppressed()).toEqual({ noisy: 7 });
    t = 60_000;
    log.info('plugin_event', 'next minute', undefined, 'noisy');
    expect(out.slice(5)).toEqual([
      '1970-01-01T00:01:00.000Z warn  log_suppressed [noisy]: 7 log line(s) of plugin \'noisy\' were dropped in the last minute (limit: daemon.log_lines_per_minute = 3) {"dropped":7}\n',
      '1970-01-01T00:01:00.000Z info  plugin_event [noisy]: next minute\n',
    ]);
  });
});

describe('the history store', () => {
  const fsCap = {
    stat: async (p: string) =>
      stat(p).then(
        (s) => ({
          path: p,
          type: 'file' as const,
          size: s.size,
          mode: s.mode,
          uid: s.uid,
          gid: s.gid,
          mtimeMs: s.mtimeMs,
        }),
        () => null,
      ),
    rename: (a: string, b: string) => rename(a, b),
  };

  test('migrates a fresh file to the current schema in WAL mode; stores, queries and prunes by age and size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cx-hist-'));
    try {
      const { store, movedAside } = await HistoryStore.open(join(dir, 'h.db'), fsCap);
      expect(movedAside).toBeUndefined();
      expect(store.version()).toBe(SCHEMA_VERSION);
      const day = 86_400_000;
      for (let i = 0; i < 50; i++)
        store.addResults(i * day, i + 1, 'checks', [
          result('memory', i % 2 ? 'PASS' : 'FAIL'),
          result('disk_space', 'PASS'),
        ]);
      store.addEvent(5 * day, { level: 'info', type: 'x', plugin: null, message: 'old', data: { a: 1 } });
      expect(store.counts()).toEqual({ results: 100, events: 1 });
      expect(store.results({ check: 'memory', since: 48 * day }).map((r) => [r.cycle, r.status])).toEqual([
        [50, 'PASS'],
        [49, 'FAIL'],
      ]);
      expect(store.events()).toEqual([
        { ts: new Date(5 * day).toISOString(), level: 'info', type: 'x', plugin: null, message: 'old', data: { a: 1 } },
      ]);
      // 30 days kept: cycles 21-50 (ts 20 days and later) stay.
      expect(store.prune(50 * day, 30 * day, 1e9)).toBe(20 * 2 + 1);
      expect(store.counts()).toEqual({ results: 60, events: 0 });
      store.close();
      const raw = new Database(join(dir, 'h.db'));
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      raw.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('prune by size deletes the oldest until the store fits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cx-hist-'));
    try {
      const { store } = await HistoryStore.open(join(dir, 'h.db'), fsCap);
      for (let i = 0; i < 2000; i++)
        store.addResults(i, i, 'checks', [{ ...result('memory', 'PASS'), message: 'x'.repeat(200) }]);
      const before = store.sizeBytes();
      store.prune(2000, 1e12, before / 2);
      expect(store.sizeBytes()).toBeLessThanOrEqual(before / 2);
      const left = store.results({ limit: 5000 });
      expect(left.length).toBeGreaterThan(0);
      expect(Math.min(...left.map((r) => r.cycle))).toBeGreaterThan(500);
      store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a newer schema than this cx-ops knows is refused, not downgraded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cx-hist-'));
    try {
      const raw = new Database(join(dir, 'h.db'));
      raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      raw.close();
      await expect(HistoryStore.open(join(dir, 'h.db'), fsCap)).rejects.toThrow(
        `has schema version ${SCHEMA_VERSION + 1}, newer than this cx-ops knows (${SCHEMA_VERSION})`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
