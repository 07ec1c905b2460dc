/**
 * What every fs operation shares: the view (the inspected host rooted at --root, or paths as
 * given), the grant check on resolved paths, the audited call wrapper, and the dry-run gate.
 * One operation per function lives in fs-read.ts and fs-write.ts; fs.ts puts them in a table.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { FsCapability } from '../../sdk/types.js';
import { CxError } from '../errors.js';
import { pathGranted } from '../permissions/match.js';
import {
  anchored,
  type CallDirs,
  type DirCache,
  fdReal,
  isSensitive,
  lstatOrNull,
  MovedError,
  normalizeAbsolute,
  O_NOFOLLOW,
  openVerified,
  realOrNull,
} from './fs-open.js';
import type { Guard } from './guard.js';
import type { WriteQuota } from './quota.js';

export const MAX_READ_BYTES = 8 * 1024 * 1024;
export const MAX_WRITE_BYTES = 16 * 1024 * 1024;
export const MAX_DIR_ENTRIES = 100_000;

/** Fake fs methods for tests: called after grants allow the call (paths checked lexically, root applied). */
export type FsFake = Partial<Omit<FsCapability, 'diskPath'>>;

export type Kind = 'read' | 'write';

/** How one fs view of one plugin resolves and checks paths. */
export interface FsScope {
  guard: Guard;
  /** 'host': paths name the inspected host and are resolved under `root`; 'local': as given. */
  view: 'host' | 'local';
  /** The real path of --root ('/' for the real host). */
  root: string;
  /** Directories of the plugin's own (state, cache) that a sandboxed plugin may always read and write. */
  ownDirs: string[];
  /** Permission bits a sandboxed plugin may set (setuid/setgid/sticky never; the operator may tighten it). */
  modeMask: number;
  /** Directories held open for the plugin's calls (both views share it). */
  dirs: DirCache;
  /** What the plugin may still add to disk (sandboxed tier; both views share it). */
  quota?: WriteQuota;
  fake?: FsFake;
}

/** `p` (a normalized absolute path of the view) as a path on this machine. */
export function toDisk(s: FsScope, p: string): string {
  if (s.view === 'local' || s.root === '/') return p;
  return p === '/' ? s.root : `${s.root}${p}`;
}

/** A path on this machine as the view names it (a host path under --root), for denials: grants name host paths. */
export function toView(s: FsScope, disk: string): string {
  if (s.view === 'local' || s.root === '/') return disk;
  if (disk === s.root) return '/';
  return disk.startsWith(`${s.root}/`) ? disk.slice(s.root.length) : disk;
}

const granted = new WeakMap<FsScope, { read: string[]; write: string[] }>();

/** The grant lists as paths on this machine: grants name host paths, so they are rooted too. */
function diskGrants(s: FsScope): { read: string[]; write: string[] } {
  let g = granted.get(s);
  if (!g) {
    const root = (list: string[]) => list.map((p) => (s.root === '/' ? p : p === '/' ? s.root : `${s.root}${p}`));
    const e = s.guard.effective;
    g = { read: [...root(e.read), ...s.ownDirs], write: [...root(e.write), ...s.ownDirs] };
    granted.set(s, g);
  }
  return g;
}

/** Whether `real` (a resolved path on disk) is covered by an exact grant (devices, FIFOs, procfs secrets). */
export function exactlyGranted(s: FsScope, kind: Kind, real: string): boolean {
  return !s.guard.checked || diskGrants(s)[kind].includes(real);
}

function allowed(s: FsScope, kind: Kind, real: string): boolean {
  if (!s.guard.checked) return true;
  const list = diskGrants(s)[kind];
  return list.includes(real) || (pathGranted(list, real) && !isSensitive(real));
}

/** Denies unless `real` is granted for `kind`. */
export function need(s: FsScope, kind: Kind, real: string, asked: string): void {
  if (allowed(s, kind, real)) return;
  const target = toView(s, real);
  s.guard.deny({ capability: kind, target, reason: target !== asked ? `'${asked}' resolves to it` : undefined });
}

/** The path of the view, normalized, or a denial for a relative path / NUL. */
export function viewPath(s: FsScope, kind: Kind, p: unknown): string {
  const n = normalizeAbsolute(p);
  if (n === null)
    s.guard.deny({
      capability: kind,
      target: String(p),
      reason: 'paths must be absolute and free of NUL',
      grantable: false,
    });
  return n;
}

/** Nothing at `disk`: a denial when it would not be granted anyway, else CX_ERR_IO. */
export function missing(s: FsScope, kind: Kind, disk: string, asked: string): never {
  need(s, kind, disk, asked);
  throw new CxError('CX_ERR_IO', { path: disk, detail: 'no such file or directory' });
}

/** One resolved argument of an fs call: the path as named, and where it lies on disk. */
export interface Target {
  /** The path as the plugin wrote it (for messages). */
  asked: string;
  /** The normalized path of the view (a host path for ctx.fs). */
  path: string;
  /** The same path on this machine (root applied), before symlinks are resolved. */
  disk: string;
}

/** Resolves a path argument of the view. */
export function target(s: FsScope, kind: Kind, p: unknown): Target {
  const path = viewPath(s, kind, p);
  return { asked: String(p), path, disk: toDisk(s, path) };
}

/**
 * One fs call: audited and limited by the guard; Node errors become CX_ERR_IO naming the path,
 * a file moved during the call becomes a denial.
 */
