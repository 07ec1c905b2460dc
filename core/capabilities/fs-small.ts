/**
 * readSmallFiles: a few small kernel files (/proc, /sys of the view) read in ONE capability call,
 * with synchronous system calls: a detection cycle that reads /proc/stat, /proc/meminfo,
 * /proc/loadavg and /proc/mounts pays one audit record and one limiter slot, not four trips
 * through libuv's thread pool per file (open, fstat, read, close: ~1 ms where the reads
 * themselves take ~50 µs).
 *
 * Why synchronous is safe here: procfs and sysfs answer from memory, never from a disk or a
 * network, so no read can stall the event loop; under --root they are small regular files of a
 * fixture tree. Both are held to that: every path, and where it really leads, must lie under
 * /proc or /sys of the view, and each file is read under a size cap.
 *
 * The guards are readFile's: grants checked on where each path really is (a directory grant
 * never reaches /proc/self/environ and the like), the final component opened with O_NOFOLLOW and
 * the descriptor's real path checked to be the one that was checked (a symlink swapped in
 * between is a denial), regular files only (a FIFO is an error, never a hang). Any path not
 * granted denies the whole call (nothing is read); a file that is missing, not regular or over
 * the cap is an error in its own entry, the others are read. A file directly in the real /proc
 * or in this process's /proc directory is where its path says (procfs fixes its own links and
 * no one can make one in it): it is opened as named, with O_NOFOLLOW, and checked without the
 * resolving and the descriptor check (planProc), which cost as much as the reads.
 */
import { closeSync, fstatSync, lstatSync, openSync, readSync, realpathSync, statfsSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { ReadOptions, SmallFile } from '../../sdk/types.js';
import { CxError, isCxError, messageOf } from '../errors.js';
import { fdReal, MovedError, normalizeAbsolute, O_NOFOLLOW, O_NONBLOCK, O_RDONLY } from './fs-open.js';
import { ioError, MAX_READ_BYTES, need, target, toDisk, toView, type FsScope, type Target } from './fs-scope.js';
import { noteMountTable, OWN_TABLES } from './mount-table.js';

/** At most this many paths in one call. */
export const MAX_SMALL_FILES = 16;
/** The default cap of one file (maxBytes lowers or raises it, never above MAX_READ_BYTES). */
export const SMALL_FILE_BYTES = 1024 * 1024;

/** The trees a batch may read: pseudo file systems answered from memory. */
const KERNEL_TREES = ['/proc', '/sys'];

const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);

/** One buffer for every batch: the reads are synchronous, so no two use it at once. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** The cap of one file: `maxBytes` (at most MAX_READ_BYTES), else SMALL_FILE_BYTES. */
function smallCap(options: ReadOptions | undefined): number {
  const m = Number(options?.maxBytes);
  return Number.isFinite(m) && m >= 0 ? Math.min(Math.floor(m), MAX_READ_BYTES) : SMALL_FILE_BYTES;
}

/** Where the view's kernel trees lie on disk. */
function kernelTrees(s: FsScope): string[] {
  const prefix = s.view === 'local' || s.root === '/' ? '' : s.root;
  return KERNEL_TREES.map((d) => `${prefix}${d}`);
}

/** The paths argument checked: an array of 1 to MAX_SMALL_FILES paths of the view's /proc or /sys. */
function targets(s: FsScope, paths: unknown): Target[] {
  if (!Array.isArray(paths) || paths.length === 0 || paths.length > MAX_SMALL_FILES)
    throw new CxError('CX_ERR_IO', {
      path: '(readSmallFiles)',
      detail: `takes an array of 1 to ${MAX_SMALL_FILES} paths (got ${Array.isArray(paths) ? `${paths.length}` : typeof paths}); read more in several calls`,
    });
  return paths.map((p) => {
    const t = target(s, 'read', p);
    if (!KERNEL_TREES.some((d) => under(t.path, d) && t.path !== d))
      throw new CxError('CX_ERR_IO', {
        path: t.disk,
        detail:
          'readSmallFiles reads only files under /proc and /sys (kernel files answered from memory); read it with readFile',
      });
    return t;
  });
}

