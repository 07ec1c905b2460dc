/**
 * Builds real .deb packages (dpkg-deb), two local file-based apt repositories (a main one and a
 * security one whose Release says `Label: Debian-Security` / `Suite: stable-security`) and a
 * throwaway root with its own dpkg database and apt directories. Nothing here touches the
 * host's packages: every dpkg/apt call is given the temp root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DebSpec {
  name: string;
  version: string;
  depends?: string;
  /** Extra postinst body (POSIX sh; $DPKG_ROOT is the temp root). */
  postinst?: string;
}

/** The packages every scenario uses. */
export const DEMO_PACKAGES: Record<string, DebSpec> = {
  demo1: { name: 'cx-demo', version: '1.0' },
  demo2: { name: 'cx-demo', version: '2.0' },
  lib1: { name: 'cx-lib', version: '1.0' },
  app1: { name: 'cx-app', version: '1.0', depends: 'cx-lib (>= 1.0)' },
  tool1: { name: 'cx-tool', version: '1.0' },
  tool11: { name: 'cx-tool', version: '1.1' },
  // Its postinst waits while $DPKG_ROOT/tmp/cx-hold exists: real dpkg then holds its locks.
  // cx-local 0.9 is only ever a local .deb: once replaced, no archive has it any more.
  local09: { name: 'cx-local', version: '0.9' },
  local10: { name: 'cx-local', version: '1.0' },
  slow1: { name: 'cx-slow', version: '1.0', postinst: 'while [ -e "$DPKG_ROOT/tmp/cx-hold" ]; do sleep 0.1; done' },
  slow11: { name: 'cx-slow', version: '1.1', postinst: 'while [ -e "$DPKG_ROOT/tmp/cx-hold" ]; do sleep 0.1; done' },
};

export interface AptWorld {
  /** Temp directory holding everything. */
  base: string;
  /** The throwaway host root. */
  root: string;
  debs: Record<string, string>;
  repoMain: string;
  repoSecurity: string;
  /** Runs dpkg against the temp root. */
  dpkg(args: string[], options?: { allowFail?: boolean }): { status: number; stdout: string; stderr: string };
  /** Runs apt-get against the temp root. */
  aptGet(args: string[], options?: { allowFail?: boolean }): { status: number; stdout: string; stderr: string };
  /** name -> version of installed packages (status "install ok installed" or other). */
  installed(): Record<string, string>;
  /** `${package} ${status}` lines. */
  statuses(): Record<string, string>;
}

function buildDeb(dir: string, spec: DebSpec, out: string): void {
  const d = join(dir, `${spec.name}-${spec.version}`);
  mkdirSync(join(d, 'DEBIAN'), { recursive: true });
  mkdirSync(join(d, 'usr', 'share', spec.name), { recursive: true });
  writeFileSync(join(d, 'usr', 'share', spec.name, 'VERSION'), `${spec.name} ${spec.version}\n`);
  writeFileSync(
    join(d, 'DEBIAN', 'control'),
    `Package: ${spec.name}\nVersion: ${spec.version}\nArchitecture: all\nMaintainer: cx tests <cx@example.invalid>\n` +
      `${spec.depends ? `Depends: ${spec.depends}\n` : ''}Description: cx-ops test package\n`,
  );
  writeFileSync(
    join(d, 'DEBIAN', 'postinst'),
    `#!/bin/sh\nset -e\n${spec.postinst ?? ''}\nmkdir -p "$DPKG_ROOT/var/log"\necho "${spec.name} ${spec.version} $1" >> "$DPKG_ROOT/var/log/cx-postinst.log"\n`,
  );
  chmodSync(join(d, 'DEBIAN', 'postinst'), 0o755);
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', d, out], { stdio: 'pipe' });
}

