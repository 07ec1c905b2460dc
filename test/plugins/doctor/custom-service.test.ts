// The seed's custom_service example, a sandboxed third-party plugin, inside doctor like any built-in.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { bundlePluginFile } from 'cx-ops/sdk/bundle';
import { doctorHost, parseReport, type DoctorHost } from '../../helpers/doctor-host.js';

let h: DoctorHost | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
  h = dir = undefined;
});

/** A built copy of the example in a temp plugin directory, enabled on a healthy fixture host; its --plugin-dir flag. */
async function enabledCustomService(): Promise<string[]> {
  dir = await mkdtemp(join(tmpdir(), 'cx-custom-service-'));
  const src = fileURLToPath(new URL('../../../examples/custom-service', import.meta.url));
  await cp(join(src, 'plugin.yaml'), join(dir, 'plugin.yaml'));
  await cp(join(src, 'src'), join(dir, 'src'), { recursive: true });
  await bundlePluginFile(join(dir, 'src/index.ts'), join(dir, 'dist/index.js'));
  h = await doctorHost('healthy');
  const pd = ['--plugin-dir', dir];
  expect((await h.run([...pd, 'plugins', 'enable', 'custom-service', '-y'])).exitCode).toBe(0);
  return pd;
}

test('custom_service runs sandboxed within its grants; its fix in dry run is recorded, not performed', async () => {
  const pd = await enabledCustomService();
  const run = await h!.run([...pd, 'doctor', '--json', '--category', 'services', '--fix', '--dry-run']);
  const report = parseReport(run);
  expect(report.checks.custom_service).toEqual({
    category: 'services',
    severity: 'high',
    plugin: 'custom-service',
    tier: 'sandboxed',
  });
  const result = report.results.find((r) => r.check_id === 'custom_service');
  if (!existsSync('/run/systemd/system')) {
    // No systemd here (a container, CI): systemctl cannot answer, so the check SKIPs saying so
    // (not "Service is not running"), and there is no fix to offer.
    expect(result).toMatchObject({ status: 'SKIP', fix_id: null });
    expect(result!.message).toMatch(/^systemd is not answering on this host: /);
    expect(report.fixes).toEqual([]);
    return;
  }
  // systemd runs, my-service does not exist: systemctl is-active says "inactive".
  expect(result).toMatchObject({
    status: 'FAIL',
    message: 'Service is not running',
    fix_id: 'restart_custom_service',
  });
  expect(report.fixes).toEqual([
    expect.objectContaining({
      check_id: 'custom_service',
      fix_id: 'restart_custom_service',
      outcome: 'dry_run',
      safe: true,
      actions: ['systemctl restart my-service'],
      recorded_actions: [expect.stringContaining('systemctl restart my-service')],
    }),
  ]);
  expect(run.exitCode).toBe(2);
});

test('in development mode (--dev) the check is SKIP "not diagnosed", never a PASS built on a call that did not run', async () => {
  const pd = await enabledCustomService();
  const run = await h!.run([...pd, '--dev', 'doctor', '--json', '--check', 'custom_service']);
  expect(parseReport(run).results).toEqual([
    expect.objectContaining({
      check_id: 'custom_service',
      status: 'SKIP',
      message:
        'not diagnosed: development mode recorded its call(s) instead of running them (exec: systemctl is-active my-service)',
      details: { plugin: 'custom-service', recorded: ['exec: systemctl is-active my-service'] },
    }),
  ]);
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toContain(
    'development mode: 1 side-effecting call recorded, none performed:\n  exec: systemctl is-active my-service',
  );
});
