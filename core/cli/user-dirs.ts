/**
 * An unprivileged user (an NRPE agent, a Nagios check) running a read-only command on a host
 * where /var/log/cx and /var/cache/cx belong to root: the audit log and the caches go to the
 * user's own directories (XDG_STATE_HOME or ~/.local/state, XDG_CACHE_HOME or ~/.cache, under
 * cx-ops/) instead of failing on every run. A directory given with a flag or an environment
 * variable is kept as given. With nowhere to write the audit log, a one-line note says so.
 */
import { access, constants } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PathOverrides, Paths } from '../paths.js';

/** Whether this user may create or write `dir`: it, or its nearest existing ancestor, is writable. */
async function writable(dir: string): Promise<boolean> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await access(d, constants.F_OK);
    } catch {
      if (dirname(d) === d) return false;
      continue;
    }
    return access(d, constants.W_OK | constants.X_OK).then(
      () => true,
      () => false,
    );
  }
}

const FALLBACKS = [
  { key: 'logDir', flag: 'logDir', variable: 'CX_LOG_DIR', xdg: 'XDG_STATE_HOME', home: '.local/state', sub: 'log' },
  { key: 'cacheDir', flag: 'cacheDir', variable: 'CX_CACHE_DIR', xdg: 'XDG_CACHE_HOME', home: '.cache', sub: '' },
] as const;

export async function userDirs(
  paths: Paths,
  flags: PathOverrides,
  env: NodeJS.ProcessEnv,
): Promise<{ paths: Paths; notes: string[] }> {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return { paths, notes: [] };
  const out = { ...paths };
  const notes: string[] = [];
  for (const f of FALLBACKS) {
    if (flags[f.flag] !== undefined || env[f.variable] || (await writable(paths[f.key]))) continue;
    const base = env[f.xdg]?.startsWith('/') ? env[f.xdg] : env.HOME?.startsWith('/') ? join(env.HOME, f.home) : '';
    const mine = base ? join(base, 'cx-ops', f.sub) : '';
    if (mine && (await writable(mine))) out[f.key] = mine;
    else if (f.key === 'logDir')
      notes.push(
        `${paths.logDir} is not writable by this user (uid ${uid}) and there is no home directory to keep an audit log in: this run's capability calls are not audited (give --log-dir DIR)`,
      );
  }
  return { paths: out, notes };
}
