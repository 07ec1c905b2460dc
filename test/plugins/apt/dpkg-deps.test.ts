import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dependencySuspects } from '../../../plugins-builtin/apt/dpkg-deps.js';
import { aptOptions } from '../../helpers/apt-root.js';

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

/** A status stanza: name, version, then extra fields (Status defaults to installed, Architecture to amd64). */
function pkg(name: string, version: string, extra: Record<string, string> = {}): string {
  const f = { Status: 'install ok installed', Architecture: 'amd64', ...extra };
  return [`Package: ${name}`, ...Object.entries(f).map(([k, v]) => `${k}: ${v}`), `Version: ${version}`].join('\n');
}
const status = (...stanzas: string[]) => `${stanzas.join('\n\n')}\n\n`;
const DPKG = pkg('dpkg', '1.21.22');

/** Real `apt-get check` over a root holding only this status file (no lists): true when it passes. */
function aptCheckPasses(text: string): boolean {
  const root = mkdtempSync(join(tmpdir(), 'cx-deps-'));
  cleanup.push(root);
  for (const d of [
    'etc/apt/apt.conf.d',
    'var/lib/dpkg/updates',
    'var/lib/apt/lists/partial',
    'var/cache/apt/archives/partial',
  ])
    mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/apt/sources.list'), '');
  writeFileSync(join(root, 'var/lib/dpkg/status'), text);
  const r = spawnSync('apt-get', [...aptOptions(root), 'check', '-q'], { env: { ...process.env, LC_ALL: 'C' } });
  return r.status === 0;
}

