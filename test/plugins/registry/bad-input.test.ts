/**
 * Bad input, each with a clear message and a non-zero exit: an unreachable registry (cached
 * index used, its age said), a malformed index (path, line, field), a duplicate registry name,
 * a range nothing satisfies (available versions listed), an archive with escaping entries
 * (refused before anything is written), and an install killed mid-way (old version intact).
 */
import { cp, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { publishLockName } from '../../../plugins-builtin/registry/publish.js';
import { sha256 } from '../../../plugins-builtin/registry/sha256.js';
import {
  builtSnapshot,
  makeHome,
  type BuiltSnapshot,
  rawTarGz,
  serveDirectory,
  tempDir,
  type Home,
  type StaticServer,
} from './harness.js';

const fixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));

let tmp: { dir: string; cleanup(): Promise<void> };
let build: BuiltSnapshot;
let author: Home;
let registryDir: string;
let server: StaticServer;

/** Packs and publishes hello VERSION (needing cx-ops CX) into the registry. */
async function publishHello(version: string, cx = '>=0.1.0'): Promise<void> {
  const dir = join(author.dir, `hello-${version}`);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'plugin.yaml'),
    (await readFile(fixture('hello/plugin.yaml'), 'utf8')).replace('1.0.0', version).replace('">=0.1.0"', `"${cx}"`),
  );
  await writeFile(
    join(dir, 'index.js'),
    (await readFile(fixture('hello/index.js'), 'utf8')).replace('VERSION', version),
  );
  const pack = await author.run(['plugins', 'pack', dir, '--out', join(author.dir, `hello-${version}.tgz`)]);
  expect(pack.exitCode, pack.stderr).toBe(0);
  const pub = await author.run(['registry', 'publish', registryDir, join(author.dir, `hello-${version}.tgz`)]);
  expect(pub.exitCode, pub.stderr).toBe(0);
}

beforeAll(async () => {
  build = await builtSnapshot();
  tmp = await tempDir('cx-bad-input-');
  author = await makeHome(tmp.dir, 'author', build);
  registryDir = join(tmp.dir, 'registry');
  await mkdir(registryDir);
  await publishHello('1.0.0');
  await publishHello('1.1.0');
  await publishHello('2.0.0');
  await publishHello('3.0.0', '>=99.0.0');
  server = await serveDirectory(registryDir);
});
afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
  await build?.cleanup();
});

async function userWithRegistry(name: string, url = server.url): Promise<Home> {
  const u = await makeHome(tmp.dir, name, build);
  expect((await u.run(['registry', 'add', 'team', url])).exitCode).toBe(0);
  return u;
}

