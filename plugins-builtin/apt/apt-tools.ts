/**
 * The dpkg and apt command lines, parameterised by the host root. On a real host (root "/")
 * they are the plain commands; for another root every tool is pointed at that root's dpkg
 * database and apt directories (no chroot needed; maintainer scripts get $DPKG_ROOT).
 */
import { type ExecOptions, type ExecResult, type PluginContext } from 'cx-ops/sdk';

/** Where dpkg and apt keep their state under a root. */
export interface AptPaths {
  root: string;
  admindir: string;
  status: string;
  lists: string;
  archives: string;
  /** The lock files dpkg and apt take (fcntl locks). */
  locks: string[];
}

/**
 * Joins a root and an absolute path ("/" + "/var/lib" = "/var/lib"): where dpkg and apt are told
 * to look (program arguments). These disk paths are read with ctx.localFs (as given).
 */
export function underRoot(root: string, path: string): string {
  const r = root.replace(/\/+$/, '');
  return r === '' ? path : `${r}${path}`;
}

export function aptPaths(root: string): AptPaths {
  const admindir = underRoot(root, '/var/lib/dpkg');
  return {
    root,
    admindir,
    status: `${admindir}/status`,
    lists: underRoot(root, '/var/lib/apt/lists'),
    archives: underRoot(root, '/var/cache/apt/archives'),
    locks: [
      `${admindir}/lock-frontend`,
      `${admindir}/lock`,
      underRoot(root, '/var/lib/apt/lists/lock'),
      underRoot(root, '/var/cache/apt/archives/lock'),
    ],
  };
}

/** apt-get / apt-cache options for the root (none for "/"). */
export function aptRootOptions(root: string): string[] {
  if (root === '/') return [];
  const p = aptPaths(root);
  return [
    '-o',
    `Dir=${root}`,
    '-o',
    `Dir::State::status=${p.status}`,
    '-o',
    'Dir::Bin::dpkg=/usr/bin/dpkg',
    '-o',
    `DPkg::Options::=--root=${root}`,
    '-o',
    `DPkg::Options::=--admindir=${p.admindir}`,
    '-o',
    'DPkg::Options::=--force-script-chrootless',
    '-o',
    `DPkg::Options::=--log=${underRoot(root, '/var/log/dpkg.log')}`,
    '-o',
    'APT::Sandbox::User=root',
  ];
}

/** dpkg options for the root (none for "/"). */
export function dpkgRootOptions(root: string): string[] {
  return root === '/' ? [] : [`--root=${root}`, `--admindir=${aptPaths(root).admindir}`, '--force-script-chrootless'];
}

/** The dpkg/apt tools of one root, run through ctx.exec (never a shell). */
export interface AptTools {
  paths: AptPaths;
  aptGet(args: string[], options?: ExecOptions): Promise<ExecResult>;
  aptCache(args: string[], options?: ExecOptions): Promise<ExecResult>;
  dpkg(args: string[], options?: ExecOptions): Promise<ExecResult>;
  dpkgQuery(args: string[], options?: ExecOptions): Promise<ExecResult>;
  /** How a command line reads, for plans and reports (root options left out). */
  show(tool: string, args: string[]): string;
}

const ENV = { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C', LANG: 'C' };

export function aptTools(ctx: PluginContext<unknown>, timeoutMs = 600_000): AptTools {
  const root = ctx.env.root;
  const run = (cmd: string, pre: string[], args: string[], o: ExecOptions = {}) =>
    ctx.exec.run(cmd, [...pre, ...args], { timeoutMs, ...o, env: { ...ENV, ...o.env } });
  return {
    paths: aptPaths(root),
    aptGet: (args, o) => run('apt-get', aptRootOptions(root), args, o),
    aptCache: (args, o) => run('apt-cache', aptRootOptions(root), args, o),
    dpkg: (args, o) => run('dpkg', dpkgRootOptions(root), args, o),
    dpkgQuery: (args, o) => run('dpkg-query', root === '/' ? [] : [`--admindir=${aptPaths(root).admindir}`], args, o),
    show: (tool, args) => `${tool} ${args.join(' ')}${root === '/' ? '' : ` (root ${root})`}`,
  };
}

/** Why apt/dpkg cannot be used under this root, or null when they can. */
export async function aptUnavailable(ctx: PluginContext<unknown>): Promise<string | null> {
  const p = aptPaths(ctx.env.root);
  if (!(await ctx.localFs.stat(p.status))) return `no dpkg database at ${p.status} (not a Debian-based system?)`;
  const why = await Promise.all(
    ['dpkg', 'apt-get'].map(async (tool) => {
      let r: ExecResult;
      try {
        r = await ctx.exec.run(tool, ['--version'], { readOnly: true, timeoutMs: 10_000 });
      } catch (e) {
        return `${tool} could not be run: ${e instanceof Error ? e.message : String(e)}`;
      }
      if (r.exitCode === 127) return `${tool} is not installed (not found on the PATH)`;
      if (r.exitCode !== 0) return `${tool} does not run (exit ${r.exitCode}: ${r.stderr.trim().split('\n')[0] ?? ''})`;
      return null;
    }),
  );
  return why.find((w) => w !== null) ?? null;
}

/** First line of a command's failure, for messages. */
export function failureLine(r: ExecResult): string {
  const text = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return text.find((l) => l.startsWith('E:')) ?? text[text.length - 1] ?? `exit ${r.exitCode}`;
}
