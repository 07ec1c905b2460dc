// repair services end to end: the real launcher and kernel, the services plugin configured in
// config.yaml, a real supervisord with a crashing program.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';
import { startSupervisor, type Supervisor } from '../../helpers/supervisor.js';

const LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops.js', import.meta.url));
let sup: Supervisor;
let root: string;

async function cx(args: string[]) {
  const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, '--root', root, ...args], {
    reject: false,
    input: '',
    env: { PATH: process.env.PATH!, HOME: join(root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
    extendEnv: false,
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  sup = await startSupervisor();
  root = join(sup.base, 'root');
  mkdirSync(join(root, 'etc/cx'), { recursive: true });
  writeFileSync(
    join(root, 'etc/cx/config.yaml'),
    `services:\n  supervisor_config: ${sup.conf}\n  max_attempts: 2\n  backoff_seconds: 0.1\n  verify_seconds: 0.2\n`,
  );
});
afterAll(() => sup?.stop());

describe('cx-ops repair services with supervisord', () => {
  it('reports systemd as not running, gives up on a crashing program, restarts it once it can run', async () => {
    const refused = await cx(['repair', 'services']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^repair services will:\n {2}- restart supervisord\/flaky \(now (FATAL|BACKOFF|EXITED)/,
    );
    expect(refused.stderr).toContain('not changing anything: no terminal to ask. Run again with -y');
    expect(refused.stdout).toContain('DECLINED: not repaired');
    const failing = await cx(['-y', 'repair', 'services', '--restart-failed', '--json']);
    expect(failing.code, failing.stderr).toBe(1);
    const report = JSON.parse(failing.stdout);
    assertMatchesSchema('repair-services-report', report);
    expect(report.managers.map((m: { id: string; available: boolean }) => [m.id, m.available])).toEqual([
      ['systemd', false],
      ['supervisord', true],
    ]);
    expect(report.services).toHaveLength(1);
    expect(report.services[0]).toMatchObject({ name: 'flaky', outcome: 'still-failing' });
    expect(report.services[0].attempts).toHaveLength(2);

    sup.crash(false);
    const text = await cx(['repair', 'services', '--service', 'flaky', '-y']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('supervisord/flaky: restarted - flaky restarted and verified running (attempt 1)');
    expect(sup.ctl('status', 'flaky').stdout).toMatch(/RUNNING/);
  });
});
