import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlugin, type StartedPlugin } from 'cx-ops/sdk/testing';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';
import { startSupervisor, type Supervisor } from '../../helpers/supervisor.js';

let sup: Supervisor;
let base: string;
const conf = () => sup.conf;
const ctl = (...args: string[]) => sup.ctl(...args);

beforeAll(async () => {
  sup = await startSupervisor();
  base = sup.base;
});
afterAll(() => sup?.stop());

// The built plugin under the real kernel (the SDK's harness). One started plugin keeps its state
// directory (and so what it gave up on) across runs, like one host.
const SERVICES_PLUGIN = new URL('../../../dist/plugins-builtin/services/', import.meta.url);
const running: StartedPlugin[] = [];
afterAll(async () => {
  for (const p of running) await p.close();
});

/** The host whose run gave up on `flaky` (shared by the tests that follow it). */
let gaveUpOn: StartedPlugin;

async function host(config: Record<string, unknown> = {}): Promise<StartedPlugin> {
  const root = join(base, 'root');
  mkdirSync(root, { recursive: true });
  const p = await startPlugin(SERVICES_PLUGIN, {
    tier: 'trusted',
    root,
    config: {
      supervisor_config: conf(),
      max_attempts: 3,
      backoff_seconds: 0.2,
      verify_seconds: 0.3,
      give_up_hours: 24,
      ...config,
    },
  });
  running.push(p);
  return p;
}

async function run(h: StartedPlugin, options: Record<string, unknown> = {}) {
  const {
    exitCode: code,
    stdout,
    stderr,
  } = await h.command('repair services', { options: { json: true, ...options } as never });
  const out = stdout ? JSON.parse(stdout) : null;
  if (out) assertMatchesSchema('repair-services-report', out);
  return { code, out, stderr };
}

describe('repair services against a real supervisord', () => {
  it('systemd is not running here: it says so and does nothing', async () => {
    const r = await run(await host(), { dryRun: true });
    expect(r.out.managers[0]).toEqual({
      id: 'systemd',
      available: false,
      reason: `systemd is not running here (${join(base, 'root')}/run/systemd/system does not exist: a container or CI?); nothing to do`,
    });
    expect(r.out.managers[1]).toEqual({ id: 'supervisord', available: true });
  });

  it('dry run names the failed program and restarts nothing', async () => {
    const r = await run(await host(), { dryRun: true });
    expect(r.code).toBe(1); // a dry run that found problems exits 1 (like apt-get check)
    expect(r.out.status).toBe('planned');
    expect(r.out.services.map((s: { name: string; outcome: string }) => [s.name, s.outcome])).toEqual([
      ['flaky', 'would-restart'],
    ]);
    expect(ctl('status', 'flaky').stdout).toMatch(/FATAL/);
  });

  it('a program that keeps crashing is restarted with backoff, then left alone and reported; later runs leave it alone', async () => {
    const h = (gaveUpOn = await host());
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
    sup.crash(false);
    // Without --service the program stays given up on, even though it could start now.
    expect((await run(gaveUpOn)).out.services[0]).toMatchObject({ name: 'flaky', outcome: 'left-alone' });
    const r = await run(gaveUpOn, { service: 'flaky' });
    expect(r.code).toBe(0);
    expect(r.out.status).toBe('repaired');
    expect(r.out.services[0]).toMatchObject({
      name: 'flaky',
      outcome: 'restarted',
      attempts: [{ ok: true, state: 'running' }],
    });
    expect(ctl('status', 'flaky').stdout).toMatch(/RUNNING/);
    const healthy = await run(gaveUpOn);
    expect(healthy.out).toMatchObject({ status: 'ok', message: 'no failed services' });
  });

  it('--service naming an unknown program is error[CX_ERR_USAGE] listing the known ones', async () => {
    const h = await host();
    await expect(h.command('repair services', { options: { service: 'nginx' } })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message:
        "repair services: no service 'nginx' in supervisord. Known: flaky, steady\nTry: cx-ops repair services --dry-run   (every failed service)",
    });
    await expect(h.command('repair services', { options: { service: 'flakey' } })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      message: expect.stringMatching(
        /^repair services: no service 'flakey' in supervisord\. Did you mean: flaky\? Known: flaky, steady\n/,
      ),
    });
  });

  it('SKIPs with the reasons when no service manager runs', async () => {
    const r = await run(await host({ supervisor_config: join(base, 'missing.conf') }));
    expect(r.code).toBe(0);
    expect(r.out.status).toBe('skipped');
    expect(r.out.message).toContain(`supervisord: no supervisord configuration at ${join(base, 'missing.conf')}`);
  });
});
