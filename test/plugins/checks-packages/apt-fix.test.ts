// checks-packages alone (the apt repair plugin not loaded): apt_status falls back to its own fix,
// which runs the real `dpkg --root=<temp root> --configure -a`.
import { appendFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { startPlugin, type StartedPlugin } from 'cx-ops/sdk/testing';

const PLUGIN = fileURLToPath(new URL('../../../dist/plugins-builtin/checks-packages', import.meta.url));
let plugin: StartedPlugin | undefined;
let root: string | undefined;
afterEach(async () => {
  await plugin?.close();
  if (root) await rm(root, { recursive: true, force: true });
  plugin = root = undefined;
});

test('an unpacked package: FAIL with apt_configure_pending; the fix configures it for real in the temp root; the check then passes', async () => {
  root = await mkdtemp(join(tmpdir(), 'cx-doctor-aptfix-'));
  await cp(fileURLToPath(new URL('../../helpers/fixtures/apt', import.meta.url)), root, { recursive: true });
  await appendFile(
    join(root, 'var/lib/dpkg/status'),
    '\nPackage: baz\nStatus: install ok unpacked\nArchitecture: all\nVersion: 1.0\nMaintainer: X <x@example.invalid>\nDescription: baz\n',
  );
  await writeFile(join(root, 'var/lib/dpkg/info/baz.list'), '');
  await writeFile(join(root, 'var/lib/dpkg/info/baz.md5sums'), '');
  plugin = await startPlugin(PLUGIN, { tier: 'trusted', root });
  const before = await plugin.check('apt_status');
  expect(before).toMatchObject({
    status: 'FAIL',
    message: '1 package(s) not fully installed: baz (unpacked)',
    fix_id: 'apt_configure_pending',
  });

  const planned = (await plugin.invoke('fix', 'apt_configure_pending', { result: before } as never, {
    dryRun: true,
  })) as Record<string, unknown>;
  expect(planned).toMatchObject({ ok: true, actions: [`dpkg --root=${root} --configure -a`] });
  expect(await plugin.check('apt_status')).toMatchObject({ status: 'FAIL' }); // the dry run changed nothing

  const applied = (await plugin.invoke('fix', 'apt_configure_pending', { result: before } as never)) as Record<
    string,
    unknown
  >;
  expect(applied).toMatchObject({ ok: true, message: 'dpkg --configure -a finished' });
  expect(await plugin.check('apt_status')).toMatchObject({ status: 'PASS', details: { cached: false } });
});