describe('registries', () => {
  test('a duplicate registry name is refused and registries.yaml is unchanged', async () => {
    const u = await userWithRegistry('dup');
    const before = await readFile(join(u.configDir, 'registries.yaml'), 'utf8');
    const r = await u.run(['registry', 'add', 'team', 'https://elsewhere.example/']);
    expect(r).toMatchObject({ exitCode: 2, stdout: '' });
    expect(r.stderr).toBe(
      `error[CX_ERR_REGISTRY_DUPLICATE]: a registry named 'team' already exists (${server.url}); nothing was changed.\nRemove it first (${u.cx} registry remove team) or choose another name.\n`,
    );
    expect(await readFile(join(u.configDir, 'registries.yaml'), 'utf8')).toBe(before);
  });

  test('unreachable with no cache: a clear error; with a cache: the cached index, and how old it is', async () => {
    const down = await serveDirectory(registryDir);
    await down.close();
    const u = await makeHome(tmp.dir, 'unreachable', build);
    const add = await u.run(['registry', 'add', 'team', down.url]);
    expect(add).toMatchObject({
      exitCode: 0,
      stdout: `added registry team (${down.url}index.yaml)\nNext: ${u.cx} plugins search TEXT\n`,
    });
    expect(add.stderr).toBe(
      `warning: the registry was added, but its index cannot be used now: registry 'team' (${down.url}index.yaml) is unreachable: cannot connect (ECONNREFUSED); there is no cached copy of its index.\n`,
    );
    const none = await u.run(['plugins', 'search', 'hello']);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(
      new RegExp(
        `^error\\[CX_ERR_REGISTRY_UNREACHABLE\\]: registry 'team' \\(${down.url}index\\.yaml\\) is unreachable: cannot connect \\(ECONNREFUSED\\); there is no cached copy of its index\\.\\nCheck the URL and the network, then run: ${u.cx} registry refresh team\\n$`,
      ),
    );

    const v = await userWithRegistry('cached');
    expect((await v.run(['registry', 'refresh'])).stdout).toBe('team: 1 plugin, 4 versions\n');
    // The registry moves away: point the cache's registry at a dead port by re-adding it.
    const meta = join(v.cacheDir, 'plugins', 'registry', 'indexes', 'team.json');
    const m = JSON.parse(await readFile(meta, 'utf8'));
    m.fetched_at = new Date(Date.now() - 3 * 3600_000).toISOString();
    await writeFile(meta, JSON.stringify(m));
    const saved = server;
    await saved.close();
    try {
      const r = await v.run(['plugins', 'search', 'hello', '--json']);
      expect(r.exitCode).toBe(0);
      expect(JSON.parse(r.stdout).map((p: { name: string; version: string }) => `${p.name} ${p.version}`)).toEqual([
        'hello 2.0.0',
      ]);
      expect(r.stderr).toBe(
        `warning: registry 'team' (${server.url}index.yaml) is unreachable: cannot connect (ECONNREFUSED); using its cached index from ${m.fetched_at} (3 hours old).\n`,
      );
      const list = await v.run(['registry', 'list']);
      expect(list.stdout).toMatch(
        /^NAME\s+PLUGINS\s+INDEX FETCHED\s+URL\nteam\s+1\s+3 hours ago\s+http:\/\/127\.0\.0\.1:\d+\/\n$/,
      );
    } finally {
      server = await serveDirectory(registryDir);
      // Later tests use the new port.
    }
  });

  test('a malformed index names the source, line and field', async () => {
    const u = await userWithRegistry('malformed', fixture('malformed-index'));
    const r = await u.run(['plugins', 'install', 'disk-guard']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `error[CX_ERR_REGISTRY_INDEX_INVALID]: ${fixture('malformed-index')}/index.yaml:10: field 'plugins.disk-guard[0].sha256' must match the pattern ^[0-9a-f]{64}$ (found: "not-a-hash")\nA registry index must match schemas/registry-index.schema.json; ask the registry's maintainer to republish it with: ${u.cx} registry publish DIR ARCHIVE\n`,
    );
  });
});

