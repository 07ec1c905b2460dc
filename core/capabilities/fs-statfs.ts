/**
 * statfsMany: the sizes of several mounted file systems in ONE capability call (one audit
 * record, one limiter slot), synchronous where that cannot stall the event loop. A detection
 * cycle's statfs through libuv's thread pool costs 100–250 µs on a small VM; the system call
 * itself, a few.
 *
 * A path is answered synchronously only when this process's mount table (mount-table.ts: the
 * kernel's, read in this call or at most 1 ms before, never a --root fixture's) says it is the
 * mount point of a local file system and every mount at or above it is local too. Anything
 * else — a network, FUSE or unknown type, a path that is not a mount point (under --root, one
 * that is not really mounted) — goes the way of statfs through the thread pool, bounded to
 * ASYNC_TIMEOUT_MS, and a path whose previous statfs has not answered is not asked again
 * until it does (a hung NFS mount would take one more thread of the pool every cycle).
 *
 * The guards are statfs's: the grant checked on the real path (a mount point from the
 * kernel's table has no symlink in it), opened with O_PATH | O_NOFOLLOW, the descriptor's real
 * path checked to be the one that was checked (a symlink swapped into the path is a denial),
 * statfs on the descriptor. Every path is checked before any is asked: one not granted
 * denies the whole call.
 */
import { closeSync, openSync, statfsSync } from 'node:fs';
import { statfs as statfsPath } from 'node:fs/promises';
import type { StatfsEntry, StatfsResult } from '../../sdk/types.js';
import { CxError, isCxError, messageOf } from '../errors.js';
import { fdReal, MovedError, normalizeAbsolute, O_NOFOLLOW, O_PATH, openVerified, realOrNull } from './fs-open.js';
import { statfsResult } from './fs-read.js';
import { ioError, need, target, toDisk, toView, type FsScope, type Target } from './fs-scope.js';
import { currentMounts, isLocalMountPoint } from './mount-table.js';

/** At most this many paths in one call. */
export const MAX_STATFS_PATHS = 64;
/** How long a statfs through the thread pool may take before its entry is an error. */
export const ASYNC_TIMEOUT_MS = 5000;

/** Disk paths with a statfs through the thread pool under way: how many, and since when the first (ms). */
const underWay = new Map<string, { since: number; count: number }>();

/**
 * `work` for `disk`, at most ASYNC_TIMEOUT_MS; refused at once while one for it has been under
 * way longer than that (a hung mount: one thread of the pool is enough to leave waiting).
 */
function bounded<T>(disk: string, work: () => Promise<T>): Promise<T> {
  const now = Date.now();
  const known = underWay.get(disk);
  if (known && now - known.since >= ASYNC_TIMEOUT_MS)
    return Promise.reject(
      new CxError('CX_ERR_IO', {
        path: disk,
        detail: `its statfs of ${Math.round((now - known.since) / 1000)} s ago has not answered yet (a network or FUSE file system that does not respond?); it is not asked again until that one answers`,
      }),
    );
  if (known) known.count++;
  else underWay.set(disk, { since: now, count: 1 });
  const running = work().finally(() => {
    const k = underWay.get(disk);
    if (k && --k.count === 0) underWay.delete(disk);
  });
  running.catch(() => undefined); // answered after the timeout: nobody waits for it any more
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CxError('CX_ERR_IO', {
            path: disk,
            detail: `statfs did not answer within ${ASYNC_TIMEOUT_MS / 1000} s (a network or FUSE file system that does not respond?)`,
          }),
        ),
      ASYNC_TIMEOUT_MS,
    );
    timer.unref();
  });
  return Promise.race([running, late]).finally(() => clearTimeout(timer));
}

/** The paths argument checked: an array of 1 to MAX_STATFS_PATHS paths. */
function targets(s: FsScope, paths: unknown): Target[] {
  if (!Array.isArray(paths) || paths.length === 0 || paths.length > MAX_STATFS_PATHS)
    throw new CxError('CX_ERR_IO', {
      path: '(statfsMany)',
      detail: `takes an array of 1 to ${MAX_STATFS_PATHS} paths (got ${Array.isArray(paths) ? `${paths.length}` : typeof paths}); ask for more in several calls`,
    });
  return paths.map((p) => target(s, 'read', p));
}

/**
 * statfs of a local mount point, synchronously: opened O_PATH | O_NOFOLLOW, the descriptor
 * checked to be `disk`. `/` is asked as it is: it is this process's root, with no component
 * that could be renamed or replaced by a symlink, so there is nothing to check.
 */