export function op<T>(
  s: FsScope,
  name: string,
  kind: Kind,
  path: unknown,
  args: unknown,
  body: (t: Target, allow: () => void, dirs: CallDirs) => Promise<T>,
): Promise<T> {
  const shown = (() => {
    const n = normalizeAbsolute(path);
    return n === null ? String(path) : toDisk(s, n);
  })();
  return s.guard.call({ capability: 'fs', op: name, target: shown, args }, async (allow) => {
    const t = target(s, kind, path);
    const dirs = s.dirs.call();
    try {
      return await body(t, allow, dirs);
    } catch (e) {
      if (e instanceof MovedError)
        return s.guard.deny({ capability: kind, target: toView(s, e.expected), reason: e.message, grantable: false });
      throw ioError(e, name, t.disk);
    } finally {
      dirs.release();
    }
  });
}

/** A Node system error as CX_ERR_IO naming the path and what to do; anything else unchanged. */
export function ioError(e: unknown, name: string, path: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.code !== 'string' || typeof err.syscall !== 'string') return e;
  const why: Record<string, string> = {
    ELOOP: ' (a symlink where none is followed, or a symlink loop)',
    EACCES: ' (permission denied: run as a user that may access it)',
    EPERM: ' (operation not permitted: run as a user that may change it)',
    EISDIR: ' (it is a directory)',
    ENOTDIR: ' (a part of the path is not a directory)',
    ENOSPC: ' (the disk is full: free space and run again)',
    EROFS: ' (the file system is read-only)',
    EIO: ' (an I/O error of the device: check the disk)',
  };
  return new CxError('CX_ERR_IO', { path, detail: `${name} failed: ${err.code}${why[err.code] ?? ''}` }, { cause: e });
}

/** Side-effecting call: audited as allowed, then a fake, a dry-run record, or the real thing. */
export async function effect(
  s: FsScope,
  allow: () => void,
  action: string,
  fakeCall: (() => Promise<void>) | undefined,
  real: () => Promise<void>,
): Promise<void> {
  allow();
  if (s.guard.dryRun) return void s.guard.record(action);
  await s.guard.audited();
  if (fakeCall) return fakeCall();
  return real();
}

/** Where a write lands: the entry, or the target of a final symlink (which must exist). */
export async function writeTarget(s: FsScope, t: Target, dirs: CallDirs): Promise<string> {
  const entry = (await dirs.entry(t.disk)) ?? missing(s, 'write', t.disk, t.asked);
  const st = await lstatOrNull(entry);
  if (st?.isSymbolicLink()) {
    const real = await realOrNull(entry);
    if (real === null)
      s.guard.deny({
        capability: 'write',
        target: toView(s, entry),
        reason: 'it is a dangling symlink',
        grantable: false,
      });
    return real;
  }
  return entry;
}

/** The real path of an existing file (symlinks followed), checked for `kind`. */
export async function existingReal(s: FsScope, kind: Kind, t: Target): Promise<string> {
  const real = (await realOrNull(t.disk)) ?? missing(s, kind, t.disk, t.asked);
  need(s, kind, real, t.asked);
  return real;
}

/**
 * Opens an existing file (`flags`, plus O_NOFOLLOW), checked for `kind` on where it really is.
 * The short way, when the entry itself is granted: through its parent as the call holds it, a
 * final symlink refused by O_NOFOLLOW and the descriptor's path checked to be that entry. Any
 * other case (a final symlink, an entry granted only where it leads, a missing file, a race)
 * goes the long way: the real path resolved, checked, opened and verified, as it always was.
 */
export async function openExisting(
  s: FsScope,
  kind: Kind,
  t: Target,
  dirs: CallDirs,
  flags: number,
): Promise<{ fh: FileHandle; real: string }> {
  const entry = await dirs.entry(t.disk).catch(() => null);
  if (entry !== null && entry !== '/' && allowed(s, kind, entry)) {
    const fh = await dirs
      .at(posix.dirname(entry))
      .then((dir) => open(anchored(dir, posix.basename(entry)), flags | O_NOFOLLOW))
      .catch(() => null);
    if (fh) {
      let at: string | null = null;
      try {
        at = fdReal(fh.fd);
      } catch {
        // unreadable: the long way
      }
      if (at === entry) return { fh, real: entry };
      await fh.close().catch(() => undefined);
    }
  }
  const real = await existingReal(s, kind, t);
  return { fh: await openVerified(real, flags, real), real };
}

/** The real location of an existing directory entry (last component kept), checked for `kind`. */
export async function existingEntry(s: FsScope, kind: Kind, t: Target, dirs: CallDirs): Promise<string> {
  const entry = (await dirs.entry(t.disk)) ?? missing(s, kind, t.disk, t.asked);
  need(s, kind, entry, t.asked);
  return entry;
}

/** A mode a plugin asked for, as it is applied: permission bits only for a sandboxed plugin. */
export function allowedMode(s: FsScope, mode: number | undefined): number | undefined {
  if (mode === undefined) return undefined;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
    throw new CxError('CX_ERR_IO', { path: '(mode)', detail: `mode ${String(mode)} is not a file mode (0 to 0o7777)` });
  return s.guard.checked ? mode & s.modeMask : mode;
}

/** Runs `f` with an open handle and closes it afterwards. */
export async function closing<T>(fh: FileHandle, f: (fh: FileHandle) => Promise<T>): Promise<T> {
  try {
    return await f(fh);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
