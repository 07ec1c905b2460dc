/**
 * Supply-chain rules at install (#14 items 17 and 22), through the real CLI on a local registry:
 * an update or a lock install never lowers a plugin's signature status without
 * --allow-weaker-signature; `require_signatures` (config.yaml, or a registry's entry) refuses
 * what is not trusted; `install NAME --lock FILE` installs what the lock says or refuses; a local
 * index cannot name a file outside its registry, its `size` is checked before hashing, and an
 * archive with two plugin.yaml is refused at publish.
 */
import { cp, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { builtSnapshot, makeHome, rawTarGz, tempDir, type BuiltSnapshot, type Home } from './harness.js';

const fixture = fileURLToPath(new URL('./fixtures/hello', import.meta.url));

let tmp: { dir: string; cleanup(): Promise<void> };
let build: BuiltSnapshot;
let author: Home;
let registryDir: string;
let publicKey: string;
let keyId: string;
/** A copy of a host's lock file from when hello 1.0.0 was installed trusted. */
let trustedLock: string;
/** The host that installs from that lock (hello 1.0.0 installed after its test). */
let other: Home;

/** Packs hello VERSION, signs it with the author's key when `signed`, and publishes it. */
async function publishHello(version: string, signed: boolean): Promise<void> {
  const dir = join(author.dir, `hello-${version}`);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'plugin.yaml'),
    (await readFile(join(fixture, 'plugin.yaml'), 'utf8')).replace('1.0.0', version),
  );
  await writeFile(
    join(dir, 'index.js'),
    (await readFile(join(fixture, 'index.js'), 'utf8')).replace('VERSION', version),
  );
  const archive = join(author.dir, `hello-${version}.tgz`);
  const steps = [
    ['plugins', 'pack', dir, '--out', archive],
    ...(signed ? [['plugins', 'sign', archive, '--key', join(author.dir, 'acme.key')]] : []),
    ['registry', 'publish', registryDir, archive],
  ];
  for (const step of steps) {
    const r = await author.run(step);
    expect(r.exitCode, r.stderr).toBe(0);
  }
}

async function host(name: string, config?: string): Promise<Home> {
  const h = await makeHome(tmp.dir, name, build);
  if (config !== undefined) {
    await mkdir(h.configDir, { recursive: true });
    await writeFile(join(h.configDir, 'config.yaml'), config);
  }
  return h;
}

const trusting = () => `plugins:\n  trusted_sources:\n    - name: acme\n      public_key: ${publicKey}\n`;

beforeAll(async () => {
  build = await builtSnapshot();
  tmp = await tempDir('cx-supply-chain-');
  author = await makeHome(tmp.dir, 'author', build);
  registryDir = join(tmp.dir, 'registry');
  await mkdir(registryDir);
  const keys = await author.run(['plugins', 'keygen', '--out', join(author.dir, 'acme'), '--json']);
  expect(keys.exitCode, keys.stderr).toBe(0);
  ({ public_key_base64: publicKey, key_id: keyId } = JSON.parse(keys.stdout));
  await publishHello('1.0.0', true);
});
afterAll(async () => {
  await tmp?.cleanup();
  await build?.cleanup();
});

test('an update to an unsigned build of a trusted plugin is refused unless --allow-weaker-signature', async () => {
  const user = await host('user', trusting());
  expect((await user.run(['registry', 'add', 'team', registryDir])).exitCode).toBe(0);
  const first = await user.run(['plugins', 'install', 'hello', '-y']);
  expect(first.stdout).toMatch(/^installed hello 1\.0\.0 from team: sandboxed, signature trusted/);
  trustedLock = join(tmp.dir, 'trusted.lock.json');
  await cp(join(user.dataDir, 'plugins.lock.json'), trustedLock);

  await publishHello('1.1.0', false);
  const refused = await user.run(['plugins', 'update', '-y']);
  expect(refused).toMatchObject({ exitCode: 3, stdout: '' });
  expect(refused.stderr).toBe(
    `error[CX_ERR_SIGNATURE_WEAKER]: 'hello' 1.1.0 would lower its signature status: trusted (signed by 'acme', key ${keyId}) -> unsigned (compared with hello 1.0.0 installed now). Nothing was installed; hello 1.0.0 stays installed and working.\nA build that lost its signature or changed keys may have been swapped: check with the publisher. If the change is expected, run: ${user.cx} plugins update hello --allow-weaker-signature\n`,
  );
  expect((await user.run(['hello'])).stdout).toBe('hello from 1.0.0\n');
  const allowed = await user.run(['plugins', 'update', '-y', '--allow-weaker-signature']);
  expect(allowed.exitCode, allowed.stderr).toBe(0);
  expect(allowed.stdout).toMatch(/^installed hello 1\.1\.0 \(was 1\.0\.0\) from team: sandboxed, signature unsigned/);
});

