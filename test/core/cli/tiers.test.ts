import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const dirs = ['--plugin-dir', fileURLToPath(new URL('./fixtures/good', import.meta.url))];
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
});
