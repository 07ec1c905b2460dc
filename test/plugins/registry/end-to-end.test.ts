/**
 * The whole path over a real HTTP server on 127.0.0.1: an author creates, tests (SDK harness),
 * packs, signs and publishes a check plugin; a user adds the registry, searches, installs with a
 * range, grants, and sees the check in `doctor --json`. Then the attacks: a tampered archive, an
 * index whose hash does not match, an untrusted signing key.
 */
import { cp, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';
import { parse } from 'yaml';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';
import { createOsTypePlugin, release, writeVersion } from './author.js';
import {
  builtSnapshot,
  makeHome,
  type BuiltSnapshot,
  serveDirectory,
  tempDir,
  type Home,
  type StaticServer,
} from './harness.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let build: BuiltSnapshot;
let author: Home;
let user: Home;
let server: StaticServer;
let registryDir: string;
let pluginDir: string;
let publicKey: string;

beforeAll(async () => {
  build = await builtSnapshot();
  tmp = await tempDir('cx-e2e-');
  author = await makeHome(tmp.dir, 'author', build);
  user = await makeHome(tmp.dir, 'user', build);
  registryDir = join(tmp.dir, 'registry');
  await (await import('node:fs/promises')).mkdir(registryDir);
  server = await serveDirectory(registryDir);
});
afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
  await build?.cleanup();
});

async function doctor(home: Home) {
  const r = await home.run(['doctor', '--json', '--check', 'os_type']);
  return { ...r, report: r.stdout ? JSON.parse(r.stdout) : undefined };
}

