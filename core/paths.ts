/**
 * Where cx-ops keeps things. Every path can be moved by a flag or an environment variable,
 * so tests never touch the real /etc or /var. When only --root is given, the other
 * directories default to their usual places under that root.
 */
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';

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
  return {
    root,
    configDir,
    dataDir,
    logDir: pick(flags.logDir, 'CX_LOG_DIR') ?? under('var/log/cx'),
    cacheDir: pick(flags.cacheDir, 'CX_CACHE_DIR') ?? under('var/cache/cx'),
    userPluginDir: pick(flags.userPluginDir, 'CX_USER_PLUGIN_DIR') ?? join(xdgData, 'cx-ops', 'plugins'),
    extraPluginDirs: [...(flags.pluginDirs ?? []).map((p) => resolve(p)), ...fromEnv],
    builtinDir: pick(flags.builtinDir, 'CX_BUILTIN_DIR') ?? defaultBuiltinDir(),
    installDir: join(dataDir, 'plugins'),
  };
}