/** A path that leads out of /proc and /sys (a symlinked tree under --root): denied, no grant allows it. */
function contained(s: FsScope, trees: string[], real: string, asked: string): void {
  if (trees.some((d) => under(real, d))) return;
  s.guard.deny({
    capability: 'read',
    target: toView(s, real),
    reason: `'${asked}' leads out of /proc and /sys, which readSmallFiles reads synchronously; read it with readFile`,
    grantable: false,
  });
}

/** The real path of an existing `p`, or null when it (or its parent) is missing. */
function realOrNullSync(p: string): string | null {
  try {
    return realpathSync.native(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/** Where one file is read from: checked (grant, containment) before it is read. */
interface Planned {
  t: Target;
  /** The checked real path, or null: missing. */
  real: string | null;
  /** Already open there (the short way of a file of the real /proc). */
  fd?: number;
}

/** This process's directory in /proc. */
const OWN_PROC = `/proc/${process.pid}`;

/** Whether /proc is this process's procfs (its self link leads to OWN_PROC): asked once. */
let realProc: boolean | undefined;
function procIsOwn(): boolean {
  if (realProc === undefined) {
    try {
      realProc = statfsSync('/proc').type === PROC_SUPER_MAGIC && realpathSync.native('/proc/self') === OWN_PROC;
    } catch {
      realProc = false;
    }
  }
  return realProc;
}
const PROC_SUPER_MAGIC = 0x9fa0;

/**
 * The short way, for a file directly in the real /proc or in this process's directory there
 * (/proc/stat, /proc/meminfo, /proc/mounts, /proc/self/mountinfo): procfs fixes its own links
 * (self -> <pid>, mounts -> self/mounts) and no symlink or file can be made in it, so such a
 * path is where it says — no resolving, no descriptor to check. Opened with O_NOFOLLOW, then
 * checked; null: the long way (under --root, a deeper path, a link such as /proc/net, a
 * missing file).
 */
function planProc(s: FsScope, t: Target): Planned | null {
  if (s.view === 'host' && s.root !== '/') return null;
  const p =
    t.disk === '/proc/mounts'
      ? `${OWN_PROC}/mounts`
      : t.disk.startsWith('/proc/self/')
        ? `${OWN_PROC}${t.disk.slice('/proc/self'.length)}`
        : t.disk;
  const dir = posix.dirname(p);
  if ((dir !== '/proc' && dir !== OWN_PROC) || !procIsOwn()) return null;
  let fd: number;
  try {
    fd = openSync(p, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    need(s, 'read', p, t.asked);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return { t, real: p, fd };
}

/**
 * Resolves and checks one path: the entry (parent resolved, last component kept) when it is not a
 * symlink, else where the symlink leads, each checked for containment and grants before opening.
 * `parents` keeps the batch's resolved directories (most of a batch shares /proc).
 */
function plan(s: FsScope, trees: string[], t: Target, parents: Map<string, string | null>): Planned {
  const dir = posix.dirname(t.disk);
  let parent = parents.get(dir);
  if (parent === undefined) parents.set(dir, (parent = realOrNullSync(dir)));
  if (parent === null) return (need(s, 'read', t.disk, t.asked), { t, real: null });
  const entry = `${parent === '/' ? '' : parent}/${posix.basename(t.disk)}`;
  contained(s, trees, entry, t.asked);
  const st = lstatSync(entry, { throwIfNoEntry: false });
  const real = st === undefined ? null : st.isSymbolicLink() ? realOrNullSync(entry) : entry;
  if (real === null) return (need(s, 'read', entry, t.asked), { t, real: null });
  if (real !== entry) contained(s, trees, real, t.asked);
  need(s, 'read', real, t.asked);
  return { t, real };
}

/** Reads an open regular file whole, at most `cap` bytes (CX_ERR_IO beyond); its text and size. */
function readOpen(fd: number, st: Stats, path: string, cap: number): { text: string; bytes: number } {
  const tooBig = () =>
    new CxError('CX_ERR_IO', { path, detail: `is larger than the read cap of ${cap} bytes; read it with readFile` });
  if (st.size > cap) throw tooBig();
  let size = 0;
  for (;;) {
    if (size === scratch.length) {
      const bigger = Buffer.allocUnsafe(Math.min(scratch.length * 2, MAX_READ_BYTES + 1));
      scratch.copy(bigger, 0, 0, size);
      scratch = bigger;
    }
    const n = readSync(fd, scratch, size, Math.min(scratch.length - size, cap + 1 - size), null);
    if (n === 0) break;
    size += n;
    if (size > cap) throw tooBig();
  }
  return { text: scratch.toString('utf8', 0, size), bytes: size };
}

/** Opens the checked real path (O_NOFOLLOW), verifies the descriptor is there, reads it. */
function readPlanned(p: Planned, cap: number): { text: string; bytes: number } {
  const real = p.real!;
  const fd = p.fd ?? openSync(real, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  try {
    if (p.fd === undefined) {
      const at = fdReal(fd);
      if (at !== real) throw new MovedError(real, at);
    }
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new CxError('CX_ERR_IO', {
        path: real,
        detail: `is not a regular file (${st.isDirectory() ? 'a directory' : 'a FIFO, device or socket'}); readSmallFiles reads only regular files`,
      });
    return readOpen(fd, st, real, cap);
  } finally {
    closeSync(fd);
  }
}

/** A path as the audit names it: on disk (the root applied), as for every other fs call. */
function shownPath(s: FsScope, p: unknown): string {
  const n = normalizeAbsolute(p);
  return n === null ? String(p) : toDisk(s, n);
}

/** One entry's error text (CX_ERR_IO's message naming the path). */
function entryError(e: unknown, disk: string): string {
  const err = ioError(e, 'readSmallFiles', disk);
  return isCxError(err) ? err.message : messageOf(err);
}

/** ctx.fs.readSmallFiles / ctx.localFs.readSmallFiles. */
export function readSmallFiles(s: FsScope, paths: readonly string[], options?: ReadOptions): Promise<SmallFile[]> {
  const shown = Array.isArray(paths) ? paths.map((p) => shownPath(s, p)).join(' ') : String(paths);
  return s.guard.call({ capability: 'fs', op: 'readSmallFiles', target: shown }, async (allow) => {
    const list = targets(s, paths);
    const cap = smallCap(options);
    if (s.fake?.readSmallFiles || s.fake?.readFile) {
      for (const t of list) need(s, 'read', t.disk, t.asked);
      allow();
      if (s.fake.readSmallFiles)
        return s.fake.readSmallFiles(
          list.map((t) => t.disk),
          options,
        );
      const one = s.fake.readFile!;
      return Promise.all(
        list.map((t) =>
          one(t.disk, { maxBytes: cap }).then(
            (text): SmallFile => ({ path: t.asked, text }),
            (e: unknown): SmallFile => ({ path: t.asked, text: null, error: entryError(e, t.disk) }),
          ),
        ),
      );
    }
    const trees = kernelTrees(s);
    const planned: Planned[] = [];
    try {
      // Every path is checked before any is read: one not granted denies the call.
      const parents = new Map<string, string | null>();
      for (const t of list) planned.push(planProc(s, t) ?? plan(s, trees, t, parents));
    } catch (e) {
      for (const p of planned) if (p.fd !== undefined) closeSync(p.fd);
      if (e instanceof MovedError)
        s.guard.deny({ capability: 'read', target: toView(s, e.expected), reason: e.message, grantable: false });
      throw e;
    }
    allow();
    let total = 0;
    return planned.map((p): SmallFile => {
      if (p.real === null) return { path: p.t.asked, text: null, error: `${p.t.disk}: no such file or directory` };
      try {
        const at = performance.now();
        const got = readPlanned(p, Math.min(cap, MAX_READ_BYTES - total));
        total += got.bytes;
        const table = OWN_TABLES.get(p.real);
        // This process's mount table, just read: statfsMany right after need not read it again.
        if (table) noteMountTable(got.text, table, at);
        return { path: p.t.asked, text: got.text };
      } catch (e) {
        if (e instanceof MovedError)
          s.guard.deny({ capability: 'read', target: toView(s, e.expected), reason: e.message, grantable: false });
        return { path: p.t.asked, text: null, error: entryError(e, p.real) };
      }
    });
  });
}