function statfsLocal(disk: string): StatfsResult {
  if (disk === '/') return statfsResult(statfsSync('/'));
  const fd = openSync(disk, O_PATH | O_NOFOLLOW);
  try {
    const at = fdReal(fd);
    if (at !== disk) throw new MovedError(disk, at);
    return statfsResult(statfsSync(`/proc/self/fd/${fd}`));
  } finally {
    closeSync(fd);
  }
}

/** statfs of a checked real path through the thread pool, as statfs does it. */
async function statfsPooled(real: string): Promise<StatfsResult> {
  const fh = await openVerified(real, O_PATH, real);
  try {
    return statfsResult(await statfsPath(`/proc/self/fd/${fh.fd}`));
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** One path's way: at once (a local mount point), through the pool (its checked real path), or an error found while checking. */
type Plan =
  { t: Target; local: true } | { t: Target; local: false; real: string } | { t: Target; local: false; error: string };

/** One entry's error text (CX_ERR_IO's message naming the path). */
function entryError(e: unknown, disk: string): string {
  const err = ioError(e, 'statfsMany', disk);
  return isCxError(err) ? err.message : messageOf(err);
}

/** A pooled path checked: its real path resolved (bounded) and granted, or its error; a denial throws. */
async function planPooled(s: FsScope, t: Target): Promise<Plan> {
  let real: string | null;
  try {
    real = await bounded(t.disk, () => realOrNull(t.disk));
  } catch (e) {
    return { t, local: false, error: entryError(e, t.disk) };
  }
  if (real === null) {
    need(s, 'read', t.disk, t.asked);
    return { t, local: false, error: `${t.disk}: no such file or directory` };
  }
  need(s, 'read', real, t.asked);
  return { t, local: false, real };
}

/** A MovedError as the denial it is; anything else unchanged. */
function moved(s: FsScope, e: unknown): unknown {
  if (e instanceof MovedError)
    s.guard.deny({ capability: 'read', target: toView(s, e.expected), reason: e.message, grantable: false });
  return e;
}

/** ctx.fs.statfsMany / ctx.localFs.statfsMany. */
export function statfsMany(s: FsScope, paths: readonly string[]): Promise<StatfsEntry[]> {
  const shown = Array.isArray(paths)
    ? paths
        .map((p) => {
          const n = normalizeAbsolute(p);
          return n === null ? String(p) : toDisk(s, n);
        })
        .join(' ')
    : String(paths);
  return s.guard.call({ capability: 'fs', op: 'statfsMany', target: shown }, async (allow) => {
    const list = targets(s, paths);
    const fake = s.fake;
    if (fake?.statfsMany || fake?.statfs) {
      for (const t of list) need(s, 'read', t.disk, t.asked);
      allow();
      if (fake.statfsMany) return fake.statfsMany(list.map((t) => t.disk));
      const one = fake.statfs!;
      return Promise.all(
        list.map((t) =>
          one(t.disk).then(
            (statfs): StatfsEntry => ({ path: t.asked, statfs, local: false }),
            (e: unknown): StatfsEntry => ({ path: t.asked, statfs: null, local: false, error: entryError(e, t.disk) }),
          ),
        ),
      );
    }
    // Which paths are local mount points, from one table; those are checked here (the table's
    // mount points are real paths), the others where they really lead, before anything is asked.
    const mounts = currentMounts();
    const plans: Array<Plan | Promise<Plan>> = list.map((t) => {
      if (!isLocalMountPoint(mounts, t.disk)) return planPooled(s, t);
      need(s, 'read', t.disk, t.asked);
      return { t, local: true };
    });
    const checked = plans.some((p) => p instanceof Promise) ? await Promise.all(plans) : (plans as Plan[]);
    allow();
    const out: Array<StatfsEntry | Promise<StatfsEntry>> = checked.map((p) => {
      const { asked, disk } = p.t;
      if (p.local) {
        try {
          return { path: asked, statfs: statfsLocal(disk), local: true };
        } catch (e) {
          moved(s, e);
          return { path: asked, statfs: null, local: true, error: entryError(e, disk) };
        }
      }
      if ('error' in p) return { path: asked, statfs: null, local: false, error: p.error };
      return bounded(disk, () => statfsPooled(p.real)).then(
        (statfs): StatfsEntry => ({ path: asked, statfs, local: false }),
        (e: unknown): StatfsEntry => (
          moved(s, e),
          { path: asked, statfs: null, local: false, error: entryError(e, disk) }
        ),
      );
    });
    return out.some((e) => e instanceof Promise) ? Promise.all(out) : (out as StatfsEntry[]);
  });
}