test('install --lock honours the lock: NAME must be listed, the signature may not fall below what it recorded', async () => {
  other = await host('other');
  const missing = await other.run(['plugins', 'install', 'nothere', '--lock', trustedLock]);
  expect(missing).toMatchObject({ exitCode: 2 });
  expect(missing.stderr).toMatch(
    /^error\[CX_ERR_USAGE\]: \S+trusted\.lock\.json does not list 'nothere'; nothing was installed\.\n/,
  );
  const range = await other.run(['plugins', 'install', 'hello@^2', '--lock', trustedLock]);
  expect(range.stderr).toMatch(/locks 'hello' at 1\.0\.0, which is not within '\^2'; nothing was installed\./);
  // This host does not trust acme: the lock says trusted, here it would be "unknown key".
  const weaker = await other.run(['plugins', 'install', 'hello', '--lock', trustedLock, '-y']);
  expect(weaker.exitCode).toBe(3);
  expect(weaker.stderr).toContain(
    `error[CX_ERR_SIGNATURE_WEAKER]: 'hello' 1.0.0 would lower its signature status: trusted (signed by 'acme', key ${keyId}) -> signed by an unknown key (${keyId}) (compared with the lock file ${trustedLock}).`,
  );
  await mkdir(other.configDir, { recursive: true });
  await writeFile(join(other.configDir, 'config.yaml'), trusting());
  const ok = await other.run(['plugins', 'install', 'hello', '--lock', trustedLock, '-y']);
  expect(ok.exitCode, ok.stderr).toBe(0);
  expect(ok.stdout).toMatch(/^installed hello 1\.0\.0 from team: sandboxed, signature trusted/);
});

test('what killed installs and updates left in the store (temp dirs and links, orphaned versions) is swept by the next run', async () => {
  const store = join(other.installDir, '.store');
  const current = await readlink(join(other.installDir, 'hello'));
  const leftovers = [
    join(store, 'hello@0.9.0-aaaaaaaaaaaa-x1'),
    join(store, 'hello@1.0.0-bbbbbbbbbbbb-x2'),
    join(store, '.tmp-hello-99999-1'),
  ];
  for (const d of leftovers) await mkdir(join(d, 'dist'), { recursive: true });
  await mkdir(join(store, 'hello-world@1.0.0-cccccccccccc-x3'));
  await symlink('.store/nowhere', join(other.installDir, '.hello.link-99999-1'));
  const again = await other.run(['plugins', 'install', 'hello', '--lock', trustedLock, '-y']);
  expect(again.exitCode, again.stderr).toBe(0);
  const now = await readlink(join(other.installDir, 'hello'));
  expect(now).not.toBe(current);
  expect((await readdir(store)).sort()).toEqual(
    [now.slice('.store/'.length), 'hello-world@1.0.0-cccccccccccc-x3'].sort(),
  );
  expect((await readdir(other.installDir)).sort()).toEqual(['.store', 'hello']);
});

test('require_signatures (config.yaml, or the registry entry) refuses archives not signed by a trusted key', async () => {
  const strict = await host('strict');
  expect((await strict.run(['registry', 'add', 'team', registryDir])).exitCode).toBe(0);
  const registries = join(strict.configDir, 'registries.yaml');
  await writeFile(
    registries,
    (await readFile(registries, 'utf8')).replace(/(\n\s+url: .*\n)/, '$1    require_signatures: true\n'),
  );
  const unsigned = await strict.run(['plugins', 'install', 'hello@1.1.0', '-y']);
  expect(unsigned.exitCode).toBe(3);
  expect(unsigned.stderr).toMatch(
    new RegExp(
      `^error\\[CX_ERR_SIGNATURE_REQUIRED\\]: 'hello' 1\\.1\\.0 is unsigned, and registry 'team' \\(require_signatures in ${registries}\\) requires archives signed by a key in plugins\\.trusted_sources\\. Nothing was installed\\.\\n`,
    ),
  );
  await writeFile(join(strict.configDir, 'config.yaml'), 'plugins:\n  require_signatures: true\n');
  const unknown = await strict.run(['plugins', 'install', 'hello@1.0.0', '-y']);
  expect(unknown.exitCode).toBe(3);
  expect(unknown.stderr).toContain(
    `'hello' 1.0.0 is signed by an unknown key (${keyId}), and plugins.require_signatures in ${join(strict.configDir, 'config.yaml')} requires`,
  );
  expect((await strict.run(['plugins', 'list', '--json'])).stdout).not.toContain('"hello"');
});