describe("the operator's registries.yaml and lock files", () => {
  const schemaHint = (file: string, u: Home) =>
    `Fix that in ${file} (format: schemas/registries.schema.json, e.g. "registries: [{ name: team, url: https://plugins.example.com/cx/ }]"); ${u.cx} registry add|remove change the file only once it is valid.\n`;

  test('a YAML syntax error is a config-file error with line and column; registry add leaves the file alone', async () => {
    const u = await makeHome(tmp.dir, 'registries-syntax', build);
    const file = join(u.configDir, 'registries.yaml');
    await mkdir(u.configDir, { recursive: true });
    const text = 'registries:\n  - name: team\n    url: [oops\n';
    await writeFile(file, text);
    const r = await u.run(['registry', 'list']);
    expect(r).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_YAML_SYNTAX]: ${file}:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]\nFix the YAML syntax at that position and run the command again.\n`,
    });
    expect((await u.run(['registry', 'add', 'other', registryDir])).exitCode).toBe(2);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  test('unknown keys are refused with line, field and the valid keys; registry add never drops them', async () => {
    const u = await makeHome(tmp.dir, 'registries-typo', build);
    const file = join(u.configDir, 'registries.yaml');
    await mkdir(u.configDir, { recursive: true });
    const typo = `# mine\nregistry:\n  - name: team\n    url: ${registryDir}\n`;
    await writeFile(file, typo);
    const list = await u.run(['registry', 'list']);
    expect(list).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_REGISTRIES_INVALID]: ${file}:2: field 'registry' is not allowed here (unknown field); valid keys here: registries (found: [{"name":"team","url":"${registryDir}"}])\n${schemaHint(file, u)}`,
    });
    const add = await u.run(['registry', 'add', 'other', registryDir]);
    expect(add).toMatchObject({ exitCode: 2, stderr: list.stderr });
    expect(await readFile(file, 'utf8')).toBe(typo);

    const extra = `registries:\n  - name: team\n    url: ${registryDir}\n    token: s3cret\n`;
    await writeFile(file, extra);
    const r = await u.run(['registry', 'add', 'other', registryDir]);
    expect(r).toMatchObject({
      exitCode: 2,
      stderr: `error[CX_ERR_REGISTRIES_INVALID]: ${file}:4: field 'registries[0].token' is not allowed here (unknown field); valid keys here: name, url, added, require_signatures (found: "s3cret")\n${schemaHint(file, u)}`,
    });
    expect(await readFile(file, 'utf8')).toBe(extra);
    await writeFile(file, `registries:\n  - name: team\n    url: ${registryDir}\nfoo: 1\n`);
    expect((await u.run(['plugins', 'search'])).stderr).toBe(
      `error[CX_ERR_REGISTRIES_INVALID]: ${file}:4: field 'foo' is not allowed here (unknown field); valid keys here: registries (found: 1)\n${schemaHint(file, u)}`,
    );
  });

  test('plugins install --lock: a missing file is "does not exist", a malformed one names the line (exit 2)', async () => {
    const u = await makeHome(tmp.dir, 'bad-lock', build);
    const missing = join(u.dir, 'nonexistent.json');
    expect(await u.run(['plugins', 'install', '--lock', missing])).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_USAGE]: lock file ${missing} does not exist; nothing was installed.\nTry: ${u.cx} plugins install --lock PATH/plugins.lock.json   (a copy of another host's \${dataDir}/plugins.lock.json)\n`,
    });
    const tail = `A plugin lock file must match schemas/plugins-lock.schema.json: fix it, or restore the copy written by ${u.cx} plugins install; nothing was changed.\n`;
    const syntax = join(u.dir, 'syntax.json');
    await writeFile(syntax, '{\n  "lock_version": 1,\n  "plugins": { "x": }\n}\n');
    expect(await u.run(['plugins', 'install', '--lock', syntax])).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_LOCK_INVALID]: ${syntax}:3:21: is not valid JSON: Unexpected token '}'.\n${tail}`,
    });
    const cut = join(u.dir, 'cut.json');
    await writeFile(cut, '{"lock_version": 1,\n');
    expect((await u.run(['plugins', 'install', '--lock', cut])).stderr).toBe(
      `error[CX_ERR_LOCK_INVALID]: ${cut}:2:1: is not valid JSON: Expected double-quoted property name.\n${tail}`,
    );
    const field = join(u.dir, 'field.json');
    await writeFile(field, '{\n  "lock_version": 1,\n  "plugins": {\n    "hello": {}\n  }\n}\n');
    expect(await u.run(['plugins', 'install', '--lock', field])).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_LOCK_INVALID]: ${field}:4: field 'plugins.hello.version' is required but missing.\n${tail}`,
    });
    await expect(readdir(u.installDir)).rejects.toThrow(/ENOENT/);
  });

  test('registry add of a local directory that does not exist or holds no index.yaml is refused unless --force', async () => {
    const u = await makeHome(tmp.dir, 'add-local', build);
    const gone = join(tmp.dir, 'no-such-dir');
    expect(await u.run(['registry', 'add', 'bad', gone])).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_USAGE]: registry 'bad': the directory ${gone} does not exist; nothing was added.\nTry: check the path, or make it a registry with: ${u.cx} registry publish ${gone} ARCHIVE   (or add it anyway: ${u.cx} registry add bad ${gone} --force)\n`,
    });
    const empty = join(tmp.dir, 'empty-dir');
    await mkdir(empty, { recursive: true });
    const r = await u.run(['registry', 'add', 'empty', `file://${empty}/`]);
    expect(r).toMatchObject({
      exitCode: 2,
      stderr: `error[CX_ERR_USAGE]: registry 'empty': ${empty} holds no index.yaml; nothing was added.\nTry: check the path, or make it a registry with: ${u.cx} registry publish ${empty} ARCHIVE   (or add it anyway: ${u.cx} registry add empty file://${empty}/ --force)\n`,
    });
    await expect(readFile(join(u.configDir, 'registries.yaml'))).rejects.toThrow(/ENOENT/);
    const forced = await u.run(['registry', 'add', 'bad', gone, '--force']);
    expect(forced).toMatchObject({
      exitCode: 0,
      stdout: `added registry bad (${gone}/index.yaml)\nNext: ${u.cx} plugins search TEXT\n`,
    });
    expect(forced.stderr).toBe(
      `warning: the registry was added, but its index cannot be used now: registry 'bad' (${gone}/index.yaml) is unreachable: ${gone}/index.yaml does not exist; there is no cached copy of its index.\n`,
    );
    expect((await u.run(['registry', 'list', '--json'])).stdout).toContain(`"url": "${gone}"`);
  });
});

