/**
 * Every byte `plugins install` writes goes through ctx.localFs: a real install's writes are in
 * audit.jsonl (and the archive download through ctx.net), while `--dry-run` and `--dev` list the
 * writes a real run would make and leave every file of the host as it was.
 */
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { publishLockName } from '../../../plugins-builtin/registry/publish.js';
import {
  builtSnapshot,
  makeHome,
  serveDirectory,
  tempDir,
  type BuiltSnapshot,
  type Home,
  type StaticServer,
} from './harness.js';

const fixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));

let tmp: { dir: string; cleanup(): Promise<void> };
let build: BuiltSnapshot;
let author: Home;
let user: Home;
let server: StaticServer;

/** Every entry under `dir` (but the log directory, which the audit log grows in) with its content hash or link target. */
async function tree(dir: string, skip: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (p === skip) continue;
    if (e.isDirectory()) Object.assign(out, { [p]: 'dir' }, await tree(p, skip));
    else if (e.isSymbolicLink()) out[p] = `-> ${await readlink(p)}`;
    else
      out[p] = createHash('sha256')
        .update(await readFile(p))
        .digest('hex');
  }
  return out;
}

const logDir = (h: Home) => join(h.dir, 'var/log/cx');
const snapshot = (h: Home) => tree(h.dir, logDir(h));

beforeAll(async () => {
  build = await builtSnapshot();
  tmp = await tempDir('cx-install-writes-');
  author = await makeHome(tmp.dir, 'author', build);
  const registryDir = join(tmp.dir, 'registry');
  await mkdir(registryDir);
  const src = join(author.dir, 'hello');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'plugin.yaml'), await readFile(fixture('hello/plugin.yaml'), 'utf8'));
  await writeFile(
    join(src, 'index.js'),
    (await readFile(fixture('hello/index.js'), 'utf8')).replace('VERSION', '1.0.0'),
  );
  expect((await author.run(['plugins', 'pack', src, '--out', join(author.dir, 'hello.tgz')])).exitCode).toBe(0);
  expect((await author.run(['registry', 'publish', registryDir, join(author.dir, 'hello.tgz')])).exitCode).toBe(0);
  server = await serveDirectory(registryDir);
  user = await makeHome(tmp.dir, 'user', build);
  expect((await user.run(['registry', 'add', 'team', server.url])).exitCode).toBe(0);
});
afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
  await build?.cleanup();
});

describe.sequential('plugins install writes only through ctx.localFs', () => {
  test('--dry-run lists every write, symlink, lock and index cache write; nothing on the host changes', async () => {
    const before = await snapshot(user);
    const r = await user.run(['plugins', 'install', 'hello', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    const store = join(user.installDir, '.store');
    for (const line of [
      `  write: ${user.cacheDir}/plugins/registry/indexes/team.yaml (`,
      '  lock: plugin-installs\n',
      `  write: ${store}/.tmp-hello-`,
      `/plugin.yaml (`,
      `  symlink: ${user.installDir}/.hello.link-`,
      `-> ${user.installDir}/hello\n`,
      `  write: ${user.dataDir}/plugins.lock.json (`,
    ])
      expect(r.stderr).toContain(line);
    expect(await snapshot(user)).toEqual(before);
  });

  test('--dev lists the same writes as development mode and changes nothing', async () => {
    const before = await snapshot(user);
    const r = await user.run(['--dev', 'plugins', 'install', 'hello']);
    expect(r.exitCode, r.stderr).toBe(0);
    const recorded = r.stderr.slice(r.stderr.indexOf('development mode:'));
    expect(recorded).toMatch(/^development mode: \d+ side-effecting calls recorded, none performed:\n/);
    for (const line of [
      `  write: ${user.cacheDir}/plugins/registry/indexes/team.json (`,
      '  lock: plugin-installs\n',
      `/index.js (`,
      `  symlink: ${user.installDir}/.hello.link-`,
      `  write: ${user.dataDir}/plugins.lock.json (`,
    ])
      expect(recorded).toContain(line);
    expect(await snapshot(user)).toEqual(before);
  });

  test("a real install's every write, its download and its lock are in audit.jsonl", async () => {
    const r = await user.run(['plugins', 'install', 'hello']);
    expect(r).toMatchObject({
      exitCode: 0,
      stdout: 'installed hello 1.0.0 from team: sandboxed, signature unsigned\n',
    });
    const records = (await readFile(join(logDir(user), 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((a) => a.plugin === 'registry' && !a.dryRun && a.allowed);
    const ops = (op: string) => records.filter((a) => a.op === op).map((a) => a.target as string);
    const link = await readlink(join(user.installDir, 'hello'));
    const installed = (await readdir(join(user.installDir, link))).sort();
    expect(installed).toEqual(['index.js', 'plugin.yaml']);
    const written = ops('writeBytes');
    for (const f of installed)
      expect(
        written.some((t) => t.startsWith(join(user.installDir, '.store', '.tmp-hello-')) && t.endsWith(`/${f}`)),
      ).toBe(true);
    expect(written).toContain(join(user.dataDir, 'plugins.lock.json'));
    expect(written).toContain(join(user.cacheDir, 'plugins', 'registry', 'indexes', 'team.yaml'));
    // The store directory is renamed into place, then the link: both renames are audited.
    expect(records.filter((a) => a.op === 'rename').map((a) => a.args?.to)).toEqual([
      join(user.installDir, link),
      join(user.installDir, 'hello'),
    ]);
    expect(ops('symlink').some((t) => t.startsWith(join(user.installDir, '.hello.link-')))).toBe(true);
    expect(ops('lock')).toContain('plugin-installs');
    expect(ops('download')).toContain(`${server.url}archives/hello-1.0.0.tgz`);
    expect(ops('writeFile').concat(ops('appendFile'))).toContain(
      join(user.dataDir, 'plugin-state', 'registry', 'journal.jsonl'),
    );
    expect((await lstat(join(user.installDir, 'hello'))).isSymbolicLink()).toBe(true);
  });

  test('registry publish --dry-run and registry remove --dry-run list their writes and change nothing', async () => {
    const fresh = join(tmp.dir, 'fresh-registry');
    await mkdir(fresh);
    const pub = await author.run(['registry', 'publish', fresh, join(author.dir, 'hello.tgz'), '--dry-run']);
    expect(pub.exitCode, pub.stderr).toBe(0);
    expect(pub.stdout).toMatch(/^dry run: would publish hello 1\.0\.0 \(unsigned, sha256 [0-9a-f]{64}\) in /);
    expect(pub.stderr.split('\n').map((l) => l.replace(/\(\d+ bytes\)/, '(N bytes)'))).toEqual([
      'A real run would make these changes:',
      `  lock: ${publishLockName(fresh)}`,
      `  mkdir: ${fresh}/archives`,
      `  write: ${fresh}/archives/hello-1.0.0.tgz (N bytes)`,
      `  write: ${fresh}/index.yaml (N bytes)`,
      '',
    ]);
    expect(await readdir(fresh)).toEqual([]);
    const before = await snapshot(user);
    const rm = await user.run(['registry', 'remove', 'team', '--dry-run', '--json']);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(JSON.parse(rm.stdout)).toMatchObject({
      name: 'team',
      removed: false,
      would_change: [
        'lock: registry-list',
        expect.stringMatching(new RegExp(`^write: ${user.configDir}/registries\\.yaml \\(\\d+ bytes\\)$`)),
      ],
    });
    expect(await snapshot(user)).toEqual(before);
  });
});
