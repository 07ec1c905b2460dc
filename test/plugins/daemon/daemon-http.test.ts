/**
 * The real `cx-ops daemon` on a loopback port: /health from the last completed cycle (and its
 * change when the host changes), /metrics, the JSON API against its schemas, and the guards
 * (token, method, size, rate, traversal, headers).
 */
import { copyFile, chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectSchema } from './api-schemas.js';
import { daemonRoot, doctorFixture, eventually, type DaemonRoot, type RunningDaemon } from './daemon-process.js';

describe('cx-ops daemon over HTTP', () => {
  let host: DaemonRoot;
  let d: RunningDaemon;
  beforeAll(async () => {
    host = await daemonRoot('healthy');
    await host.config('daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory, disk_space, cpu_load]\n');
    d = await host.start();
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'first cycle');
  });
  afterAll(async () => {
    await d?.stop();
    await host?.cleanup();
  });

  test('/health is the seed JSON from the last cycle: 200 healthy, then 503 when the host turns bad, 200 again when fixed', async () => {
    const ok = await eventually(async () => {
      const r = await d.get('/health');
      return r.status === 200 && r;
    }, 'healthy');
    expectSchema('daemon-health', ok.json);
    expect(ok.json).toMatchObject({
      status: 'healthy',
      checks: { memory: 'pass', disk_space: expect.any(String), cpu_load: 'pass' },
      interval_seconds: 2,
    });
    expect(ok.headers.get('content-type')).toMatch(/^application\/json/);

    await copyFile(doctorFixture('stressed/proc/meminfo'), join(host.root, 'proc/meminfo'));
    const bad = await eventually(async () => {
      const r = await d.get('/health');
      return r.json?.checks?.memory === 'fail' && r;
    }, 'memory fail in /health');
    expect(bad.status).toBe(503);
    expect(bad.json.status).toBe('unhealthy');
    await d.waitFor(
      (l) => l.type === 'check_changed' && l.data?.check === 'memory' && l.data?.to === 'FAIL',
      'memory -> FAIL event',
    );

    await copyFile(doctorFixture('healthy/proc/meminfo'), join(host.root, 'proc/meminfo'));
    const back = await eventually(async () => {
      const r = await d.get('/health');
      return r.status === 200 && r;
    }, 'healthy again');
    expect(back.json.checks.memory).toBe('pass');
  });

  test('/metrics is Prometheus text with the seed series and the daemon own', async () => {
    const m = await d.get('/metrics');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.text).toMatch(/^cx_ops_checks_total\{check="memory",status="pass"\} [1-9]/m);
    expect(m.text).toMatch(/^cx_ops_check_duration_seconds_bucket\{le="0.001",check="memory"\} \d+/m);
    for (const name of [
      'cx_ops_repairs_total',
      'cx_ops_updates_applied_total',
      'cx_ops_daemon_cycle_duration_seconds',
      'cx_ops_daemon_cycles_skipped_total',
      'cx_ops_daemon_plugin_failures_total',
      'cx_ops_daemon_sandbox_restarts_total',
      'process_resident_memory_bytes',
    ]) {
      expect(m.text).toContain(`# TYPE ${name} `);
    }
    expect(m.text).toMatch(/^cx_ops_daemon_cycles_total\{job="checks",outcome="ok"\} [1-9]/m);
  });

  test('the JSON API answers with documented shapes', async () => {
    const index = await d.get('/api/v1/');
    expect(index.json.endpoints.map((e: { path: string }) => e.path)).toContain('/api/v1/checks');
    const checks = await d.get('/api/v1/checks');
    expectSchema('daemon-api-checks', checks.json);
    expect(checks.json.results.map((r: { check_id: string }) => r.check_id).sort()).toEqual([
      'cpu_load',
      'disk_space',
      'memory',
    ]);
    expect(checks.json.results.find((r: { check_id: string }) => r.check_id === 'memory')).toMatchObject({
      category: 'memory',
      plugin: 'checks-system',
    });
    const hist = await d.get('/api/v1/history?check=memory&since=1h');
    expectSchema('daemon-api-history', hist.json);
    expect(hist.json.results.length).toBeGreaterThan(0);
    expect(new Set(hist.json.results.map((r: { check_id: string }) => r.check_id))).toEqual(new Set(['memory']));
    const ev = await d.get('/api/v1/events?limit=5');
    expectSchema('daemon-api-events', ev.json);
    expect(ev.json.events.length).toBeGreaterThan(0);
    const st = await d.get('/api/v1/status');
    expectSchema('daemon-api-status', st.json);
    expect(st.json.jobs.map((j: { id: string }) => j.id)).toEqual(['checks', 'alerts-delivery', 'heal']);
    expectSchema('daemon-api-panels', (await d.get('/api/v1/panels')).json);
    expect((await d.get('/api/v1/history?since=soon')).status).toBe(400);
    expect((await d.get('/api/v1/nothing')).status).toBe(404);
  });

  test('every response carries CSP, nosniff and no-frame headers; the dashboard is served with its own assets only', async () => {
    for (const path of ['/', '/dashboard.js', '/health', '/api/v1/checks', '/nope']) {
      const r = await d.get(path);
      expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
    }
    const page = await d.get('/');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/https?:\/\//);
    expect((await d.get('/dashboard.js')).headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  test('no path traversal: only the fixed asset names are served', async () => {
    const { request } = await import('node:http');
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: d.port, path, method: 'GET' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    for (const p of [
      '/../../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2fetc%2fpasswd',
      '/dashboard.js/../../plugin.yaml',
      '//etc/passwd',
      '/index.html%00.js',
    ]) {
      expect([400, 404]).toContain(await raw(p));
    }
  });

  test('read-only and bounded: other methods 405, a body 413, huge headers or URLs 431', async () => {
    const { request } = await import('node:http');
    const send = (o: { method?: string; path?: string; headers?: Record<string, string>; body?: string }) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: d.port, path: o.path ?? '/health', method: o.method ?? 'GET', headers: o.headers },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(o.body);
      });
    expect(await send({ method: 'POST', body: '{}' })).toBe(405);
    expect(await send({ method: 'DELETE' })).toBe(405);
    expect(await send({ headers: { 'content-length': '5' }, body: 'hello' })).toBe(413);
    expect(await send({ headers: { 'x-big': 'a'.repeat(20_000) } })).toBe(431);
    expect(await send({ path: `/health?${'q'.repeat(10_000)}` })).toBe(431);
  });
});

