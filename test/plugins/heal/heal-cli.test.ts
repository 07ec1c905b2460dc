/**
 * `cx-ops heal` through the real CLI over a fixture root (/proc of the healthy host with the
 * stressed meminfo: memory 98%): --help, usage and config errors (the config line named), one
 * cycle in dry run with the exact commands and file changes recorded, the heal log and a replay
 * that does what it recorded, a real cycle with grace, CX_DEV=1, a service whose manager is not
 * there, a resolver answering garbage (attributed; the default takes over) and a pre_heal veto.
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { takeLock } from '../../../core/lock.js';
import { daemonRoot, doctorFixture, enableTrusted, eventually, type DaemonRoot } from '../daemon/daemon-process.js';

const PROBE = new URL('./fixtures/heal-probe', import.meta.url).pathname;
let host: DaemonRoot;
const drop = () => join(host.root, 'proc/sys/vm/drop_caches');
const BASE = 'heal:\n  for_cycles: 1\n  thresholds:\n    disk: { trigger: 100, clear: 99 }\n';

beforeAll(async () => {
  host = await daemonRoot('healthy');
  await cp(doctorFixture('stressed/proc/meminfo'), join(host.root, 'proc/meminfo'));
});
afterAll(() => host.cleanup());
beforeEach(async () => {
  await mkdir(join(host.root, 'proc/sys/vm'), { recursive: true });
  await writeFile(drop(), '0\n');
  await rm(join(host.root, 'var/lib/cx/history.db'), { force: true });
  await host.config(BASE);
});

describe('heal: help and bad input', () => {
  test('--help says what it does, the detectors, the exit codes and the sub-commands', async () => {
    const r = await host.cli(['heal', '--help']);
    expect(r.exitCode).toBe(0);
    for (const s of ['--once', '--dry-run', '--json', 'status', 'log', 'replay', 'heal.dry_run: true', 'Exit codes:'])
      expect(r.stdout).toContain(s);
  });

  test('heal without --once is a usage error that says what to run (as JSON under --json)', async () => {
    const r = await host.cli(['heal', '--json']);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: {
        code: 'CX_ERR_USAGE',
        plugin: 'heal',
        message: expect.stringContaining('heal needs --once'),
        hint: `cx-ops --root ${host.root} heal --once --dry-run   (the daemon runs the loop every heal.interval)`,
      },
    });
  });

  test('a clear threshold above its trigger names the config line; an out-of-range trigger too (the schema)', async () => {
    await host.config('heal:\n  thresholds:\n    disk:\n      trigger: 90\n      clear: 95\n');
    const r = await host.cli(['heal', '--once', '--dry-run']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `error[CX_ERR_CONFIG_INVALID]: ${host.root}/etc/cx/config.yaml:5: 'heal.thresholds.disk.clear' must not be above heal.thresholds.disk.trigger (90): an issue clears below 'clear' and triggers at 'trigger' (found: 95)`,
    );
    await host.config('heal:\n  thresholds:\n    cpu: { trigger: 150 }\n');
    const s = await host.cli(['heal', 'status', '--json']);
    expect(s.exitCode).toBe(2);
    expect(JSON.parse(s.stdout).error).toMatchObject({
      code: 'CX_ERR_CONFIG_INVALID',
      message: expect.stringContaining(`config.yaml:3: 'heal.thresholds.cpu.trigger' must be <= 100 (found: 150)`),
    });
  });

  test('replay of an unknown id: CX_ERR_HEAL_RECORD_UNKNOWN as JSON', async () => {
    const r = await host.cli(['heal', 'replay', 'nope', '--json']);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: 'CX_ERR_HEAL_RECORD_UNKNOWN',
      plugin: 'heal',
      message: `no recorded heal action has the id 'nope' (the heal log is empty).\nList them with: cx-ops --root ${host.root} heal log`,
    });
  });
});

describe('heal --once', () => {
  test('a dry run records the exact commands and file changes; the log lists it; replay does exactly that', async () => {
    const r = await host.cli(['heal', '--once', '--dry-run', '--json']);
    expect(r.exitCode).toBe(1);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({ cycle: 1, dry_run: true, pending: [], unmonitored: [], resolver_errors: [] });
    expect(run.results).toEqual([
      {
        issue: {
          type: 'RESOURCE',
          severity: 'CRITICAL',
          description: 'memory usage 98% is at or above 85%',
          component: 'memory',
          metric_value: 98,
          threshold: 85,
          timestamp: expect.any(String),
          detector: 'memory',
        },
        action_taken: 'clear_system_cache',
        success: true,
        error: null,
        duration_ms: expect.any(Number),
        timestamp: expect.any(String),
        resolver: 'heal/default',
        parameters: { level: 1 },
        would_have_done: ['exec: sync', `write: ${drop()} (2 bytes)`],
        log_id: expect.stringMatching(/^\d{8}T\d{6}-1$/),
      },
    ]);
    expect(await readFile(drop(), 'utf8')).toBe('0\n');
    // A dry run keeps no counters: the state is as before.
    expect(JSON.parse((await host.cli(['heal', 'status', '--json'])).stdout)).toMatchObject({ cycle: 0, open: [] });

    const log = JSON.parse((await host.cli(['heal', 'log', '--json'])).stdout);
    expect(log).toEqual([
      expect.objectContaining({
        id: run.results[0].log_id,
        action: 'clear_system_cache',
        would_have_done: run.results[0].would_have_done,
      }),
    ]);
    const refused = await host.cli(['heal', 'replay', log[0].id]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('not replayed: no terminal to ask. Run again with -y to perform it.');
    expect(refused.stderr).toContain(`  - write: ${drop()} (2 bytes)`);
    const replayed = await host.cli(['-y', 'heal', 'replay', log[0].id, '--json']);
    expect(JSON.parse(replayed.stdout)).toEqual({
      id: log[0].id,
      action: 'clear_system_cache',
      success: true,
      detail: `dropped the page cache (${drop()} = 1)`,
      done: run.results[0].would_have_done,
      as_recorded: true,
    });
    expect(replayed.exitCode).toBe(0);
    expect(await readFile(drop(), 'utf8')).toBe('1\n');
    const text = (await host.cli(['heal', 'log'])).stdout;
    expect(text).toContain(`${log[0].id}  `);
    expect(text).toMatch(/\[replayed .*: ok\]/);
  });

  test('for real (-y): the action runs, then grace; status shows the counters and the budget', async () => {
    const r = await host.cli(['-y', 'heal', '--once', '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).results[0]).toMatchObject({ action_taken: 'clear_system_cache', success: true });
    expect(await readFile(drop(), 'utf8')).toBe('1\n');
    const again = JSON.parse((await host.cli(['-y', 'heal', '--once', '--json'])).stdout);
    expect(again).toMatchObject({ cycle: 2, results: [] });
    const st = JSON.parse((await host.cli(['heal', 'status', '--json'])).stdout);
    expect(st.components.find((c: { key: string }) => c.key === 'memory:memory')).toMatchObject({
      value: 98,
      open: false,
      grace_until_cycle: 4,
      budget: { actions: 1, max_actions: 3, within_cycles: 10, failures: 0, unmonitored: false },
    });
    expect(st.totals).toEqual({ detected: 1, resolved: 1, failed: 0 });
    // Without -y and without a terminal nothing is performed.
    await rm(join(host.root, 'var/lib/cx/history.db'), { force: true });
    const asked = JSON.parse((await host.cli(['heal', '--once', '--json'])).stdout);
    expect(asked.results[0]).toMatchObject({
      action_taken: null,
      skipped: 'vetoed',
      error: 'clear_system_cache not run: not confirmed (answer yes on a terminal, or pass -y)',
    });
  });

  test('CX_DEV=1 (development mode) records and performs nothing, even with -y', async () => {
    const r = await host.cli(['-y', 'heal', '--once', '--json'], { CX_DEV: '1' });
    expect(JSON.parse(r.stdout)).toMatchObject({
      dry_run: true,
      results: [{ would_have_done: ['exec: sync', `write: ${drop()} (2 bytes)`] }],
    });
    expect(await readFile(drop(), 'utf8')).toBe('0\n');
  });

  test('a watched service whose manager is not there: a SERVICE issue, and the action says why it failed', async () => {
    await host.config(`${BASE}  services: { names: [nosuch/web] }\n`);
    const r = await host.cli(['-y', 'heal', '--once', '--json']);
    const web = JSON.parse(r.stdout).results.find((x: { issue: { component: string } }) => x.issue.component === 'web');
    expect(web).toMatchObject({
      issue: {
        type: 'SERVICE',
        severity: 'HIGH',
        description:
          "service web (nosuch) is not running: no service manager 'nosuch' is registered (known: supervisord, systemd)",
      },
      action_taken: 'restart_service',
      success: false,
      error: "no service manager 'nosuch' is registered (known: supervisord, systemd)",
    });
    expect(r.exitCode).toBe(1);
  });
});

describe('the heal lock', () => {
  /** Runs `args` (with `env`) while the heal lock is held as the daemon's heal job holds it; its result, and when the lock was released. */
  async function whileHeld(args: string[], env: Record<string, string> = {}) {
    // The daemon's heal job runs the same cycle under the same lock (heal-run.ts): held here as it would hold it.
    await rm(join(host.root, 'var/log/cx/audit.jsonl'), { force: true });
    const held = await takeLock(join(host.root, 'var/lib/cx/locks/heal.lock'), {
      what: "lock 'heal'",
      command: 'cx-ops a heal cycle (the daemon, held by the test)',
    });
    let released: number;
    let done = false;
    const run = host.cli(args, env).finally(() => (done = true));
    try {
      // The run has asked for the lock once its audit record of the call is written.
      await eventually(async () => {
        const audit = await readFile(join(host.root, 'var/log/cx/audit.jsonl'), 'utf8').catch(() => '');
        return audit.split('\n').some((l) => l.includes('"op":"lock"') && l.includes('"target":"heal"'));
      }, 'heal --once asking for the heal lock');
      // Without the lock it would finish its cycle now; it waits instead.
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 100));
        expect(done).toBe(false);
      }
    } finally {
      released = Date.now();
      await held.release();
    }
    return { r: await run, released };
  }

  test("heal --once waits while another run (the daemon's heal job) holds the lock, and runs its cycle after it is released", async () => {
    const { r, released } = await whileHeld(['heal', '--once', '--dry-run', '--json']);
    expect(r.exitCode).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.issues.map((i: { component: string }) => i.component)).toEqual(['memory']);
    // Its cycle ran after the release (the issue's time is the cycle's).
    expect(Date.parse(out.issues[0].timestamp)).toBeGreaterThanOrEqual(released);
  });

  test('under --dev (CX_DEV=1) too: a development-mode cycle writes its state and heal log, so it takes turns as well', async () => {
    const { r, released } = await whileHeld(['heal', '--once', '--json'], { CX_DEV: '1' });
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ dry_run: true, cycle: 1 });
    expect(Date.parse(out.issues[0].timestamp)).toBeGreaterThanOrEqual(released);
    // What it wrote for real: the cycle's state and the recorded action.
    const status = JSON.parse((await host.cli(['heal', 'status', '--json'])).stdout);
    expect(status.cycle).toBe(1);
    const log = JSON.parse((await host.cli(['heal', 'log', '--json'])).stdout);
    expect(log.map((x: { action: string }) => x.action)).toEqual(['clear_system_cache']);
  });
});

