import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const GOOD = fileURLToPath(new URL('./fixtures/good', import.meta.url));
const dirs = ['--plugin-dir', GOOD];
let t: TempRoot;
beforeEach(async () => {
  t = await tempRoot('cx-tiers-');
  await mkdir(join(t.root, 'tmp'));
});
// The plugin is given a host path: its ctx.fs writes it under --root (the temp root).
const HOST_FILE = '/tmp/stamp.txt';
afterEach(async () => {
  await t.cleanup();
});

describe('read-only tier and development mode', () => {
  test('granted normally, the plugin runs its program and writes its file', async () => {
    expect((await t.run([...dirs, 'plugins', 'enable', 'stamper', '-y'])).exitCode).toBe(0);
    const file = join(t.root, HOST_FILE);
    expect(await t.run([...dirs, 'stamp', HOST_FILE])).toMatchObject({ exitCode: 0, stdout: 'exec dryRun=false' });
    expect(await readFile(file, 'utf8')).toBe('stamp stamped ok\n');
  });

  test('read-only: exec and write are denied whatever the manifest requests', async () => {
    expect((await t.run([...dirs, 'plugins', 'enable', 'stamper', '-y', '--read-only'])).stdout).toBe(
      'enabled stamper (sandboxed, read-only)',
    );
    const r = await t.run([...dirs, 'stamp', HOST_FILE]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("error[CX_ERR_PERMISSION_DENIED]: plugin 'stamper' may not run");
    await expect(readFile(join(t.root, HOST_FILE), 'utf8')).rejects.toThrow(/ENOENT/);
    // The hint is the way out of read-only mode (a `plugins grant` would be refused), and it works as printed.
    const cx = `cx-ops --root ${t.root} --plugin-dir ${GOOD}`;
    const fix = `${cx} plugins enable stamper --grant 'exec:/bin/echo stamped ok'`;
    expect(r.stderr).toContain(
      `It is enabled read-only, which allows no exec, write or net grant; to allow it, enable it again without --read-only: ${fix}`,
    );
    const grant = await t.run([...dirs, 'plugins', 'grant', 'stamper', 'exec:/bin/echo stamped *']);
    expect(grant).toMatchObject({ exitCode: 2, stdout: '' });
    expect(grant.stderr).toBe(
      `error[CX_ERR_USAGE]: plugin 'stamper' is enabled read-only, which allows no exec, write or net grant: 'exec:/bin/echo stamped *' would have no effect; nothing was changed.\nTry: leave read-only mode by enabling it again with the grants it needs: ${cx} plugins enable stamper --grant 'exec:/bin/echo stamped *'`,
    );
    const info = await t.run([...dirs, 'plugins', 'info', 'stamper', '--json']);
    expect(JSON.parse(info.stdout)).toMatchObject({ read_only: true });
    const again = await t.run([
      ...dirs,
      'plugins',
      'enable',
      'stamper',
      '--grant',
      'exec:/bin/echo stamped ok',
      '--grant',
      'write:/tmp',
    ]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await t.run([...dirs, 'stamp', HOST_FILE])).toMatchObject({ exitCode: 0, stdout: 'exec dryRun=false' });
  });

  test('a grant the manifest does not request: the hint says to request it in plugin.yaml, not to grant it', async () => {
    expect((await t.run([...dirs, 'plugins', 'enable', 'stamper', '-y'])).exitCode).toBe(0);
    const r = await t.run([...dirs, 'stamp', '/etc/stamp.txt']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(
      `error[CX_ERR_PERMISSION_DENIED]: plugin 'stamper' may not write '/etc/stamp.txt': its grant allows '/tmp'.\nIts manifest does not request it, so it cannot be granted as it is: add 'write:/etc/stamp.txt' under permissions in ${GOOD}/stamper/plugin.yaml, rebuild the plugin, then enable it again (cx-ops --root ${t.root} --plugin-dir ${GOOD} plugins enable stamper).`,
    );
  });

  test('--dev records the side effects, performs none, and lists them', async () => {
    expect((await t.run([...dirs, 'plugins', 'enable', 'stamper', '-y'])).exitCode).toBe(0);
    const file = join(t.root, HOST_FILE);
    const r = await t.run([...dirs, '--dev', 'stamp', HOST_FILE]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('exec dryRun=true');
    expect(r.stderr).toContain('development mode: 2 side-effecting calls recorded, none performed:');
    expect(r.stderr).toContain('/bin/echo stamped ok');
    expect(r.stderr).toContain(file);
    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  test("CX_DEV=1 is --dev (the seed's LUMINOUS_DEV_MODE)", async () => {
    expect((await t.run([...dirs, 'plugins', 'enable', 'stamper', '-y'])).exitCode).toBe(0);
    const r = await t.run([...dirs, 'stamp', HOST_FILE], { env: { CX_DEV: '1' } });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'exec dryRun=true' });
    expect(r.stderr).toContain('development mode: 2 side-effecting calls recorded, none performed:');
    await expect(readFile(join(t.root, HOST_FILE), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