describe('cx-ops daemon security settings', () => {
  test('a token file: everything but /health, /metrics and the page itself needs the bearer token; a readable-by-others token file is refused', async () => {
    const host = await daemonRoot('healthy');
    try {
      const tokenFile = join(host.root, 'etc/cx/daemon.token');
      await writeFile(tokenFile, 'secret-token-1234567890\n');
      await chmod(tokenFile, 0o644);
      await host.config(
        `daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n  token_file: ${tokenFile}\n`,
      );
      const refused = await host.cli(['daemon']);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toContain('error[CX_ERR_CONFIG_INVALID]');
      expect(refused.stderr).toContain(`chmod 0600 ${tokenFile}`);

      await chmod(tokenFile, 0o600);
      const d = await host.start();
      expect((await d.get('/health')).status).not.toBe(401);
      expect((await d.get('/metrics')).status).toBe(200);
      const denied = await d.get('/api/v1/checks');
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await d.get('/api/v1/checks', { authorization: 'Bearer wrong-token-000000000' })).status).toBe(401);
      expect((await d.get('/api/v1/stream')).status).toBe(401);
      // The page itself (three fixed files, no host data) loads without it; its data needs it.
      for (const path of ['/', '/dashboard.js', '/dashboard.css']) expect((await d.get(path)).status).toBe(200);
      expect((await d.get('/index.html?x=1')).status).toBe(200);
      expect((await d.get('/api/v1/', { authorization: 'Bearer secret-token-1234567890' })).status).toBe(200);
      expect((await d.get('/api/v1/checks', { authorization: 'Bearer secret-token-1234567890' })).status).toBe(200);
      expect((await d.stop()).exitCode).toBe(0);
    } finally {
      await host.cleanup();
    }
  });

  test('protect_metrics: with it /health and /metrics need the token too', async () => {
    const host = await daemonRoot('healthy');
    try {
      const tokenFile = join(host.root, 'etc/cx/daemon.token');
      await writeFile(tokenFile, 'secret-token-1234567890\n', { mode: 0o600 });
      await host.config(
        `daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n  token_file: ${tokenFile}\n  protect_metrics: true\n`,
      );
      const d = await host.start();
      const bearer = { authorization: 'Bearer secret-token-1234567890' };
      for (const path of ['/health', '/metrics']) {
        expect((await d.get(path)).status).toBe(401);
        expect((await d.get(path, bearer)).status).not.toBe(401);
      }
      expect((await d.stop()).exitCode).toBe(0);
    } finally {
      await host.cleanup();
    }
  });

  test('listening beyond loopback without a token is refused, naming the line', async () => {
    const host = await daemonRoot();
    try {
      await host.config('daemon:\n  interval: 1s\n  listen: 0.0.0.0:0\n');
      const r = await host.cli(['daemon']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('error[CX_ERR_CONFIG_INVALID]');
      expect(r.stderr).toContain("'daemon.listen' listens beyond loopback (0.0.0.0:0), so it needs daemon.token_file");
    } finally {
      await host.cleanup();
    }
  });

  test('a client over the rate limit gets 429 with Retry-After', async () => {
    const host = await daemonRoot('healthy');
    try {
      await host.config(
        'daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n  rate_limit_per_minute: 5\n',
      );
      const d = await host.start();
      const codes: number[] = [];
      let retry: string | null = null;
      for (let i = 0; i < 8; i++) {
        const r = await d.get('/health');
        codes.push(r.status);
        if (r.status === 429) retry = r.headers.get('retry-after');
      }
      expect(codes.filter((c) => c === 429)).toHaveLength(3);
      expect(Number(retry)).toBeGreaterThan(0);
      await d.stop();
    } finally {
      await host.cleanup();
    }
  });
});
