/**
 * cx-ops' own directories (core/paths.ts checkPaths): the built-in set cannot be replaced from
 * the environment, a directory under /proc, /sys or /dev is refused before anything is created,
 * a plugin directory given must exist, and one named twice is searched once.
 */
import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../helpers/run-cli.js';

const examples = fileURLToPath(new URL('../../examples', import.meta.url));
const good = fileURLToPath(new URL('./cli/fixtures/good', import.meta.url));
let t: TempRoot;
beforeAll(async () => {
  t = await tempRoot('cx-paths-');
});
afterAll(async () => {
  await t.cleanup();
});

test('CX_BUILTIN_DIR does not make a plugin that asks to be sandboxed a trusted built-in', async () => {
  const fake = join(t.root, 'fake-builtins');
  await mkdir(fake);
  await cp(join(examples, 'my-plugin'), join(fake, 'my-plugin'), { recursive: true });
  const r = await t.run(['plugins', 'list', '--json'], { env: { CX_BUILTIN_DIR: fake } });
  expect(r.exitCode, r.stderr).toBe(0);
  const rows = JSON.parse(r.stdout) as Array<{ name: string; source: string }>;
  expect(rows.find((p) => p.name === 'my-plugin')).toBeUndefined();
  expect(rows.find((p) => p.name === 'doctor')).toMatchObject({ source: 'builtin' });
});

test.each([
  ['CX_CACHE_DIR', '/proc/self', '--cache-dir', '/proc'],
  ['CX_DATA_DIR', '/sys/kernel/cx', '--data-dir', '/sys'],
  ['CX_LOG_DIR', '/dev/shm/cx', '--log-dir', '/dev'],
])('%s=%s is refused (exit 2), nothing created', async (name, value, flag, pseudo) => {
  const before = await readdir(t.root);
  const r = await t.run(['doctor', '--check', 'disk_space'], { env: { [name]: value } });
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toMatch(
    new RegExp(
      `^error\\[CX_ERR_USAGE\\]: ${name} '${value}' is under ${pseudo}( \\(resolved: [^)]+\\))?, a pseudo file system: cx-ops keeps no files there\\.\\nTry: give ${flag} \\(or ${name}\\) a directory of its own`,
    ),
  );
  expect(await readdir(t.root)).toEqual(before);
});

test('CX_USER_PLUGIN_DIR naming no directory is an error, not every user plugin silently gone', async () => {
  const missing = join(t.root, 'no-such-dir');
  const r = await t.run(['plugins', 'list'], { env: { CX_USER_PLUGIN_DIR: missing } });
  expect(r).toMatchObject({
    exitCode: 2,
    stderr: `error[CX_ERR_USAGE]: CX_USER_PLUGIN_DIR '${missing}' does not exist (resolved: ${missing}).\nTry: point CX_USER_PLUGIN_DIR at a directory of plugins, or unset it (default: ~/.local/share/cx-ops/plugins)`,
  });
});

test('the same directory twice in CX_PLUGIN_PATH (and as --plugin-dir) is one directory', async () => {
  const r = await t.run(['--plugin-dir', good, 'plugins', 'list'], { env: { CX_PLUGIN_PATH: `${good}:${good}/` } });
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/\ngreeter +1\.0\.0 /);
});
