/**
 * Global options are needed before commander parses (they decide where plugins are found,
 * and plugins contribute commands), so they are read from argv first, here.
 */
import { resolve } from 'node:path';
import type { PathOverrides } from '../paths.js';
import { shellQuote } from '../permissions/explain.js';

export interface GlobalOptions {
  paths: PathOverrides;
  verbose: boolean;
  assumeYes: boolean;
  noColor: boolean;
  devMode: boolean;
}

const PATH_FLAGS: Record<string, keyof Omit<PathOverrides, 'pluginDirs'>> = {
  '--root': 'root',
  '--config-dir': 'configDir',
  '--data-dir': 'dataDir',
  '--log-dir': 'logDir',
  '--cache-dir': 'cacheDir',
};

/** The options every command accepts, for help output: [flags, description]. */
export const GLOBAL_OPTION_HELP: Array<[string, string]> = [
  ['--root <dir>', 'root of the host to inspect and repair (env CX_ROOT, default /)'],
  ['--config-dir <dir>', 'configuration directory (env CX_CONFIG_DIR, default <root>/etc/cx)'],
  ['--data-dir <dir>', 'state directory (env CX_DATA_DIR, default <root>/var/lib/cx)'],
  ['--log-dir <dir>', 'log directory, holds audit.jsonl (env CX_LOG_DIR, default <root>/var/log/cx)'],
  ['--cache-dir <dir>', 'cache directory (env CX_CACHE_DIR, default <root>/var/cache/cx)'],
  ['--plugin-dir <dir>', 'also look for plugins here; repeatable (env CX_PLUGIN_PATH, colon-separated)'],
  ['--verbose', 'more output, and stack traces on errors'],
  ['--dev', 'development mode: side-effecting calls are recorded and listed, never performed (env CX_DEV=1)'],
  ['--no-color', 'no colours (also when NO_COLOR is set or output is not a terminal)'],
];

/**
 * Reads global options from anywhere in argv (before a `--`); returns them and argv without
 * them, so commander never sees a global flag in a position it does not expect. `-y`/`--yes`
 * is removed only before the command word: after it, it is the command's own option.
 */
export function readGlobalOptions(argv: string[]): { global: GlobalOptions; rest: string[] } {
  const g: GlobalOptions = {
    paths: { pluginDirs: [] },
    verbose: false,
    assumeYes: false,
    noColor: false,
    devMode: false,
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const key = PATH_FLAGS[flag];
    if (key || flag === '--plugin-dir') {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new Error(`option '${flag} <dir>' argument missing`);
      if (key) g.paths[key] = value;
      else g.paths.pluginDirs!.push(value);
      continue;
    }
    if (a === '--verbose') g.verbose = true;
    else if (a === '--no-color') g.noColor = true;
    else if (a === '--dev') g.devMode = true;
    else if (a === '-y' || a === '--yes') {
      g.assumeYes = true;
      if (rest.some((r) => !r.startsWith('-'))) rest.push(a);
    } else rest.push(a);
  }
  return { global: g, rest };
}

/**
 * `cx-ops` followed by the global options that decide what a command acts on (the directories,
 * as absolute paths, and --dev), shell-quoted: the start of every hint a user may copy.
 * -y, --verbose and --no-color are not repeated: a hint never answers yes for the user.
 */
export function commandPrefix(g: GlobalOptions): string {
  const words = ['cx-ops'];
  for (const [flag, key] of Object.entries(PATH_FLAGS)) {
    const v = g.paths[key];
    if (v !== undefined) words.push(flag, shellQuote(resolve(v)));
  }
  for (const d of g.paths.pluginDirs ?? []) words.push('--plugin-dir', shellQuote(resolve(d)));
  if (g.devMode) words.push('--dev');
  return words.join(' ');
}
