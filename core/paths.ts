/**
 * Where cx-ops keeps things. Every path can be moved by a flag or an environment variable,
 * so tests never touch the real /etc or /var. When only --root is given, the other
 * directories default to their usual places under that root. The built-in plugins are the
 * exception: they run trusted, so their directory is the shipped one, never taken from the
 * environment (a test or the harness passes `builtinDir` in code). checkPaths is the one check
 * of every directory a run was given.
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CxError } from './errors.js';
import { shellQuote } from './permissions/explain.js';

export interface Paths {
  /** Root of the host inspected and repaired. */
  root: string;
  /** /etc/cx: config.yaml, plugins/ (the system plugin directory). */
  configDir: string;
  /** /var/lib/cx: state.json, installed plugins, plugin state. */
  dataDir: string;
  /** /var/log/cx: audit.jsonl. */
  logDir: string;
  /** /var/cache/cx. */
  cacheDir: string;
  /** The per-user plugin directory. */
  userPluginDir: string;
  /** Directories given with --plugin-dir or CX_PLUGIN_PATH. */
  extraPluginDirs: string[];
  /** Where the built-in plugins live (compiled). */
  builtinDir: string;
  /** Where `plugins install` unpacks plugins. */
  installDir: string;
}

export interface PathOverrides {
  root?: string;
  configDir?: string;
  dataDir?: string;
  logDir?: string;
  cacheDir?: string;
  userPluginDir?: string;
  pluginDirs?: string[];
  /** Programmatic only (tests, the harness): no flag or environment variable replaces the built-ins. */
  builtinDir?: string;
}

/** The compiled built-in plugins directory (dist/plugins-builtin), found from this file. */
export function defaultBuiltinDir(): string {
  // dist/core/paths.js -> dist/plugins-builtin
  return fileURLToPath(new URL('../plugins-builtin/', import.meta.url));
}

/** Resolves every path: flag, then environment variable, then default under the root. */
export function resolvePaths(flags: PathOverrides = {}, env: NodeJS.ProcessEnv = process.env): Paths {
  const pick = (flag: string | undefined, name: string): string | undefined => {
    const v = flag ?? env[name];
    return v ? resolve(v) : undefined;
  };
  const root = pick(flags.root, 'CX_ROOT') ?? '/';
  const under = (p: string) => join(root, p);
  const configDir = pick(flags.configDir, 'CX_CONFIG_DIR') ?? under('etc/cx');
  const dataDir = pick(flags.dataDir, 'CX_DATA_DIR') ?? under('var/lib/cx');
  const xdgData = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  const fromEnv = (env.CX_PLUGIN_PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((p) => resolve(p));
  // A directory named twice (flag and environment, or twice in CX_PLUGIN_PATH) is searched once.
  const extraPluginDirs = [...new Set([...(flags.pluginDirs ?? []).map((p) => resolve(p)), ...fromEnv])];
  return {
    root,
    configDir,
    dataDir,
    logDir: pick(flags.logDir, 'CX_LOG_DIR') ?? under('var/log/cx'),
    cacheDir: pick(flags.cacheDir, 'CX_CACHE_DIR') ?? under('var/cache/cx'),
    userPluginDir: pick(flags.userPluginDir, 'CX_USER_PLUGIN_DIR') ?? join(xdgData, 'cx-ops', 'plugins'),
    extraPluginDirs,
    builtinDir: flags.builtinDir ? resolve(flags.builtinDir) : defaultBuiltinDir(),
    installDir: join(dataDir, 'plugins'),
  };
}

/** Pseudo file systems: a cx-ops directory there is a mistake (a recursive mkdir under /proc never ends). */
const PSEUDO = ['/proc', '/sys', '/dev'];

/** The real path of `p`, or of its nearest existing ancestor with the rest appended. */
async function realOrAncestor(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    const up = dirname(p);
    return up === p ? p : join(await realOrAncestor(up), p.slice(up.length));
  }
}

function usage(detail: string, hint: string): CxError {
  return new CxError('CX_ERR_USAGE', { detail, hint });
}