describe.sequential('author -> registry over HTTP -> user', () => {
  test('the author creates the plugin and tests it with the SDK harness', async () => {
    pluginDir = await createOsTypePlugin(author);
    const plugin = await startPlugin(pluginDir, {
      grants: ['read:/proc/sys/kernel/ostype'],
      fakes: { fs: { readFile: async () => 'Linux\n' } },
    });
    try {
      expect(await plugin.check('os_type')).toMatchObject({
        check_id: 'os_type',
        status: 'PASS',
        message: 'os type is Linux',
        details: { type: 'Linux' },
      });
    } finally {
      await plugin.close();
    }
  });

  test('the author makes a key pair, packs, signs and publishes 0.1.0; publishing it again is refused', async () => {
    const keygen = await author.run(['plugins', 'keygen', '--out', join(author.dir, 'acme'), '--json']);
    expect(keygen.exitCode, keygen.stderr).toBe(0);
    const k = JSON.parse(keygen.stdout);
    publicKey = k.public_key_base64;
    const { stat } = await import('node:fs/promises');
    expect((await stat(k.private_key)).mode & 0o777).toBe(0o600);
    const archive = await release(author, pluginDir, registryDir, k.private_key, '0.1.0');
    const again = await author.run(['registry', 'publish', registryDir, archive]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toBe(
      `error[CX_ERR_VERSION_EXISTS]: os-type 0.1.0 is already published in ${registryDir}/index.yaml; nothing was changed.\nA published version never changes: raise 'version' in plugin.yaml, then pack, sign and publish again.\n`,
    );
  });

  test('the user adds the registry, searches, and sees it in plugins list --available', async () => {
    expect(await user.run(['registry', 'add', 'team', server.url])).toEqual({
      exitCode: 0,
      stdout: `added registry team (${server.url}index.yaml): 1 plugin\nNext: ${user.cx} plugins search TEXT\n`,
      stderr: '',
    });
    const search = await user.run(['plugins', 'search', 'linux', '--json']);
    expect(search.exitCode, search.stderr).toBe(0);
    assertMatchesSchema('plugins-search-result', JSON.parse(search.stdout));
    assertMatchesSchema('registry-index', parse(await readFile(join(registryDir, 'index.yaml'), 'utf8')));
    expect(JSON.parse(search.stdout)).toEqual([
      {
        name: 'os-type',
        version: '0.1.0',
        registry: 'team',
        description: 'Reports the operating system type (passes on Linux)',
        plugin_type: 'check',
        versions: ['0.1.0'],
        works_with_this_kernel: true,
        signed: true,
        permissions: ['read:/proc/sys/kernel/ostype'],
      },
    ]);
    const avail = await user.run(['plugins', 'list', '--available', '--json']);
    expect(JSON.parse(avail.stdout).available).toEqual([
      {
        name: 'os-type',
        version: '0.1.0',
        registry: 'team',
        description: 'Reports the operating system type (passes on Linux)',
        plugin_type: 'check',
        signed: true,
      },
    ]);
  });

  test('install with a range: permissions are shown; without a terminal or --grant nothing is installed', async () => {
    const r = await user.run(['plugins', 'install', 'os-type@^0.1']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('It requests these permissions:\n  - read:/proc/sys/kernel/ostype\n');
    expect(r.stderr).toContain(
      `error[CX_ERR_USAGE]: plugin 'os-type' requests permissions and there is no terminal to ask; nothing was installed.\nTry: ${user.cx} plugins install os-type@'^0.1' --grant 'read:/proc/sys/kernel/ostype'`,
    );
    await expect(readlink(join(user.installDir, 'os-type'))).rejects.toThrow(/ENOENT/);
  });

  test('install with --grant: sandboxed, signed by an unknown key, enabled; doctor --json shows the check', async () => {
    const r = await user.run(['plugins', 'install', 'os-type@^0.1', '--grant', 'read:/proc/sys/kernel/ostype']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^installed os-type 0\.1\.0 from team: sandboxed, signature signed by an unknown key \([0-9a-f]{16}\), grants: read:\/proc\/sys\/kernel\/ostype\n$/,
    );
    const d = await doctor(user);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.report.results).toEqual([
      expect.objectContaining({
        check_id: 'os_type',
        status: 'PASS',
        message: 'os type is Linux',
        details: { type: 'Linux' },
      }),
    ]);
    expect(d.report.checks.os_type).toMatchObject({ plugin: 'os-type', tier: 'sandboxed' });
    const info = JSON.parse((await user.run(['plugins', 'info', 'os-type', '--json'])).stdout);
    expect(info).toMatchObject({
      name: 'os-type',
      version: '0.1.0',
      tier: 'sandboxed',
      enabled: true,
      grants: ['read:/proc/sys/kernel/ostype'],
      signature_status: 'unknown-key',
      installed_from: 'team',
      modified_files: [],
    });
    const lock = JSON.parse(await readFile(join(user.dataDir, 'plugins.lock.json'), 'utf8'));
    expect(Object.keys(lock.plugins['os-type'].files)).toEqual(['README.md', 'dist/index.js', 'plugin.yaml']);
  });

  test('with the publisher key in trusted_sources the status is trusted; --trusted needs a manifest asking for it', async () => {
    await writeFile(
      join(user.configDir, 'config.yaml'),
      `plugins:\n  trusted_sources:\n    - name: acme\n      public_key: ${publicKey}\n`,
    );
    const again = await user.run([
      'plugins',
      'install',
      'os-type',
      '--grant',
      'read:/proc/sys/kernel/ostype',
      '--json',
    ]);
    expect(again.exitCode, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout);
    assertMatchesSchema('plugins-install-result', result);
    expect(result).toEqual([
      {
        name: 'os-type',
        version: '0.1.0',
        previous: '0.1.0',
        registry: 'team',
        tier: 'sandboxed',
        signature: { status: 'trusted', key_id: expect.stringMatching(/^[0-9a-f]{16}$/), source: 'acme' },
        grants: ['read:/proc/sys/kernel/ostype'],
        requested: ['read:/proc/sys/kernel/ostype'],
        grants_pending: false,
        dir: join(user.installDir, 'os-type'),
        installed: true,
        dry_run: false,
      },
    ]);
    assertMatchesSchema('plugins-lock', JSON.parse(await readFile(join(user.dataDir, 'plugins.lock.json'), 'utf8')));
    expect(JSON.parse((await user.run(['plugins', 'info', 'os-type', '--json'])).stdout)).toMatchObject({
      signature_status: 'trusted',
    });
    // The status follows trusted_sources as it is now, not as it was at install.
    const config = await readFile(join(user.configDir, 'config.yaml'), 'utf8');
    await writeFile(join(user.configDir, 'config.yaml'), 'plugins:\n  trusted_sources: []\n');
    const untrusted = JSON.parse((await user.run(['plugins', 'info', 'os-type', '--json'])).stdout);
    expect(untrusted).toMatchObject({ signature_status: 'unknown-key', status_at_install: 'trusted' });
    expect(untrusted.signature).toBe(
      `signed by an unknown key (${result[0].signature.key_id}) (trusted at install as 'acme'; that key is no longer in plugins.trusted_sources)`,
    );
    await writeFile(join(user.configDir, 'config.yaml'), config);
    expect(JSON.parse((await user.run(['plugins', 'info', 'os-type', '--json'])).stdout)).toMatchObject({
      signature_status: 'trusted',
      signature: `trusted (signed by 'acme', key ${result[0].signature.key_id})`,
    });
    const trusted = await user.run(['plugins', 'install', 'os-type', '--trusted']);
    expect(trusted.exitCode).toBe(2);
    expect(trusted.stderr).toContain(
      "error[CX_ERR_USAGE]: 'os-type' 0.1.0 asks to run sandboxed (its plugin.yaml has no 'tier: trusted'); nothing was installed.",
    );
  });

  test('a file changed on disk makes plugins info say modified; installing again restores it', async () => {
    const file = join(user.installDir, 'os-type', 'README.md');
    const before = await readFile(file, 'utf8');
    await writeFile(file, `${before}edited\n`);
    const info = JSON.parse((await user.run(['plugins', 'info', 'os-type', '--json'])).stdout);
    expect(info).toMatchObject({ signature_status: 'modified', modified_files: ['README.md'] });
    expect(info.signature).toMatch(/^modified \(README\.md changed since install; was trusted/);
    expect(
      (await user.run(['plugins', 'install', 'os-type', '--grant', 'read:/proc/sys/kernel/ostype'])).exitCode,
    ).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(JSON.parse((await user.run(['plugins', 'info', 'os-type', '--json'])).stdout)).toMatchObject({
      signature_status: 'trusted',
      modified_files: [],
    });
  });

  test('the author publishes 0.2.0; plugins update installs it keeping the grants', async () => {
    await writeVersion(pluginDir, '0.2.0', 'kernel reports');
    await release(author, pluginDir, registryDir, join(author.dir, 'acme.key'), '0.2.0');
    const old = await readlink(join(user.installDir, 'os-type'));
    const up = await user.run(['plugins', 'update']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^installed os-type 0\.2\.0 \(was 0\.1\.0\) from team: sandboxed, signature trusted/);
    expect(await readlink(join(user.installDir, 'os-type'))).not.toBe(old);
    await expect(readFile(join(user.installDir, old, 'plugin.yaml'))).rejects.toThrow(/ENOENT/);
    expect((await doctor(user)).report.results[0]).toMatchObject({ status: 'PASS', message: 'kernel reports Linux' });
    expect((await user.run(['plugins', 'update'])).stdout).toBe('os-type 0.2.0 is up to date\n');
  });

  test('a tampered archive is refused and 0.2.0 keeps working', async () => {
    await writeVersion(pluginDir, '0.3.0', 'tampered');
    const archive = await release(author, pluginDir, registryDir, join(author.dir, 'acme.key'), '0.3.0');
    const published = join(registryDir, 'archives', 'os-type-0.3.0.tgz');
    const bytes = await readFile(published);
    bytes[bytes.length - 9] ^= 0xff; // the gzip trailer: the archive is no longer what was signed and indexed
    await writeFile(published, bytes);
    const r = await user.run(['plugins', 'install', 'os-type@0.3.0', '-y']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error\\[CX_ERR_CHECKSUM_MISMATCH\\]: the archive of 'os-type' 0\\.3\\.0 \\(${server.url}archives/os-type-0\\.3\\.0\\.tgz\\) has sha256 [0-9a-f]{64}, but the index of registry 'team' \\(${server.url}index\\.yaml\\) says [0-9a-f]{64}\\. Nothing was installed; os-type 0\\.2\\.0 stays installed and working\\.\\n`,
      ),
    );
    expect((await doctor(user)).report.results[0]).toMatchObject({ status: 'PASS', message: 'kernel reports Linux' });
    await cp(archive, published); // restore for the next test
  });

  test('an index whose sha256 matches a swapped archive is caught by the signature', async () => {
    const index = join(registryDir, 'index.yaml');
    const text = await readFile(index, 'utf8');
    const published = join(registryDir, 'archives', 'os-type-0.3.0.tgz');
    const original = await readFile(published);
    // The attacker swaps in the 0.2.0 bytes' look-alike: a different archive, with the index's hash updated to match.
    await writeVersion(pluginDir, '0.3.0', 'evil');
    const evil = await author.run(['plugins', 'pack', pluginDir, '--out', join(author.dir, 'evil.tgz'), '--json']);
    const evilSha = JSON.parse(evil.stdout).sha256 as string;
    await cp(join(author.dir, 'evil.tgz'), published);
    const { createHash } = await import('node:crypto');
    const goodSha = createHash('sha256').update(original).digest('hex');
    const evilSize = (await readFile(join(author.dir, 'evil.tgz'))).length;
    const sizeOf = new RegExp(`(sha256: )${goodSha}(\\n\\s+size: )\\d+`);
    await writeFile(index, text.replace(sizeOf, `$1${evilSha}$2${evilSize}`));
    const r = await user.run(['plugins', 'install', 'os-type@0.3.0', '-y']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /^error\[CX_ERR_SIGNATURE_INVALID\]: the signature of 'os-type' 0\.3\.0 does not match its archive \(key [0-9a-f]{16}\)\. Nothing was installed; os-type 0\.2\.0 stays installed and working\.\n/,
    );
    // And an index whose hash does not match the real archive (its size does):
    await writeFile(published, original);
    await writeFile(index, text.replace(goodSha, evilSha));
    const r2 = await user.run(['plugins', 'install', 'os-type@0.3.0', '-y']);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toContain(
      `has sha256 ${goodSha}, but the index of registry 'team' (${server.url}index.yaml) says ${evilSha}.`,
    );
    await writeFile(index, text);
    expect(JSON.parse((await user.run(['plugins', 'info', 'os-type', '--json'])).stdout)).toMatchObject({
      version: '0.2.0',
      signature_status: 'trusted',
    });
  });

  test('an archive signed by an untrusted key installs sandboxed as "unknown key"; --trusted is refused', async () => {
    const keygen = await author.run(['plugins', 'keygen', '--out', join(author.dir, 'mallory')]);
    expect(keygen.exitCode).toBe(0);
    await writeVersion(pluginDir, '0.4.0', 'mallory says');
    await writeFile(
      join(pluginDir, 'plugin.yaml'),
      (await readFile(join(pluginDir, 'plugin.yaml'), 'utf8')).replace('tier: sandboxed', 'tier: trusted'),
    );
    await release(author, pluginDir, registryDir, join(author.dir, 'mallory.key'), '0.4.0');
    const refused = await user.run(['plugins', 'install', 'os-type@0.4.0', '--trusted']);
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toMatch(
      /^error\[CX_ERR_NOT_TRUSTED\]: 'os-type' 0\.4\.0 cannot be installed in the trusted tier: it is signed by an unknown key \([0-9a-f]{16}\)\. Nothing was installed\.\nInstall it sandboxed \(without --trusted\), or add its publisher's public key to plugins\.trusted_sources in /,
    );
    // 0.2.0 is trusted here: an unknown key is a weaker signature, refused without the explicit flag.
    const weaker = await user.run(['plugins', 'install', 'os-type@0.4.0', '-y']);
    expect(weaker.exitCode).toBe(3);
    expect(weaker.stderr).toMatch(
      /^error\[CX_ERR_SIGNATURE_WEAKER\]: 'os-type' 0\.4\.0 would lower its signature status: trusted \(signed by 'acme', key [0-9a-f]{16}\) -> signed by an unknown key \([0-9a-f]{16}\) \(compared with os-type 0\.2\.0 installed now\)\. Nothing was installed; os-type 0\.2\.0 stays installed and working\.\n/,
    );
    const sandboxed = await user.run(['plugins', 'install', 'os-type@0.4.0', '-y', '--allow-weaker-signature']);
    expect(sandboxed.exitCode, sandboxed.stderr).toBe(0);
    expect(sandboxed.stdout).toMatch(
      /^installed os-type 0\.4\.0 \(was 0\.2\.0\) from team: sandboxed, signature signed by an unknown key/,
    );
    const d = await doctor(user);
    expect(d.report.results[0]).toMatchObject({ status: 'PASS', message: 'mallory says Linux' });
    expect(d.report.checks.os_type).toMatchObject({ tier: 'sandboxed' });
  });

  test('the lock file repeats the install on another host; remove takes it away', async () => {
    const other = await makeHome(tmp.dir, 'other-host', build);
    const lock = join(other.dir, 'plugins.lock.json');
    await cp(join(user.dataDir, 'plugins.lock.json'), lock);
    const r = await other.run(['plugins', 'install', '--lock', lock]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^installed os-type 0\.4\.0 from team: sandboxed, signature signed by an unknown key \([0-9a-f]{16}\), grants: read:\/proc\/sys\/kernel\/ostype\n$/,
    );
    expect((await doctor(other)).report.results[0]).toMatchObject({ message: 'mallory says Linux' });
    const rm = await user.run(['plugins', 'remove', 'os-type']);
    expect(rm).toMatchObject({ exitCode: 0, stdout: 'removed os-type 0.4.0\n' });
    await expect(readlink(join(user.installDir, 'os-type'))).rejects.toThrow(/ENOENT/);
    const d = await doctor(user);
    expect(d.exitCode).toBe(3); // a --check naming no check is UNKNOWN in Nagios terms
    // Under --json the error is the JSON object on stdout.
    expect(d.report.error).toMatchObject({
      code: 'CX_ERR_CONTRIBUTION_UNKNOWN',
      exit: 3,
      message: expect.stringContaining("no check 'os_type'"),
    });
    const journal = (await readFile(join(user.dataDir, 'plugin-state', 'registry', 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(journal.every((j) => j.plugin === 'registry' && typeof j.ts === 'string')).toBe(true);
    expect(
      journal.map((j) => [j.action, j.name ?? j.registry, j.version ?? null, j.previous ?? null, j.signature ?? null]),
    ).toEqual([
      ['registry-add', 'team', null, null, null],
      ['install', 'os-type', '0.1.0', null, 'unknown-key'],
      ['install', 'os-type', '0.1.0', '0.1.0', 'trusted'],
      ['install', 'os-type', '0.1.0', '0.1.0', 'trusted'],
      ['install', 'os-type', '0.2.0', '0.1.0', 'trusted'],
      ['install', 'os-type', '0.4.0', '0.2.0', 'unknown-key'],
      ['remove', 'os-type', '0.4.0', null, null],
    ]);
    expect(journal[1]).toMatchObject({
      registry: 'team',
      url: `${server.url}archives/os-type-0.1.0.tgz`,
      tier: 'sandboxed',
      grants: ['read:/proc/sys/kernel/ostype'],
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });
  test('a trusted-tier plugin signed by a trusted source installs --trusted and runs in-process', async () => {
    await writeVersion(pluginDir, '0.5.0', 'trusted says');
    await writeFile(
      join(pluginDir, 'plugin.yaml'),
      (await readFile(join(pluginDir, 'plugin.yaml'), 'utf8')).replace('tier: sandboxed', 'tier: trusted'),
    );
    await release(author, pluginDir, registryDir, join(author.dir, 'acme.key'), '0.5.0');
    const r = await user.run(['plugins', 'install', 'os-type@0.5.0', '--trusted', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({
      version: '0.5.0',
      tier: 'trusted',
      grants: [],
      signature: { status: 'trusted', source: 'acme' },
    });
    const d = await doctor(user);
    expect(d.report.results[0]).toMatchObject({ status: 'PASS', message: 'trusted says Linux' });
    expect(d.report.checks.os_type).toMatchObject({ plugin: 'os-type', tier: 'trusted' });
  });
});
