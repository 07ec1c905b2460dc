/**
 * Dry runs and grants without a terminal: `plugins install|update --dry-run` need no grants (they
 * show the request and change nothing); `plugins update NAME --grant …` grants a new version's
 * request and keeps the range the plugin was installed with; the "no terminal" hint names the
 * command that repeats what the user ran.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';
import { builtSnapshot, makeHome, tempDir, type BuiltSnapshot, type Home } from './harness.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let build: BuiltSnapshot;
let user: Home;
let registryDir: string;

/** Packs and publishes reader VERSION reading `paths`. */
async function publishReader(version: string, paths: string[]): Promise<void> {
  const src = join(tmp.dir, `reader-${version}`);
  await mkdir(src, { recursive: true });
  await writeFile(
    join(src, 'plugin.yaml'),
    `name: reader\nversion: ${version}\ndescription: Reads files\nplugin_type: command\nmain: index.js\ncx_version: "*"\npermissions:\n  read: [${paths.join(', ')}]\n`,
  );
  await writeFile(join(src, 'index.js'), "export default { name: 'reader', contributes: [] };\n");
  expect((await user.run(['plugins', 'pack', src, '--out', join(tmp.dir, `reader-${version}.tgz`)])).exitCode).toBe(0);
  const pub = await user.run(['registry', 'publish', registryDir, join(tmp.dir, `reader-${version}.tgz`)]);
  expect(pub.exitCode, pub.stderr).toBe(0);
}

/** A change line with its pid, times, hash and sizes made generic. */
const generic = (line: string) =>
  line
    .trim()
    .replace(/-\d+-\d+(?=$|[ /])/g, '-PID-TIME')
    .replace(/@1\.0\.0-[0-9a-f]{12}-[0-9a-z]+/g, '@1.0.0-HASH-TIME')
    .replace(/\(\d+ bytes\)/g, '(N bytes)');

/** What a dry run of installing reader 1.0.0 on this fresh host lists (the index cache is refreshed first). */
let expectedChanges: string[];

const lockOf = async () => JSON.parse(await readFile(join(user.dataDir, 'plugins.lock.json'), 'utf8'));

beforeAll(async () => {
  build = await builtSnapshot();
  tmp = await tempDir('cx-dry-grants-');
  user = await makeHome(tmp.dir, 'user', build);
  registryDir = join(tmp.dir, 'registry');
  await mkdir(registryDir);
  await publishReader('1.0.0', ['/etc/hostname']);
  expect((await user.run(['registry', 'add', 'local', registryDir])).exitCode).toBe(0);
  const cache = join(user.cacheDir, 'plugins', 'registry', 'indexes');
  const store = join(user.installDir, '.store');
  expectedChanges = [
    `write: ${cache}/local.yaml (N bytes)`,
    `write: ${cache}/local.json (N bytes)`,
    'lock: plugin-installs',
    `mkdir: ${store}`,
    `mkdir: ${store}/.tmp-reader-PID-TIME`,
    `write: ${store}/.tmp-reader-PID-TIME/index.js (N bytes)`,
    `write: ${store}/.tmp-reader-PID-TIME/plugin.yaml (N bytes)`,
    `rename: ${store}/.tmp-reader-PID-TIME -> ${store}/reader@1.0.0-HASH-TIME`,
    `symlink: ${user.installDir}/.reader.link-PID-TIME -> .store/reader@1.0.0-HASH-TIME`,
    `rename: ${user.installDir}/.reader.link-PID-TIME -> ${user.installDir}/reader`,
    'enable: reader sandboxed',
    `write: ${user.dataDir}/plugins.lock.json (N bytes)`,
  ];
});
afterAll(async () => {
  await tmp?.cleanup();
  await build?.cleanup();
});

