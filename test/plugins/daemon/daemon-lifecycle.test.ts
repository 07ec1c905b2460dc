/**
 * The daemon as a long-lived process: faulty sandboxed plugins (throw, hang, memory) and a killed
 * sandbox child do not stop the schedule; SIGHUP reloads config and plugin state on the same
 * listener (and refuses a bad config); SIGTERM exits 0; bad settings and a taken port are
 * catalogue errors; `--once`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { daemonFixture, daemonRoot, enableTrusted, eventually, type DaemonRoot } from './daemon-process.js';

let host: DaemonRoot | undefined;
afterEach(async () => {
  await host?.cleanup();
  host = undefined;
});

const cycles = (lines: Array<{ type: string; data?: Record<string, any> }>, job = 'checks') =>
  lines.filter((l) => l.type === 'cycle_end' && l.data?.job === job).map((l) => l.data!.cycle as number);

async function sandboxChild(pid: number): Promise<number | undefined> {
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  return kids[0];
}

describe('cx-ops daemon under faults', () => {
  test('checks that throw, hang or blow their memory are ERRORs each cycle, the rest pass, the schedule holds, a killed sandbox child is replaced, a flooding job is rate-limited', async () => {
    host = await daemonRoot('healthy');
    const dir = daemonFixture('faulty');
    expect((await host.cli(['--plugin-dir', dir, 'plugins', 'enable', 'faulty'])).exitCode).toBe(0);
    await host.config(
      'daemon:\n  interval: 5s\n  listen: 127.0.0.1:0\n  checks: [memory, crasher, hanger, leaker, steady]\n  max_parallel: 1\n  log_lines_per_minute: 20\n',
    );
    const d = await host.start({ args: ['--plugin-dir', dir] });
    await d.waitFor(() => cycles(d.lines).length >= 2, 'two checks cycles');
    expect(
      d.lines.find((l) => l.type === 'plugin_event' && l.plugin === 'faulty' && l.message.startsWith('watcher'))
        ?.message,
    ).toBe('watcher started (every 5000 ms)');
    const checks = (await d.get('/api/v1/checks')).json;
    const by = Object.fromEntries(checks.results.map((r: { check_id: string }) => [r.check_id, r]));
    expect(by.crasher).toMatchObject({
      status: 'ERROR',
      message: expect.stringContaining('boom from crasher'),
      plugin: 'faulty',
    });
    expect(by.hanger).toMatchObject({ status: 'ERROR', message: expect.stringContaining('timed out') });
    expect(by.leaker.status).toBe('ERROR');
    // Its memory limit stops it, or under heavy load the sandbox call limit comes first.
    expect(by.leaker.message).toMatch(/went over its memory limit of 16 MB|timed out|the sandbox stopped/);
    expect(by.steady).toMatchObject({ status: 'PASS', message: 'steady as ever' });
    expect(by.memory.status).toBe('PASS');
    expect((await d.get('/health')).status).toBe(503);

    // The sandbox child dies: the next cycles start a new one and go on.
    const child = await sandboxChild(d.pid);
    expect(child).toBeGreaterThan(0);
    process.kill(child!, 'SIGKILL');
    const seen = cycles(d.lines).length;
    await d.waitFor(() => cycles(d.lines).length >= seen + 2, 'two more cycles after the sandbox child was killed');
    const replaced = await sandboxChild(d.pid);
    expect(replaced).toBeGreaterThan(0);
    expect(replaced).not.toBe(child);
    const after = (await d.get('/api/v1/checks')).json;
    expect(after.results.find((r: { check_id: string }) => r.check_id === 'steady').status).toBe('PASS');

    // Every tick ran (the deadline is below the interval, so none was skipped) and none passed its deadline.
    const st = (await d.get('/api/v1/status')).json;
    const job = st.jobs.find((j: { id: string }) => j.id === 'checks');
    const done = cycles(d.lines);
    expect(done).toEqual(done.map((_, i) => i + 1));
    expect(job).toMatchObject({ skipped: 0, timeouts: 0, failures: 0 });

    // The flooding job: 50 lines a second against a limit of 20 a minute.
    expect(st.log_suppressed.faulty).toBeGreaterThanOrEqual(30);
    const metrics = (await d.get('/metrics')).text;
    expect(
      Number(/cx_ops_daemon_log_lines_suppressed_total\{plugin="faulty"\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(30);
    expect(
      Number(/cx_ops_daemon_plugin_failures_total\{plugin="faulty"\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(6);
    expect(d.lines.filter((l) => l.type === 'plugin_event' && l.plugin === 'faulty').length).toBeLessThanOrEqual(20);
    expect((await d.stop()).exitCode).toBe(0);
    expect(d.lines.at(-1)).toMatchObject({ type: 'stopped' });
  });
});

describe('cx-ops daemon with a hung trusted job', () => {
  test('a trusted in-process job that never resolves is cut at its deadline and reported each time; its next run and the checks start on time', async () => {
    host = await daemonRoot('healthy');
    const dir = daemonFixture('hung-trusted');
    await enableTrusted(host, dir, 'hung-trusted');
    await host.config('daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
    const d = await host.start({ args: ['--plugin-dir', dir] });
    const timeouts = () => d.lines.filter((l) => l.type === 'cycle_timeout' && l.data?.job === 'stuck');
    await d.waitFor(() => timeouts().length >= 3, 'three deadlines of the stuck job');
    expect(timeouts()[0]).toMatchObject({
      level: 'error',
      message:
        "job 'stuck' of plugin 'hung-trusted' passed its deadline of 1s in cycle 1; the next cycle starts on time",
      data: { job: 'stuck', cycle: 1 },
    });
    expect(
      timeouts()
        .slice(0, 3)
        .map((l) => l.data!.cycle),
    ).toEqual([1, 2, 3]);
    const status = (await d.get('/api/v1/status')).json;
    const stuck = status.jobs.find((j: { id: string }) => j.id === 'stuck');
    expect(stuck).toMatchObject({
      plugin: 'hung-trusted',
      skipped: 0,
      failures: 0,
      last_error: 'passed its deadline of 1s',
    });
    expect(stuck.timeouts).toBe(stuck.runs - (stuck.running ? 1 : 0));
    // It really ran in this process, once per tick: its own counter (on a panel beside one that hangs) says so.
    await eventually(
      async () =>
        (await d.get('/api/v1/panels')).json.panels.find((p: { id: string }) => p.id === 'stuck-count')?.items[0]
          .value >= 3,
      'the counter panel',
    );
    expect(d.lines.find((l) => l.type === 'panel_failed')).toMatchObject({
      plugin: 'hung-trusted',
      message: expect.stringMatching(
        /^dashboard panel 'stuck-panel' failed: .*timed out|^dashboard panel 'stuck-panel' failed: .*2000/,
      ),
    });
    // The checks kept their schedule, none skipped or cut, and /health is theirs alone.
    const checks = status.jobs.find((j: { id: string }) => j.id === 'checks');
    expect(checks).toMatchObject({ skipped: 0, timeouts: 0, failures: 0 });
    const done = cycles(d.lines);
    expect(done).toEqual(done.map((_, i) => i + 1));
    expect((await d.get('/health')).status).toBe(200);
    const metrics = (await d.get('/metrics')).text;
    expect(
      Number(/cx_ops_daemon_cycles_total\{job="stuck",outcome="timeout"\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(3);
    expect(
      Number(/cx_ops_daemon_plugin_failures_total\{plugin="hung-trusted"\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(3);
    expect((await d.stop()).exitCode).toBe(0);
  });
});

describe('cx-ops daemon runs the checks as doctor does', () => {
  test("a plugin's pre_check tap vetoes a check in the daemon's cycles too", async () => {
    host = await daemonRoot('healthy');
    const dir = fileURLToPath(new URL('../doctor/fixtures/vetoer', import.meta.url));
    expect((await host.cli(['--plugin-dir', dir, 'plugins', 'enable', 'vetoer'])).exitCode).toBe(0);
    await host.config('daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory, file_descriptors]\n');
    const d = await host.start({ args: ['--plugin-dir', dir] });
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'a checks cycle');
    const by = Object.fromEntries(
      (await d.get('/api/v1/checks')).json.results.map((r: { check_id: string }) => [r.check_id, r]),
    );
    expect(by.file_descriptors).toMatchObject({
      status: 'SKIP',
      message: "skipped: vetoed by plugin 'vetoer' (pre_check)",
    });
    expect(by.memory.status).toBe('PASS');
    expect((await d.stop()).exitCode).toBe(0);
  });
});

describe('cx-ops daemon signals', () => {
  test('SIGHUP reloads config.yaml and plugin state on the same listener, refuses a bad config and keeps the old one; SIGTERM exits 0', async () => {
    host = await daemonRoot('healthy');
    await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
    const d = await host.start();
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'first cycle');
    expect(Object.keys((await d.get('/health')).json.checks)).toEqual(['memory']);

    await host.config('daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory, cpu_load]\n');
    d.kill('SIGHUP');
    const reloaded = await d.waitFor((l) => l.type === 'reloaded', 'reloaded');
    expect(reloaded.data!.interval_seconds).toBe(2);
    await eventually(
      async () => (await d.get('/health')).json.checks.cpu_load === 'pass',
      'cpu_load in /health after the reload',
    );
    expect((await d.get('/api/v1/status')).json).toMatchObject({
      interval_seconds: 2,
      reloads: 1,
      listen: `127.0.0.1:${d.port}`,
    });

    await host.config('daemon:\n  interval: soon\n');
    d.kill('SIGHUP');
    const refused = await d.waitFor((l) => l.type === 'reload_refused', 'reload refused');
    expect(refused.message).toContain(`${join(host.root, 'etc/cx/config.yaml')}:2: 'daemon.interval'`);
    expect((await d.get('/api/v1/status')).json.interval_seconds).toBe(2);
    await eventually(async () => (await d.get('/health')).status === 200, 'still serving health');

    // A plugin disabled while the daemon runs is gone after the next reload.
    await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory, cpu_load]\n');
    expect((await host.cli(['plugins', 'disable', 'checks-system'])).exitCode).toBe(0);
    d.kill('SIGHUP');
    await d.waitFor((l) => l.type === 'reloaded' && l.data!.interval_seconds === 1, 'second reload');
    const warned = await d.waitFor(
      (l) => l.type === 'plugin_event' && /names no registered check: memory, cpu_load/.test(l.message),
      'unknown checks warning',
    );
    expect(warned.plugin).toBe('daemon');
    await eventually(
      async () => Object.keys((await d.get('/health')).json.checks).length === 0,
      'no checks after checks-system was disabled',
    );

    d.kill('SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
    expect(d.lines.at(-1)).toMatchObject({ type: 'stopped' });
  });
});

describe('cx-ops daemon bad settings', () => {
  test('an invalid interval or listen address is CX_ERR_CONFIG_INVALID with file:line and field', async () => {
    host = await daemonRoot();
    const file = join(host.root, 'etc/cx/config.yaml');
    await host.config('# cx-ops\ndaemon:\n  interval: 5 minutes\n');
    let r = await host.cli(['daemon']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('error[CX_ERR_CONFIG_INVALID]');
    expect(r.stderr).toContain(`${file}:3: 'daemon.interval'`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await host.config('daemon:\n  interval: 30s\n  listen: 127.0.0.1:99999\n');
    r = await host.cli(['daemon', '--json']);
    expect(r.exitCode).toBe(2);
    // Under --json the error is one JSON object on stdout.
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: 'CX_ERR_CONFIG_INVALID',
      exit: 2,
      message: expect.stringContaining(`${file}:3: 'daemon.listen'`),
    });
    await host.config('daemon:\n  interval: 0s\n');
    expect((await host.cli(['daemon'])).stderr).toContain(`${file}:2: 'daemon.interval'`);
  });

  test('a port already in use says who holds it', async () => {
    host = await daemonRoot();
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      await host.config(`daemon:\n  listen: 127.0.0.1:${port}\n`);
      const r = await host.cli(['daemon']);
      expect(r.exitCode).toBe(5);
      expect(r.stderr).toContain(
        `error[CX_ERR_PORT_IN_USE]: cannot listen on 127.0.0.1:${port}: it is already in use by `,
      );
      expect(r.stderr).toContain(`(pid ${process.pid})`);
      expect(r.stderr).toContain('daemon.listen');
    } finally {
      server.close();
    }
  });

  test('--once --json runs every job once and prints the health; exit 0 when healthy, 1 when not', async () => {
    host = await daemonRoot('healthy');
    await host.config('daemon:\n  checks: [memory, cpu_load]\n');
    let r = await host.cli(['daemon', '--once', '--json']);
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.health).toMatchObject({ status: 'healthy', checks: { memory: 'pass', cpu_load: 'pass' } });
    await writeFile(
      join(host.root, 'proc/meminfo'),
      await readFile(join(__dirname, '../../helpers/fixtures/stressed/proc/meminfo')),
    );
    r = await host.cli(['daemon', '--once']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^unhealthy: memory=fail cpu_load=pass/);
  });
});