function writeRepo(dir: string, debs: string[], release: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const f of debs) writeFileSync(join(dir, f.split('/').pop()!), readFileSync(f));
  const packages = execFileSync('dpkg-scanpackages', ['-m', '.', '/dev/null'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
  writeFileSync(join(dir, 'Packages'), packages);
  const sha = createHash('sha256').update(packages).digest('hex');
  const fields = Object.entries(release)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  writeFileSync(
    join(dir, 'Release'),
    `${fields}\nDate: ${new Date().toUTCString()}\nArchitectures: all amd64\nSHA256:\n ${sha} ${statSync(join(dir, 'Packages')).size} Packages\n`,
  );
}

/** The dpkg/apt options that point the real tools at a temp root (as the apt plugin does). */
export function aptOptions(root: string): string[] {
  return [
    '-o',
    `Dir=${root}`,
    '-o',
    `Dir::State::status=${root}/var/lib/dpkg/status`,
    '-o',
    'Dir::Bin::dpkg=/usr/bin/dpkg',
    '-o',
    `DPkg::Options::=--root=${root}`,
    '-o',
    `DPkg::Options::=--admindir=${root}/var/lib/dpkg`,
    '-o',
    'DPkg::Options::=--force-script-chrootless',
    '-o',
    `DPkg::Options::=--log=${root}/var/log/dpkg.log`,
    '-o',
    'APT::Sandbox::User=root',
  ];
}

/**
 * Creates a world: debs, repos (main: cx-demo 1.0, cx-lib, cx-app, cx-tool 1.0/1.1, cx-local 1.0, cx-slow;
 * security: cx-demo 2.0) and a root with an empty dpkg database and `apt-get update` done.
 */
export function createAptWorld(options: { update?: boolean } = {}): AptWorld {
  const base = mkdtempSync(join(tmpdir(), 'cx-apt-'));
  const root = join(base, 'root');
  const build = join(base, 'build');
  const debs: Record<string, string> = {};
  mkdirSync(join(base, 'debs'), { recursive: true });
  for (const [key, spec] of Object.entries(DEMO_PACKAGES)) {
    debs[key] = join(base, 'debs', `${spec.name}_${spec.version}_all.deb`);
    buildDeb(build, spec, debs[key]!);
  }
  const repoMain = join(base, 'repo', 'main');
  const repoSecurity = join(base, 'repo', 'security');
  writeRepo(
    repoMain,
    [debs.demo1!, debs.lib1!, debs.app1!, debs.tool1!, debs.tool11!, debs.local10!, debs.slow1!, debs.slow11!],
    {
      Origin: 'cx-test',
      Label: 'cx-test',
      Suite: 'stable',
      Codename: 'bookworm',
    },
  );
  writeRepo(repoSecurity, [debs.demo2!], {
    Origin: 'Debian',
    Label: 'Debian-Security',
    Suite: 'stable-security',
    Codename: 'bookworm-security',
  });
  for (const d of [
    'var/lib/dpkg/updates',
    'var/lib/dpkg/info',
    'var/lib/dpkg/triggers',
    'etc/apt/sources.list.d',
    'etc/apt/preferences.d',
    'etc/apt/apt.conf.d',
    'var/lib/apt/lists/partial',
    'var/cache/apt/archives/partial',
    'var/log/apt',
    'tmp',
    'var/run',
  ])
    mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
  writeFileSync(
    join(root, 'etc/apt/sources.list'),
    `deb [trusted=yes] file:${repoMain} ./\ndeb [trusted=yes] file:${repoSecurity} ./\n`,
  );
  const run = (cmd: string, args: string[], allowFail = false) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0 && !allowFail)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const world: AptWorld = {
    base,
    root,
    debs,
    repoMain,
    repoSecurity,
    dpkg: (args, o = {}) => run('dpkg', [`--root=${root}`, '--force-script-chrootless', ...args], o.allowFail),
    aptGet: (args, o = {}) => run('apt-get', [...aptOptions(root), ...args], o.allowFail),
    installed() {
      const out = run('dpkg-query', [
        `--admindir=${root}/var/lib/dpkg`,
        '-W',
        '-f',
        '${Package}\t${Version}\t${db:Status-Abbrev}\n',
      ]).stdout;
      const m: Record<string, string> = {};
      for (const line of out.split('\n').filter(Boolean)) {
        const [name, version, st] = line.split('\t');
        if (st?.trim() !== 'un') m[name!] = version!;
      }
      return m;
    },
    statuses() {
      const out = run('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f', '${Package}\t${Status}\n']).stdout;
      return Object.fromEntries(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t') as [string, string]),
      );
    },
  };
  if (options.update !== false) world.aptGet(['update', '-q']);
  return world;
}