describe.sequential('dry runs and grants with no terminal', () => {
  test('install --dry-run needs no grants: it shows the request and changes nothing', async () => {
    const r = await user.run(['plugins', 'install', 'reader@^1.0', '--dry-run']);
    expect(r).toEqual({
      exitCode: 0,
      stdout:
        'dry run: would install reader 1.0.0 from local: sandboxed, signature unsigned, requests: read:/etc/hostname (not granted by this dry run: a real run asks, or give --grant or -y)\n',
      stderr: expect.stringMatching(
        /^dry run: would install reader 1\.0\.0 into .*; nothing was changed\.\nA real run would make these changes:\n/,
      ),
    });
    const [summary, header, ...changes] = r.stderr.trimEnd().split('\n');
    expect([summary, header]).toEqual([
      `dry run: would install reader 1.0.0 into ${join(user.installDir, 'reader')} and enable it sandboxed once its requested permissions are granted (read:/etc/hostname); nothing was changed.`,
      'A real run would make these changes:',
    ]);
    expect(changes.map(generic)).toEqual(expectedChanges);
    const j = await user.run(['plugins', 'install', 'reader@^1.0', '--dry-run', '--json']);
    expect(j.exitCode, j.stderr).toBe(0);
    const result = JSON.parse(j.stdout);
    assertMatchesSchema('plugins-install-result', result);
    expect(result).toEqual([
      {
        name: 'reader',
        version: '1.0.0',
        previous: null,
        registry: 'local',
        tier: 'sandboxed',
        signature: { status: 'unsigned' },
        grants: [],
        requested: ['read:/etc/hostname'],
        grants_pending: true,
        dir: join(user.installDir, 'reader'),
        installed: true,
        dry_run: true,
        would_change: expect.any(Array),
      },
    ]);
    expect(result[0].would_change.map((c: string) => generic(`  ${c}`))).toEqual(expectedChanges);
    const granted = await user.run(['plugins', 'install', 'reader@^1.0', '--dry-run', '--grant', 'read:/etc/hostname']);
    expect(granted.stdout).toBe(
      'dry run: would install reader 1.0.0 from local: sandboxed, signature unsigned, grants: read:/etc/hostname\n',
    );
    await expect(readdir(user.installDir)).rejects.toThrow(/ENOENT/);
    await expect(lockOf()).rejects.toThrow(/ENOENT/);
  });

  test('a real install with no terminal is refused; the hint repeats the range the user asked for', async () => {
    const r = await user.run(['plugins', 'install', 'reader@^1.0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `error[CX_ERR_USAGE]: plugin 'reader' requests permissions and there is no terminal to ask; nothing was installed.\nTry: ${user.cx} plugins install reader@'^1.0' --grant 'read:/etc/hostname'   (or -y to grant all requested)\n`,
    );
    const ok = await user.run(['plugins', 'install', 'reader@^1.0', '--grant', 'read:/etc/hostname']);
    expect(ok).toMatchObject({
      exitCode: 0,
      stdout: 'installed reader 1.0.0 from local: sandboxed, signature unsigned, grants: read:/etc/hostname\n',
    });
    expect((await lockOf()).plugins.reader).toMatchObject({
      version: '1.0.0',
      range: '^1.0',
      grants: ['read:/etc/hostname'],
    });
  });

  test('update --dry-run of a version requesting more needs no grants and changes nothing', async () => {
    await publishReader('1.1.0', ['/etc/hostname', '/etc/os-release']);
    const before = await readFile(join(user.dataDir, 'plugins.lock.json'), 'utf8');
    const r = await user.run(['plugins', 'update', '--dry-run']);
    expect(r).toMatchObject({
      exitCode: 0,
      stdout:
        'dry run: would install reader 1.1.0 (was 1.0.0) from local: sandboxed, signature unsigned, requests: read:/etc/hostname, read:/etc/os-release (not granted by this dry run: a real run asks, or give --grant or -y)\n',
    });
    expect(await readFile(join(user.dataDir, 'plugins.lock.json'), 'utf8')).toBe(before);
  });

  test('update with no terminal suggests update NAME --grant; update --grant grants the new request and keeps the range', async () => {
    const r = await user.run(['plugins', 'update']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `error[CX_ERR_USAGE]: plugin 'reader' requests permissions and there is no terminal to ask; nothing was installed.\nTry: ${user.cx} plugins update reader --grant 'read:/etc/hostname' --grant 'read:/etc/os-release'   (or -y to grant all requested)\n`,
    );
    const noName = await user.run(['plugins', 'update', '--grant', 'read:/etc/hostname']);
    expect(noName).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_USAGE]: plugins update --grant needs the name of the one plugin the grants are for; nothing was updated.\nTry: ${user.cx} plugins update NAME --grant GRANT...\n`,
    });
    expect((await lockOf()).plugins.reader.version).toBe('1.0.0');
    const ok = await user.run(['plugins', 'update', 'reader', '--grant', 'read:/etc/hostname', 'read:/etc/os-release']);
    expect(ok).toMatchObject({
      exitCode: 0,
      stdout:
        'installed reader 1.1.0 (was 1.0.0) from local: sandboxed, signature unsigned, grants: read:/etc/hostname, read:/etc/os-release\n',
    });
    expect((await lockOf()).plugins.reader).toMatchObject({
      version: '1.1.0',
      range: '^1.0',
      grants: ['read:/etc/hostname', 'read:/etc/os-release'],
    });
  });

  test('remove --help describes its own dry run', async () => {
    const r = await user.run(['plugins', 'remove', '--help']);
    expect(r.stdout).toMatch(/--dry-run\s+show what would be disabled and removed; change nothing\n/);
    expect(r.stdout).not.toContain('would be installed');
  });
});
