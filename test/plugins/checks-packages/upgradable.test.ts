/**
 * security_updates computes the upgradable packages from the package lists and the dpkg status
 * instead of starting apt. These tests hold it to apt's own answer: the same temp root (real
 * dpkg database, real `apt-get update` from local repositories) is asked both ways, and every
 * host setting that changes apt's policy must send the check back to apt.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAptUpgradable, type UpgradableLine } from '../../../plugins-builtin/checks-packages/apt-parse.js';
import { upgradableFromLists } from '../../../plugins-builtin/checks-packages/apt-upgradable.js';
import { compareDebVersions } from '../../../plugins-builtin/checks-packages/deb-version.js';
import { createAptWorld, type AptWorld } from '../../helpers/apt-root.js';
import { testContext } from '../../helpers/test-context.js';

let world: AptWorld;

beforeAll(() => {
  world = createAptWorld();
});
afterAll(() => {
  rmSync(world.base, { recursive: true, force: true });
});

function fromApt(): UpgradableLine[] {
  const r = spawnSync('apt', ['list', '--upgradable', '-o', `Dir=${world.root}`], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
  });
  expect(r.status).toBe(0);
  return parseAptUpgradable(r.stdout);
}

async function fromLists() {
  const { ctx } = testContext('checks-packages', 'all', undefined, { root: world.root });
  // The per-list cache goes under the test's world, not the helper's placeholder directory.
  return upgradableFromLists({ ...ctx, env: { ...ctx.env, cacheDir: join(world.base, 'cache') } });
}

const key = (l: UpgradableLine) => ({ ...l, suites: [...l.suites].sort() });

async function expectSameAsApt(): Promise<UpgradableLine[]> {
  const ours = await fromLists();
  if (!ours.ok) throw new Error(`fell back to apt: ${ours.fallback}`);
  const apt = fromApt();
  expect(ours.lines.map(key)).toEqual(apt.map(key));
  return ours.lines;
}

const listsDir = () => join(world.root, 'var/lib/apt/lists');
/** Makes the lists look freshly updated (newer than any edit of the sources). */
const touchLists = () => {
  const later = new Date(Date.now() + 5_000);
  utimesSync(listsDir(), later, later);
};

