/**
 * The heal actions as contributions under the real kernel (heal, services, checks-system and
 * updates loaded from dist/), over a temp root: what each records in a dry run, and what each
 * says when it cannot act (bad parameters, no snapshot, a service manager that is not there).
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootKernel, builtinPlugin, type KernelHost } from '../../helpers/kernel-host.js';
import type { Issue } from '../../../plugins-builtin/heal/heal-types.js';

let root: string;
let h: KernelHost;
const issue = (over: Partial<Issue>): Issue => ({
  type: 'RESOURCE',
  severity: 'HIGH',
  description: 'x',
  component: 'x',
  metric_value: 99,
  threshold: 90,
  timestamp: '2026-12-02T06:00:00.000Z',
  detector: 'disk',
  ...over,
});
const act = (id: string, input: { issue: Issue; parameters: Record<string, unknown> }, dryRun = false) =>
  h.kernel.invoke('heal-action', id, input as never, { dryRun });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cx-heal-actions-'));
  await mkdir(join(root, 'var/log'), { recursive: true });
  await writeFile(join(root, 'var/log/syslog.2.gz'), 'old log');
  await utimes(join(root, 'var/log/syslog.2.gz'), new Date('2020-01-01'), new Date('2020-01-01'));
  await mkdir(join(root, 'proc/sys/vm'), { recursive: true });
  await writeFile(join(root, 'proc/sys/vm/drop_caches'), '0\n');
  h = await bootKernel({
    root,
    configDir: join(root, 'etc/cx'),
    dataDir: join(root, 'var/lib/cx'),
    plugins: ['heal', 'daemon', 'services', 'checks-system', 'updates'].map(builtinPlugin),
  });
});
afterAll(async () => {
  await h?.close();
  await rm(root, { recursive: true, force: true });
});

test("cleanup_disk is checks-system's disk_cleanup fix: in a dry run its file changes are recorded, none made", async () => {
  const out = (await act(
    'cleanup_disk',
    { issue: issue({ component: '/' }), parameters: { mount: '/' } },
    true,
  )) as Record<string, unknown>;
  expect(out).toMatchObject({ ok: true, recorded: [`remove: ${root}/var/log/syslog.2.gz`] });
  expect(String(out.detail)).toContain(`remove ${root}/var/log/syslog.2.gz (7 bytes)`);
});

test('clear_system_cache refuses a level that drop_caches does not take', async () => {
  expect(await act('clear_system_cache', { issue: issue({ detector: 'memory' }), parameters: { level: 7 } })).toEqual({
    ok: false,
    detail: 'parameters.level must be 1, 2 or 3, not 7',
  });
});

test('rollback_update with no snapshot says so (the updates plugin is asked, nothing is changed)', async () => {
  const out = await act('rollback_update', {
    issue: issue({ type: 'SYSTEM', component: 'apt_status' }),
    parameters: {},
  });
  expect(out).toMatchObject({ ok: false, detail: 'no snapshot to roll back to (update apply takes one first)' });
});

test('restart_service and reload_service name a missing manager, or one that is not available here', async () => {
  const svc = issue({ type: 'SERVICE', detector: 'service', component: 'web' });
  expect(await act('reload_service', { issue: svc, parameters: { service: 'web', manager: 'launchd' } })).toEqual({
    ok: false,
    detail: "no service manager 'launchd' is registered (known: supervisord, systemd)",
  });
  expect(await act('restart_service', { issue: svc, parameters: { service: 'web', manager: 'systemd' } })).toEqual({
    ok: false,
    detail: `the service manager 'systemd' is not available here (systemd: systemd is not running here (${root}/run/systemd/system does not exist: a container or CI?); nothing to do)`,
  });
  expect(await act('restart_service', { issue: svc, parameters: {} })).toEqual({
    ok: false,
    detail: 'parameters.service must name a service',
  });
});