describe('third-party resolvers and pre_heal', () => {
  test('a resolver answering garbage is an ERROR of its plugin and the default resolver takes over; pre_heal vetoes', async () => {
    await enableTrusted(host, PROBE, 'heal-probe');
    const r = await host.cli(['--plugin-dir', PROBE, 'heal', '--once', '--dry-run', '--json']);
    const run = JSON.parse(r.stdout);
    expect(run.resolver_errors).toEqual([
      {
        plugin: 'heal-probe',
        resolver: 'garbage',
        code: 'CX_ERR_HEAL_RESOLVER_ANSWER',
        message:
          "resolver 'garbage' of plugin 'heal-probe' answered an action that is not a string: 42; the next resolver was asked.\nFix the plugin, or disable it: cx-ops plugins disable heal-probe",
      },
    ]);
    expect(run.results[0]).toMatchObject({ action_taken: 'clear_system_cache', resolver: 'heal/default' });
    expect(r.stdout).not.toContain('everything');
    await writeFile(join(host.root, 'veto'), '');
    const v = JSON.parse((await host.cli(['--plugin-dir', PROBE, 'heal', '--once', '--dry-run', '--json'])).stdout);
    expect(v.results[0]).toMatchObject({
      action_taken: null,
      skipped: 'vetoed',
      error: "clear_system_cache vetoed by a pre_heal tap of plugin 'heal-probe'",
    });
    await rm(join(host.root, 'veto'));
  });
});