describe('publishing and registry locations', () => {
  test('a publish while another holds the registry lock is refused, the index untouched', async () => {
    const index = await readFile(join(registryDir, 'index.yaml'), 'utf8');
    // A publish takes ctx.lock(publishLockName(DIR)): <dataDir>/locks/<name>.lock, held here by this (live) process.
    const lockName = publishLockName(registryDir);
    const lockFile = join(author.dataDir, 'locks', `${lockName}.lock`);
    await mkdir(join(author.dataDir, 'locks'), { recursive: true });
    await writeFile(lockFile, `${process.pid}\n`);
    try {
      const dir = join(author.dir, 'hello-4.0.0');
      await cp(join(author.dir, 'hello-2.0.0'), dir, { recursive: true });
      await writeFile(
        join(dir, 'plugin.yaml'),
        (await readFile(join(dir, 'plugin.yaml'), 'utf8')).replace('2.0.0', '4.0.0'),
      );
      expect((await author.run(['plugins', 'pack', dir, '--out', join(author.dir, 'hello-4.0.0.tgz')])).exitCode).toBe(
        0,
      );
      const r = await author.run(['registry', 'publish', registryDir, join(author.dir, 'hello-4.0.0.tgz')]);
      expect(r).toMatchObject({ exitCode: 5, stdout: '' });
      expect(r.stderr).toBe(
        `error[CX_ERR_STATE_LOCKED]: lock '${lockName}' is locked by another cx-ops run (pid ${process.pid}).\nWait for it to finish, then run the command again.\n`,
      );
      expect(await readFile(join(registryDir, 'index.yaml'), 'utf8')).toBe(index);
    } finally {
      await (await import('node:fs/promises')).rm(lockFile, { force: true });
    }
  });

  test('signing: only plugin archives are signed, and only with a key', async () => {
    const junk = join(author.dir, 'junk.tgz');
    await writeFile(junk, 'not an archive');
    expect((await author.run(['plugins', 'keygen', '--out', join(author.dir, 'k')])).exitCode).toBe(0);
    const r = await author.run(['plugins', 'sign', junk, '--key', join(author.dir, 'k.key')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^error\\[CX_ERR_ARCHIVE_INVALID\\]: ${junk}: is not a gzip-compressed tar archive`),
    );
    await expect(readFile(`${junk}.sig`)).rejects.toThrow(/ENOENT/);
    const nokey = await author.run(['plugins', 'sign', join(author.dir, 'hello-1.0.0.tgz')]);
    expect(nokey).toMatchObject({
      exitCode: 2,
      stderr: `error[CX_ERR_USAGE]: plugins sign needs --key FILE.\nTry: ${author.cx} plugins keygen --out mykey   then   ${author.cx} plugins sign ARCHIVE --key mykey.key\n`,
    });
    const again = await author.run(['plugins', 'keygen', '--out', join(author.dir, 'k')]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(
      `error[CX_ERR_USAGE]: ${join(author.dir, 'k')}.key already exists; nothing was written.`,
    );
    const ok = await author.run([
      'plugins',
      'sign',
      join(author.dir, 'hello-1.0.0.tgz'),
      '--key',
      join(author.dir, 'k.key'),
    ]);
    expect(ok.stdout).toMatch(
      /^signed hello 1\.0\.0 \(.*hello-1\.0\.0\.tgz\) with key [0-9a-f]{16}: .*hello-1\.0\.0\.tgz\.sig\n/,
    );
    // A signature of other bytes beside an archive (re-packed after signing) is not published.
    const stale = join(author.dir, 'stale.tgz');
    await cp(join(author.dir, 'hello-1.1.0.tgz'), stale);
    await cp(join(author.dir, 'hello-1.0.0.tgz.sig'), `${stale}.sig`);
    const fresh = join(tmp.dir, 'fresh-registry');
    await mkdir(fresh);
    const pub = await author.run(['registry', 'publish', fresh, stale]);
    expect(pub).toMatchObject({
      exitCode: 2,
      stderr: `error[CX_ERR_USAGE]: ${stale}.sig is not a signature of ${stale} (was the archive packed again after signing?); nothing was published.\nTry: ${author.cx} plugins sign ${stale} --key KEY   then publish again\n`,
    });
    expect(await readdir(fresh)).toEqual([]);
  });

  test('concurrent publishes into one registry wait for each other; every version lands in the index', async () => {
    const dir = join(tmp.dir, 'busy-registry');
    await mkdir(dir, { recursive: true });
    const versions = ['5.0.0', '5.1.0', '5.2.0', '5.3.0'];
    for (const v of versions) {
      const src = join(author.dir, `busy-${v}`);
      await cp(join(author.dir, 'hello-2.0.0'), src, { recursive: true });
      await writeFile(join(src, 'plugin.yaml'), (await readFile(join(src, 'plugin.yaml'), 'utf8')).replace('2.0.0', v));
      expect((await author.run(['plugins', 'pack', src, '--out', join(author.dir, `busy-${v}.tgz`)])).exitCode).toBe(0);
    }
    const runs = await Promise.all(
      versions.map((v) => author.spawn(['registry', 'publish', dir, join(author.dir, `busy-${v}.tgz`)])),
    );
    expect(runs.map((r) => [r.exitCode, r.stderr])).toEqual(versions.map(() => [0, '']));
    const index = await readFile(join(dir, 'index.yaml'), 'utf8');
    expect([...index.matchAll(/- version: (\S+)/g)].map((m) => m[1])).toEqual(['5.3.0', '5.2.0', '5.1.0', '5.0.0']);
    expect((await readdir(join(dir, 'archives'))).sort()).toEqual(versions.map((v) => `hello-${v}.tgz`));
  });

  test('a file:// registry resolves archives next to its index (plugins.enabled false is warned about); removing an unknown registry lists the known ones', async () => {
    const u = await userWithRegistry('file-url', `file://${registryDir}/`);
    await writeFile(join(u.configDir, 'config.yaml'), 'plugins:\n  enabled: false\n');
    const r = await u.run(['plugins', 'install', 'hello@~1.0']);
    expect(r).toMatchObject({
      exitCode: 0,
      stdout: 'installed hello 1.0.0 from team: sandboxed, signature unsigned\n',
      stderr: `warning: plugins.enabled is false in ${u.configDir}/config.yaml: third-party plugins, this one included, do not load until it is true.\n`,
    });
    const lock = JSON.parse(await readFile(join(u.dataDir, 'plugins.lock.json'), 'utf8'));
    expect(lock.plugins.hello).toMatchObject({
      version: '1.0.0',
      range: '~1.0',
      registry: 'team',
      url: `file://${registryDir}/archives/hello-1.0.0.tgz`,
      signature: { status: 'unsigned' },
      tier: 'sandboxed',
      grants: [],
    });
    const rm = await u.run(['registry', 'remove', 'teem']);
    expect(rm).toMatchObject({
      exitCode: 2,
      stderr: `error[CX_ERR_REGISTRY_UNKNOWN]: no registry named 'teem' (configured: team).\nAdd it with: ${u.cx} registry add teem URL\n`,
    });
  });
});

describe('choosing a version', () => {
  test('a version offered by several registries is listed once, naming them', async () => {
    const u = await userWithRegistry('mirrors');
    expect((await u.run(['registry', 'add', 'mirror', server.url])).exitCode).toBe(0);
    const r = await u.run(['plugins', 'install', 'hello@^5']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      'Available: 3.0.0 (in team, mirror) (needs cx-ops >=99.0.0), 2.0.0 (in team, mirror), 1.1.0 (in team, mirror), 1.0.0 (in team, mirror).',
    );
  });

  test('a range nothing satisfies lists the available versions and what works here', async () => {
    const u = await userWithRegistry('range');
    const r = await u.run(['plugins', 'install', 'hello@^5']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `error[CX_ERR_VERSION_UNSATISFIED]: no version of 'hello' satisfies '^5' and works with cx-ops 0.1.0. Available: 3.0.0 (needs cx-ops >=99.0.0), 2.0.0, 1.1.0, 1.0.0.\nInstall the newest one that works here with: ${u.cx} plugins install hello@2.0.0\n`,
    );
    const pick = await u.run(['plugins', 'install', 'hello@^1', '-y', '--dry-run']);
    expect(pick).toMatchObject({
      exitCode: 0,
      stdout: `dry run: would install hello 1.1.0 from team: sandboxed, signature unsigned\n`,
    });
    await expect(readdir(u.installDir)).rejects.toThrow(/ENOENT/);
  });

  test('an unknown plugin name suggests close names', async () => {
    const u = await userWithRegistry('unknown');
    const r = await u.run(['plugins', 'install', 'helo']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `error[CX_ERR_REGISTRY_PLUGIN_UNKNOWN]: no plugin named 'helo' in the configured registries (team). Did you mean: hello?\nSearch with: ${u.cx} plugins search TEXT\n`,
    );
  });
});

describe('hostile archives and interrupted installs', () => {
  test('an archive with entries escaping its directory is refused before anything is written', async () => {
    const evilDir = join(tmp.dir, 'evil-registry');
    await mkdir(join(evilDir, 'archives'), { recursive: true });
    const victim = join(tmp.dir, 'victim');
    const bytes = rawTarGz([
      {
        path: 'plugin.yaml',
        type: '0',
        data: 'name: evil\nversion: 1.0.0\ndescription: x\nplugin_type: command\nmain: index.js\ncx_version: "*"\n',
      },
      { path: 'index.js', type: '0', data: 'export default { name: "evil" };\n' },
      { path: `../../../../../../../../..${victim}/passwd`, type: '0', data: 'owned\n' },
    ]);
    await writeFile(join(evilDir, 'archives', 'evil-1.0.0.tgz'), bytes);
    await writeFile(
      join(evilDir, 'index.yaml'),
      `api_version: 1\nplugins:\n  evil:\n    - version: 1.0.0\n      description: x\n      plugin_type: command\n      cx_version: "*"\n      permissions: []\n      archive: archives/evil-1.0.0.tgz\n      sha256: ${sha256(bytes)}\n`,
    );
    const u = await userWithRegistry('evil', evilDir);
    const r = await u.run(['plugins', 'install', 'evil', '-y']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `error[CX_ERR_ARCHIVE_UNSAFE]: ${evilDir}/archives/evil-1.0.0.tgz: entry '../../../../../../../../..${victim}/passwd' climbs out of the archive with '..'; the archive was refused and nothing was written.\nA plugin archive holds only plain files and directories inside it; rebuild it with: ${u.cx} plugins pack DIR\n`,
    );
    await expect(readdir(victim)).rejects.toThrow(/ENOENT/);
    await expect(readdir(u.installDir)).rejects.toThrow(/ENOENT/);
  });

  test('a remote index naming a local file as its archive is refused without reading it', async () => {
    const dir = join(tmp.dir, 'sneaky-registry');
    await mkdir(dir, { recursive: true });
    const secret = join(tmp.dir, 'secret.tgz');
    await writeFile(secret, 'top secret');
    await writeFile(
      join(dir, 'index.yaml'),
      `api_version: 1\nplugins:\n  sneaky:\n    - version: 1.0.0\n      description: x\n      plugin_type: command\n      cx_version: "*"\n      permissions: []\n      archive: file://${secret}\n      sha256: ${sha256('top secret')}\n`,
    );
    const sneaky = await serveDirectory(dir);
    try {
      const u = await userWithRegistry('sneaky', sneaky.url);
      const r = await u.run(['plugins', 'install', 'sneaky', '-y']);
      expect(r.exitCode).toBe(2); // CX_ERR_IO is bad input: exit 2
      expect(r.stderr).toBe(
        `error[CX_ERR_IO]: file://${secret}: cannot download the archive of 'sneaky' 1.0.0: the index at ${sneaky.url}index.yaml points at a local archive (file://${secret}); a remote registry may only name http(s) archives\n`,
      );
    } finally {
      await sneaky.close();
    }
  });

  test('grants wider than the request: the kernel refuses them and the previous version is put back', async () => {
    const dir = join(tmp.dir, 'perm-registry');
    await mkdir(dir, { recursive: true });
    for (const version of ['1.0.0', '2.0.0']) {
      const src = join(author.dir, `reader-${version}`);
      await mkdir(src, { recursive: true });
      await writeFile(
        join(src, 'plugin.yaml'),
        `name: reader\nversion: ${version}\ndescription: Reads the host name\nplugin_type: command\nmain: index.js\ncx_version: "*"\npermissions:\n  read: [/etc/hostname]\n`,
      );
      await writeFile(join(src, 'index.js'), `export default { name: 'reader', contributes: [] };\n`);
      expect(
        (await author.run(['plugins', 'pack', src, '--out', join(author.dir, `reader-${version}.tgz`)])).exitCode,
      ).toBe(0);
      expect((await author.run(['registry', 'publish', dir, join(author.dir, `reader-${version}.tgz`)])).exitCode).toBe(
        0,
      );
    }
    const fresh = await userWithRegistry('wider-fresh', dir);
    const refused = await fresh.run(['plugins', 'install', 'reader', '--grant', 'read:/etc']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(
      "error[CX_ERR_GRANT_WIDER]: grant 'read:/etc' for plugin 'reader' is not within what its manifest requests (read:/etc/hostname).",
    );
    expect(await readdir(fresh.installDir)).toEqual(['.store']);
    expect(await readdir(join(fresh.installDir, '.store'))).toEqual([]);
    await expect(readFile(join(fresh.dataDir, 'plugins.lock.json'))).rejects.toThrow(/ENOENT/);

    const u = await userWithRegistry('wider-update', dir);
    expect((await u.run(['plugins', 'install', 'reader@1.0.0', '--grant', 'read:/etc/hostname'])).exitCode).toBe(0);
    const link = await readlink(join(u.installDir, 'reader'));
    const r = await u.run(['plugins', 'install', 'reader@2.0.0', '--grant', 'read:/etc']);
    expect(r.exitCode).toBe(2);
    expect(await readlink(join(u.installDir, 'reader'))).toBe(link);
    expect(await readdir(join(u.installDir, '.store'))).toEqual([link.replace('.store/', '')]);
    const info = JSON.parse((await u.run(['plugins', 'info', 'reader', '--json'])).stdout);
    expect(info).toMatchObject({
      version: '1.0.0',
      installed_version: '1.0.0',
      grants: ['read:/etc/hostname'],
      signature_status: 'unsigned',
      modified_files: [],
    });
  });

  test('a registry plugin named like a built-in one is refused', async () => {
    const dir = join(tmp.dir, 'shadow-registry');
    const src = join(author.dir, 'shadow-doctor');
    await mkdir(src, { recursive: true });
    await writeFile(
      join(src, 'plugin.yaml'),
      'name: doctor\nversion: 9.0.0\ndescription: Not the real doctor\nplugin_type: command\nmain: index.js\ncx_version: "*"\n',
    );
    await writeFile(join(src, 'index.js'), `export default { name: 'doctor', contributes: [] };\n`);
    await mkdir(dir, { recursive: true });
    expect((await author.run(['plugins', 'pack', src, '--out', join(author.dir, 'shadow.tgz')])).exitCode).toBe(0);
    expect((await author.run(['registry', 'publish', dir, join(author.dir, 'shadow.tgz')])).exitCode).toBe(0);
    const u = await userWithRegistry('shadow', dir);
    const r = await u.run(['plugins', 'install', 'doctor', '-y']);
    expect(r).toMatchObject({
      exitCode: 2,
      stderr:
        "error[CX_ERR_USAGE]: a plugin named 'doctor' is already present (built in); an installed one of the same name would never load. Nothing was installed.\nTry: ask the publisher to rename the plugin\n",
    });
    await expect(readdir(u.installDir)).rejects.toThrow(/ENOENT/);
  });

  test('an install killed mid-download leaves the old version working; leftovers of a killed install are swept', async () => {
    const u = await userWithRegistry('killed');
    expect((await u.run(['plugins', 'install', 'hello@1.0.0'])).exitCode).toBe(0);
    expect((await u.run(['hello'])).stdout).toBe('hello from 1.0.0\n');
    const link = await readlink(join(u.installDir, 'hello'));

    server.slow = 16;
    const child = u.spawn(['plugins', 'install', 'hello@2.0.0', '-y']);
    const deadline = Date.now() + 20_000;
    while (!server.requests.includes('/archives/hello-2.0.0.tgz') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    const killed = await child;
    server.slow = undefined;
    expect(killed.signal).toBe('SIGKILL');
    expect(await readlink(join(u.installDir, 'hello'))).toBe(link);
    expect((await u.run(['hello'])).stdout).toBe('hello from 1.0.0\n');

    // What a kill between the writes would leave: a half-written store directory and a link not yet renamed.
    await mkdir(join(u.installDir, '.store', '.tmp-hello-999999-1'), { recursive: true });
    await writeFile(join(u.installDir, '.store', '.tmp-hello-999999-1', 'plugin.yaml'), 'name: hel');
    await symlink('.store/.tmp-hello-999999-1', join(u.installDir, '.hello.link-999999-1'));
    expect((await u.run(['hello'])).stdout).toBe('hello from 1.0.0\n');
    const r = await u.run(['plugins', 'install', 'hello@2.0.0']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await u.run(['hello'])).stdout).toBe('hello from 2.0.0\n');
    expect((await readdir(u.installDir)).sort()).toEqual(
      ['.install.lock', '.store', 'hello'].filter((n) => n !== '.install.lock'),
    );
    expect(await readdir(join(u.installDir, '.store'))).toEqual([
      (await readlink(join(u.installDir, 'hello'))).replace('.store/', ''),
    ]);
  });
});