test('a local index cannot point outside its registry; size is checked; two plugin.yaml are refused at publish', async () => {
  const reg = join(tmp.dir, 'registry-2');
  await cp(registryDir, reg, { recursive: true });
  const index = join(reg, 'index.yaml');
  const text = await readFile(index, 'utf8');
  const u = await host('u17');
  expect((await u.run(['registry', 'add', 'two', reg])).exitCode).toBe(0);
  await writeFile(index, text.replace('archive: archives/hello-1.0.0.tgz', 'archive: ../../../../../etc/passwd'));
  const escape = await u.run(['plugins', 'install', 'hello@1.0.0', '-y', '--dry-run']);
  expect(escape.exitCode).toBe(2);
  expect(escape.stderr).toContain(
    `names the archive '../../../../../etc/passwd', which is outside the registry (${reg}); archives of a local registry are files under its directory`,
  );
  // A symlink inside the registry to a file elsewhere: refused where it leads, even with the right sha256.
  const outside = join(tmp.dir, 'elsewhere-hello.tgz');
  await rename(join(reg, 'archives/hello-1.0.0.tgz'), outside);
  await symlink(outside, join(reg, 'archives/hello-1.0.0.tgz'));
  await writeFile(index, text);
  const viaLink = await u.run(['plugins', 'install', 'hello@1.0.0', '-y', '--dry-run']);
  expect(viaLink.exitCode).toBe(2);
  expect(viaLink.stderr).toContain(
    `names the archive '${join(reg, 'archives/hello-1.0.0.tgz')}', which leads outside the registry (to ${outside}, through a symbolic link)`,
  );
  await rm(join(reg, 'archives/hello-1.0.0.tgz'));
  await rename(outside, join(reg, 'archives/hello-1.0.0.tgz'));
  // 1.0.0's size (1.1.0 is listed first).
  const entry = /(archive: archives\/hello-1\.0\.0\.tgz\n\s+sha256: \w+\n\s+size: )(\d+)/;
  const size = Number(entry.exec(text)![2]);
  const withSize = (n: number) => text.replace(entry, `$1${n}`);
  await writeFile(index, withSize(size - 1));
  const short = await u.run(['plugins', 'install', 'hello@1.0.0', '-y', '--dry-run']);
  expect(short.exitCode).toBe(2);
  expect(short.stderr).toMatch(
    /error\[CX_ERR_IO\]: \S+hello-1\.0\.0\.tgz: cannot download the archive of 'hello' 1\.0\.0: /,
  );
  await writeFile(index, withSize(size + 1));
  const long = await u.run(['plugins', 'install', 'hello@1.0.0', '-y', '--dry-run']);
  expect(long.exitCode).toBe(2);
  expect(long.stderr).toContain(
    `hello-1.0.0.tgz: is ${size} bytes, but the index of registry 'two' (${index}) says ${size + 1}`,
  );

  const twice = join(tmp.dir, 'twice.tgz');
  const manifest = await readFile(join(fixture, 'plugin.yaml'), 'utf8');
  await writeFile(
    twice,
    rawTarGz([
      { path: 'plugin.yaml', type: '0', data: manifest },
      { path: 'index.js', type: '0', data: 'export default {}' },
      { path: './plugin.yaml', type: '0', data: manifest.replace('tier: sandboxed', 'tier: trusted') },
    ]),
  );
  const pub = await author.run(['registry', 'publish', reg, twice]);
  expect(pub.exitCode).toBe(2);
  expect(pub.stderr).toMatch(
    /^error\[CX_ERR_ARCHIVE_UNSAFE\]: \S+twice\.tgz: entry '\.\/plugin\.yaml' is in the archive twice/,
  );
});