// Each scenario: a status file and whether apt-get check finds it broken. The test holds our
// verdict and real apt's side by side, so a rule that misses a broken dependency fails here.
const SCENARIOS: Array<[string, string, boolean]> = [
  ['a met versioned Depends', status(DPKG, pkg('a', '1', { Depends: 'b (>= 2)' }), pkg('b', '2.0')), false],
  ['an unmet versioned Depends', status(DPKG, pkg('a', '1', { Depends: 'b (>= 2)' }), pkg('b', '1.5')), true],
  ['a missing Depends', status(DPKG, pkg('a', '1', { Depends: 'libc6, b' }), pkg('libc6', '2.36')), true],
  ['a missing Pre-Depends', status(DPKG, pkg('a', '1', { 'Pre-Depends': 'b' })), true],
  ['<< with an epoch', status(DPKG, pkg('a', '1', { Depends: 'b (<< 1:0)' }), pkg('b', '2.0')), false],
  ['<< with an epoch, unmet', status(DPKG, pkg('a', '1', { Depends: 'b (<< 2.0)' }), pkg('b', '1:1.0')), true],
  ['= with a tilde', status(DPKG, pkg('a', '1', { Depends: 'b (= 1.0~rc1-1)' }), pkg('b', '1.0~rc1-1')), false],
  ['>> a tilde release', status(DPKG, pkg('a', '1', { Depends: 'b (>> 1.0)' }), pkg('b', '1.0~rc1')), true],
  [
    '>= with +deb12u',
    status(DPKG, pkg('a', '1', { Depends: 'b (>= 7.88.1-10+deb12u8)' }), pkg('b', '7.88.1-10+deb12u14')),
    false,
  ],
  ['an alternative met by its second', status(DPKG, pkg('a', '1', { Depends: 'x | b (>= 1)' }), pkg('b', '1')), false],
  ['no alternative met', status(DPKG, pkg('a', '1', { Depends: 'x | b (>= 2)' }), pkg('b', '1')), true],
  [
    'an unversioned Provides',
    status(DPKG, pkg('a', '1', { Depends: 'mta' }), pkg('exim', '4', { Provides: 'mta' })),
    false,
  ],
  [
    'a versioned Depends on an unversioned Provides',
    status(DPKG, pkg('a', '1', { Depends: 'mta (>= 1)' }), pkg('exim', '4', { Provides: 'mta' })),
    true,
  ],
  [
    'a versioned Provides',
    status(DPKG, pkg('a', '1', { Depends: 'mta (>= 1)' }), pkg('exim', '4', { Provides: 'mta (= 2)' })),
    false,
  ],
  [
    'a versioned Provides too old',
    status(DPKG, pkg('a', '1', { Depends: 'mta (>= 3)' }), pkg('exim', '4', { Provides: 'foo, mta (= 2)' })),
    true,
  ],
  ['a Conflicts with an installed package', status(DPKG, pkg('a', '1', { Conflicts: 'b' }), pkg('b', '1')), true],
  ['a versioned Conflicts not matching', status(DPKG, pkg('a', '1', { Conflicts: 'b (<< 1)' }), pkg('b', '1')), false],
  ['a Breaks matching', status(DPKG, pkg('a', '1', { Breaks: 'b (<< 2)' }), pkg('b', '1')), true],
  [
    'a Conflicts on a virtual another package provides',
    status(DPKG, pkg('a', '1', { Conflicts: 'mta' }), pkg('exim', '4', { Provides: 'mta' })),
    true,
  ],
  [
    'Provides + Conflicts of the same virtual (the one-provider idiom)',
    status(DPKG, pkg('a', '1', { Provides: 'mta', Conflicts: 'mta' })),
    false,
  ],
  [
    'a Conflicts with a config-files package',
    status(DPKG, pkg('a', '1', { Conflicts: 'b' }), pkg('b', '1', { Status: 'deinstall ok config-files' })),
    false,
  ],
  [
    'a Depends on a config-files package',
    status(DPKG, pkg('a', '1', { Depends: 'b' }), pkg('b', '1', { Status: 'deinstall ok config-files' })),
    true,
  ],
  [
    'a Depends on a not-installed package',
    status(DPKG, pkg('a', '1', { Depends: 'b' }), pkg('b', '1', { Status: 'purge ok not-installed' })),
    true,
  ],
  [
    'an unpacked package meets a Depends',
    status(DPKG, pkg('a', '1', { Depends: 'b' }), pkg('b', '1', { Status: 'install ok unpacked' })),
    false,
  ],
  [
    'a half-configured package with an unmet Depends',
    status(DPKG, pkg('a', '1', { Status: 'install ok half-configured', Depends: 'zz' })),
    true,
  ],
  [
    'a half-installed package does not meet a Depends',
    status(DPKG, pkg('a', '1', { Depends: 'b' }), pkg('b', '1', { Status: 'install ok half-installed' })),
    true,
  ],
  ['a package to be reinstalled', status(DPKG, pkg('a', '1', { Status: 'install reinstreq half-installed' })), true],
  [
    'a half-installed package with its Depends met',
    status(DPKG, pkg('a', '1', { Status: 'install ok half-installed', Depends: 'b' }), pkg('b', '1')),
    false,
  ],
  [
    'an unpacked package with an unmet Depends',
    status(DPKG, pkg('a', '1', { Status: 'install ok unpacked', Depends: 'zz' })),
    true,
  ],
  [
    'a triggers-pending package meets a Depends',
    status(DPKG, pkg('a', '1', { Depends: 'b' }), pkg('b', '1', { Status: 'install ok triggers-pending' })),
    false,
  ],
  [
    'a config-files package with an unmet Depends',
    status(DPKG, pkg('a', '1', { Status: 'deinstall ok config-files', Depends: 'zz' })),
    false,
  ],
  [
    'an arch-all package depending on a native one',
    status(DPKG, pkg('a', '1', { Architecture: 'all', Depends: 'b' }), pkg('b', '1')),
    false,
  ],
  [
    'b:any on a Multi-Arch: allowed package',
    status(DPKG, pkg('a', '1', { Depends: 'python3:any' }), pkg('python3', '3.11', { 'Multi-Arch': 'allowed' })),
    false,
  ],
  ['b:native', status(DPKG, pkg('a', '1', { Depends: 'b:native (>= 1)' }), pkg('b', '1')), false],
  [
    'a foreign-arch package without Multi-Arch: foreign',
    status(DPKG, pkg('a', '1', { Depends: 'b' }), pkg('b', '1', { Architecture: 'i386' })),
    true,
  ],
  // Where i386 is not one of dpkg's architectures apt ignores the package.
  [
    'a Multi-Arch: foreign package of an architecture dpkg is not configured for',
    status(DPKG, pkg('a', '1', { Depends: 'b' }), pkg('b', '1', { Architecture: 'i386', 'Multi-Arch': 'foreign' })),
    true,
  ],
  [
    'a Conflicts with an arch-all package',
    status(DPKG, pkg('a', '1', { Conflicts: 'b' }), pkg('b', '1', { Architecture: 'all' })),
    true,
  ],
  [
    'a continuation line in Depends',
    status(DPKG, pkg('a', '1', { Depends: 'b,\n c (>= 2)' }), pkg('b', '1'), pkg('c', '1')),
    true,
  ],
  ['old-style > (meaning >=)', status(DPKG, pkg('a', '1', { Depends: 'b (> 1)' }), pkg('b', '1')), false],
];

describe('dependencySuspects', () => {
  it.each(SCENARIOS)('%s: a suspect exactly when real apt-get check fails', (_, text, broken) => {
    const suspects = dependencySuspects(text);
    expect({ suspects: suspects.length > 0, aptFails: !aptCheckPasses(text) }).toEqual({
      suspects: broken,
      aptFails: broken,
    });
  });

  it('names the package, the field and the relation', () => {
    expect(
      dependencySuspects(
        status(DPKG, pkg('a', '1', { 'Pre-Depends': 'x', Depends: 'b (>= 2) | c', Breaks: 'd (<< 3)' }), pkg('d', '2')),
      ),
    ).toEqual([
      { package: 'a', field: 'Pre-Depends', relation: 'x' },
      { package: 'a', field: 'Depends', relation: 'b (>= 2) | c' },
      { package: 'a', field: 'Breaks', relation: 'd (<< 3)' },
    ]);
  });

  it('finds nothing wrong with this host’s own dpkg status (where apt-get check passes)', () => {
    const host = readFileSync('/var/lib/dpkg/status', 'utf8');
    const aptOk = spawnSync('apt-get', ['check', '-q'], { env: { ...process.env, LC_ALL: 'C' } }).status === 0;
    expect(dependencySuspects(host).length === 0).toBe(aptOk);
  });
});