describe('upgradable packages from the lists, against apt list --upgradable on the same root', () => {
  test('nothing installed, then old versions installed: security and regular updates, suites, arch all', async () => {
    expect(await expectSameAsApt()).toEqual([]);
    world.dpkg(['-i', world.debs.demo1!, world.debs.tool1!, world.debs.lib1!, world.debs.local09!]);
    const lines = await expectSameAsApt();
    expect(lines.map((l) => [l.name, l.current, l.candidate, l.suites.join(','), l.security, l.arch])).toEqual([
      ['cx-demo', '1.0', '2.0', 'stable-security', true, 'all'],
      ['cx-local', '0.9', '1.0', 'stable', false, 'all'],
      ['cx-tool', '1.0', '1.1', 'stable', false, 'all'],
    ]);
  });

  test('a held package is still listed, as apt lists it; lists stored lz4- or gzip-compressed read the same', async () => {
    execFileSync('dpkg', [`--admindir=${world.root}/var/lib/dpkg`, '--set-selections'], { input: 'cx-tool hold\n' });
    await expectSameAsApt();
    // apt stored the lists lz4-compressed (the host's apt settings); store them as gzip instead.
    const lz4 = readdirSync(listsDir()).filter((n) => n.endsWith('_Packages.lz4'));
    expect(lz4).toHaveLength(2);
    for (const f of lz4) {
      const plain = execFileSync('/usr/lib/apt/apt-helper', ['cat-file', join(listsDir(), f)]);
      writeFileSync(join(listsDir(), f.replace(/\.lz4$/, '.gz')), gzipSync(plain));
      rmSync(join(listsDir(), f));
    }
    expect((await expectSameAsApt()).map((l) => l.name)).toEqual(['cx-demo', 'cx-local', 'cx-tool']);
  });

  test('pins on packages that are not installed, or by an origin no list comes from, change nothing', async () => {
    writeFileSync(
      join(world.root, 'etc/apt/preferences.d/other'),
      'Package: cx-app\nPin: release a=stable\nPin-Priority: 1001\n\n# a comment\nPackage: cx-demo\nPin: origin deb.nodesource.example\nPin-Priority: 600\n',
    );
    await expectSameAsApt();
  });

  test('settings that change what apt would pick send the check back to apt', async () => {
    const pin = join(world.root, 'etc/apt/preferences.d/hold-demo');
    writeFileSync(pin, 'Package: cx-demo\nPin: version 1.0\nPin-Priority: 1001\n');
    expect(await fromLists()).toEqual({ ok: false, fallback: `${pin} pins packages apt could upgrade` });
    expect(fromApt().map((l) => l.name)).toEqual(['cx-local', 'cx-tool']);
    rmSync(pin);

    const conf = join(world.root, 'etc/apt/apt.conf.d/99release');
    writeFileSync(conf, 'APT::Default-Release "stable";\n');
    expect(await fromLists()).toEqual({ ok: false, fallback: `${conf} changes apt's policy or paths` });
    rmSync(conf);

    const release = readdirSync(listsDir()).find((n) => n.includes('security') && n.endsWith('Release'))!;
    const before = execFileSync('cat', [join(listsDir(), release)]);
    appendFileSync(join(listsDir(), release), 'NotAutomatic: yes\n');
    expect(await fromLists()).toMatchObject({
      ok: false,
      fallback: expect.stringMatching(/is a NotAutomatic archive/),
    });
    writeFileSync(join(listsDir(), release), before);

    appendFileSync(join(world.root, 'etc/apt/sources.list'), '# edited\n');
    expect(await fromLists()).toEqual({
      ok: false,
      fallback: `${join(world.root, 'etc/apt/sources.list')} changed after the last apt update`,
    });
    touchLists();
    await expectSameAsApt();
  });

  test('everything up to date: nothing upgradable, as apt says', async () => {
    world.dpkg(['-i', world.debs.demo2!, world.debs.tool11!, world.debs.local10!]);
    expect(await expectSameAsApt()).toEqual([]);
  });
});

describe('Debian version order', () => {
  // Pairs around every rule of deb-version(7): epochs, revisions, ~, letters before other
  // characters, leading zeros, digit runs of different lengths.
  const VERSIONS = [
    '1.0',
    '1.0-1',
    '1.0-0',
    '1:0.9',
    '0:1.0',
    '1.0~rc1',
    '1.0~rc1-1',
    '1.0~~',
    '1.0~',
    '1.0+b1',
    '1.0a',
    '1.0.1',
    '1.00',
    '1.0-1ubuntu1',
    '1.0-1+deb12u1',
    '1.0-1~bpo12+1',
    '2.6.1',
    '2.6.10',
    '2.6.2',
    '20230311+deb12u1',
    '20250419~deb12u2',
    '1.2.3-4.5',
    '1a',
    '1-a',
    '1.0-1.1',
    '7.88.1-10+deb12u14',
    '7.88.1-10+deb12u8',
    '2:1.0',
    '10',
    '9',
    '1.0+dfsg',
    '0',
    '1:1.0-1~',
    '1.0-1~',
  ];
  test('agrees with dpkg --compare-versions on every pair', () => {
    const mismatches: string[] = [];
    for (const a of VERSIONS) {
      for (const b of VERSIONS) {
        if (a >= b) continue;
        const ours = compareDebVersions(a, b);
        const lt = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
        const eq = !lt && spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0;
        const dpkg = lt ? -1 : eq ? 0 : 1;
        if (Math.sign(ours) !== dpkg) mismatches.push(`${a} vs ${b}: dpkg ${dpkg}, ours ${ours}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
