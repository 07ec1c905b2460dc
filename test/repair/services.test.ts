import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import servicesPlugin from '../../plugins-builtin/services/index.js';
import { createPluginHost, type PluginHost } from '../fixtures-deb/plugin-host.js';
import { assertMatchesSchema } from '../fixtures-deb/report-schemas.js';

// A real supervisord with its own config and unix socket in a temp dir; two programs:
// `steady` runs, `flaky` crashes at once while its marker file exists.
let base: string;
let supervisord: ChildProcess;
const conf = () => join(base, 'supervisord.conf');
const ctl = (...args: string[]) => spawnSync('supervisorctl', ['-c', conf(), ...args], { encoding: 'utf8' });

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'cx-supervisor-'));
  writeFileSync(join(base, 'flaky.sh'), `#!/bin/sh\nif [ -e ${base}/crash ]; then echo crashing >&2; exit 1; fi\nexec sleep 600\n`, { mode: 0o755 });
  writeFileSync(join(base, 'crash'), '');
  writeFileSync(conf(), [
    '[unix_http_server]', `file=${base}/supervisor.sock`, '',
    '[supervisord]', `logfile=${base}/supervisord.log`, `pidfile=${base}/supervisord.pid`, `childlogdir=${base}`, 'nodaemon=true', 'user=root', '',
    '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface', '',
    '[supervisorctl]', `serverurl=unix://${base}/supervisor.sock`, '',
    '[program:steady]', 'command=sleep 600', 'startsecs=0', 'autorestart=false', '',
    '[program:flaky]', `command=${base}/flaky.sh`, 'startsecs=1', 'startretries=0', 'autorestart=false', '',
  ].join('\n'));
  supervisord = spawn('supervisord', ['-c', conf()], { stdio: 'ignore', detached: true });
  for (let i = 0; i < 100; i++) {
    const s = ctl('status');
    if (/flaky\s+FATAL/.test(s.stdout) && /steady\s+RUNNING/.test(s.stdout)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`supervisord did not come up: ${ctl('status').stdout}`);
});

afterAll(async () => {
  if (supervisord?.pid && supervisord.exitCode === null) {
    process.kill(-supervisord.pid, 'SIGTERM');
    await new Promise((r) => supervisord.once('exit', r));
  }
  rmSync(base, { recursive: true, force: true });
});

function host(config: Record<string, unknown> = {}): PluginHost {
  const root = join(base, 'root');
  mkdirSync(root, { recursive: true });
  return createPluginHost({
    plugins: [servicesPlugin], root, configDir: join(base, 'etc'), dataDir: join(base, 'data'),
    config: { services: { supervisor_config: conf(), max_attempts: 3, backoff_seconds: 0.2, verify_seconds: 0.3, give_up_hours: 24, ...config } },
  });
}

async function run(h: PluginHost, options: Record<string, unknown> = {}) {
  const code = await h.command('repair services', { json: true, ...options } as never);
  const { stdout, stderr } = h.take();
  const out = stdout ? JSON.parse(stdout) : null;
  if (out) assertMatchesSchema('repair-services-report', out);
  return { code, out, stderr };
}

describe('repair services against a real supervisord', () => {
  it('systemd is not running here: it says so and does nothing', async () => {
    const r = await run(host(), { dryRun: true });
    expect(r.out.managers[0]).toEqual({ id: 'systemd', available: false, reason: `systemd is not running here (${join(base, 'root')}/run/systemd/system does not exist: a container or CI?); nothing to do` });
    expect(r.out.managers[1]).toEqual({ id: 'supervisord', available: true });
  });

  it('dry run names the failed program and restarts nothing', async () => {
    const r = await run(host(), { dryRun: true });
    expect(r.code).toBe(0);
    expect(r.out.status).toBe('planned');
    expect(r.out.services.map((s: { name: string; outcome: string }) => [s.name, s.outcome])).toEqual([['flaky', 'would-restart']]);
    expect(ctl('status', 'flaky').stdout).toMatch(/FATAL/);
  });

  it('a program that keeps crashing is restarted with backoff, then left alone and reported; later runs leave it alone', async () => {
    const h = host();
    const started = Date.now();
    const r = await run(h);
    expect(r.code).toBe(1);
    expect(r.out.status).toBe('failing');
    const flaky = r.out.services.find((s: { name: string }) => s.name === 'flaky');
    expect(flaky.outcome).toBe('still-failing');
    expect(flaky.attempts).toHaveLength(3);
    expect(flaky.attempts.every((a: { ok: boolean }) => !a.ok)).toBe(true);
    // Backoff 0.2 s then 0.4 s, plus 3 verify waits of 0.3 s and supervisord's startsecs.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600 + 900);
    expect(r.out.services.some((s: { name: string }) => s.name === 'steady')).toBe(false);

    const again = await run(h);
    expect(again.out.services[0]).toMatchObject({ name: 'flaky', outcome: 'left-alone', attempts: [] });
    expect(again.out.services[0].message).toContain('cx-ops repair services --service flaky');
  });

  it('--service retries a program given up on; once it can start it is restarted and verified', async () => {
    rmSync(join(base, 'crash'));
    const r = await run(host(), { service: 'flaky' });
    expect(r.code).toBe(0);
    expect(r.out.status).toBe('repaired');
    expect(r.out.services[0]).toMatchObject({ name: 'flaky', outcome: 'restarted', attempts: [{ ok: true, state: 'running' }] });
    expect(ctl('status', 'flaky').stdout).toMatch(/RUNNING/);
    const healthy = await run(host());
    expect(healthy.out).toMatchObject({ status: 'ok', message: 'no failed services' });
  });

  it('--service naming an unknown program lists the known ones', async () => {
    const h = host();
    expect(await h.command('repair services', { service: 'nginx' })).toBe(2);
    expect(h.take().stderr).toBe("no service 'nginx' in supervisord. Known: flaky, steady\n");
  });

  it('SKIPs with the reasons when no service manager runs', async () => {
    const r = await run(host({ supervisor_config: join(base, 'missing.conf') }));
    expect(r.code).toBe(0);
    expect(r.out.status).toBe('skipped');
    expect(r.out.message).toContain(`supervisord: no supervisord configuration at ${join(base, 'missing.conf')}`);
  });
});