/** One directory a run was given: what it is, where it came from, and whether it must exist already. */
interface GivenDir {
  /** As given (resolved against the working directory when checked). */
  dir: string;
  from: string;
  mustExist: boolean;
  hint: string;
}

function given(flags: PathOverrides, env: NodeJS.ProcessEnv, paths: Paths): GivenDir[] {
  const moved = (flag: string | undefined, flagName: string, envName: string) =>
    flag !== undefined ? flagName : env[envName] ? envName : `${flagName} (its default under the root)`;
  const own = (dir: string, flag: string | undefined, flagName: string, envName: string): GivenDir => ({
    dir,
    from: moved(flag, flagName, envName),
    mustExist: false,
    hint: `give ${flagName} (or ${envName}) a directory of its own, e.g. under /var or a temp directory`,
  });
  const plugins: GivenDir[] = [
    ...(flags.pluginDirs ?? []).map((dir) => ({
      dir,
      from: '--plugin-dir',
      mustExist: true,
      hint: 'give --plugin-dir a directory that holds a plugin (its plugin.yaml) or plugin directories',
    })),
    ...(env.CX_PLUGIN_PATH ?? '')
      .split(':')
      .filter(Boolean)
      .map((dir) => ({
        dir,
        from: 'CX_PLUGIN_PATH',
        mustExist: true,
        hint: 'fix or remove that entry of CX_PLUGIN_PATH (colon-separated directories)',
      })),
  ];
  if (flags.userPluginDir !== undefined || env.CX_USER_PLUGIN_DIR)
    plugins.push({
      dir: paths.userPluginDir,
      from: flags.userPluginDir !== undefined ? 'the per-user plugin directory' : 'CX_USER_PLUGIN_DIR',
      mustExist: true,
      hint: 'point CX_USER_PLUGIN_DIR at a directory of plugins, or unset it (default: ~/.local/share/cx-ops/plugins)',
    });
  return [
    own(paths.configDir, flags.configDir, '--config-dir', 'CX_CONFIG_DIR'),
    own(paths.dataDir, flags.dataDir, '--data-dir', 'CX_DATA_DIR'),
    own(paths.logDir, flags.logDir, '--log-dir', 'CX_LOG_DIR'),
    own(paths.cacheDir, flags.cacheDir, '--cache-dir', 'CX_CACHE_DIR'),
    ...plugins,
  ];
}

/**
 * Checks the directories of a run before anything is read or created: --root (or CX_ROOT) and
 * every plugin directory given must be existing directories; none of cx-ops' own directories
 * may be under /proc, /sys or /dev, and one that exists must be a directory. Each problem is
 * CX_ERR_USAGE naming the flag or variable it came from.
 */
export async function checkPaths(flags: PathOverrides, env: NodeJS.ProcessEnv, paths: Paths): Promise<void> {
  const rootFrom = flags.root !== undefined ? '--root' : 'CX_ROOT';
  const rootStat = await stat(paths.root).catch(() => undefined);
  if (!rootStat?.isDirectory())
    throw usage(
      `${rootFrom} '${paths.root}' ${rootStat ? 'is not a directory' : 'does not exist'} (resolved: ${paths.root}).`,
      `check the path, or create the directory first: mkdir -p ${shellQuote(paths.root)}`,
    );
  for (const g of given(flags, env, paths)) {
    const real = await realOrAncestor(resolve(g.dir));
    const pseudo = PSEUDO.find((p) => real === p || real.startsWith(`${p}${sep}`));
    if (pseudo)
      throw usage(
        `${g.from} '${g.dir}' is under ${pseudo}${real !== g.dir ? ` (resolved: ${real})` : ''}, a pseudo file system: cx-ops keeps no files there.`,
        g.hint,
      );
    const st = await stat(g.dir).catch(() => undefined);
    if (st?.isDirectory() || (!st && !g.mustExist)) continue;
    const what = st ? 'is not a directory' : 'does not exist';
    throw usage(`${g.from} '${g.dir}' ${what} (resolved: ${resolve(g.dir)}).`, g.hint);
  }
}
