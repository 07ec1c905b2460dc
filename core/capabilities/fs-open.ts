/**
 * Race-safe path handling for the fs capability. A path is checked against the grants after
 * resolving `..` and symlinks, and checked AGAIN at open time: files are opened with O_NOFOLLOW
 * and the opened descriptor's real path (`/proc/self/fd/N`) must be the path that was checked,
 * so a symlink planted or swapped between check and open cannot lead outside the grant.
 * Operations on directory entries (create, rename, remove) go through a verified descriptor of
 * the parent directory (`/proc/self/fd/N/name`), never through the path again.
 *
 * Where a descriptor leads is read from /proc/self/fd synchronously: procfs answers from memory
 * (the kernel's dentry path), so it never waits for a disk, and it costs microseconds where a
 * trip through libuv's thread pool costs tens. Parent directories are held open in a DirCache
 * for a burst of calls (see there) and verified again at every use.
 */
import { closeSync, constants, fsync as fsyncFd, open as openFd, readlinkSync } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';

export const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_TRUNC, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } =
  constants;
/** Linux O_PATH (not exported by node:fs). */
export const O_PATH = 0o10000000;

/**
 * Files under /proc that expose other processes' secrets or memory (and the kernel's own): never
 * readable or writable through a directory grant, only when granted by their exact path.
 */
const SENSITIVE = [
  /^\/proc\/(?:self|thread-self|\d+)(?:\/task\/\d+)?\/(?:environ|mem|cmdline|auxv|maps|numa_maps|smaps|smaps_rollup|pagemap|stack|syscall|io|personality|fd|fdinfo|map_files|root|cwd|exe|timers|clear_refs|ns|attr|sched|wchan|coredump_filter|oom_adj|oom_score_adj|loginuid|setgroups|uid_map|gid_map)(?:\/|$)/,
  /^\/proc\/(?:kcore|kmsg|kallsyms|sysrq-trigger|keys|key-users|kpagecount|kpageflags|kpagecgroup|config\.gz)$/,
  /^\/(?:dev|sys\/firmware|sys\/kernel\/debug|sys\/kernel\/security)(?:\/|$)/,
];

/** Whether a resolved path is one only an exact grant may reach. */
export function isSensitive(real: string): boolean {
  return SENSITIVE.some((r) => r.test(real));
}

/** Lexically normalized absolute path (no trailing slash), or null when not absolute / has NUL. */
export function normalizeAbsolute(p: unknown): string | null {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0')) return null;
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** The real path of an existing file (all symlinks followed), or null when it does not exist. */
export async function realOrNull(p: string): Promise<string | null> {
  try {
    return await realpath(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

/** The real location of a directory entry itself (parent resolved, last component kept), or null. */
export async function entryOrNull(p: string): Promise<string | null> {
  if (p === '/') return '/';
  const parent = await realOrNull(posix.dirname(p));
  if (parent === null) return null;
  return `${parent === '/' ? '' : parent}/${posix.basename(p)}`;
}

/** Where the path behind an open descriptor really is (procfs: from memory, never blocks). */
export function fdReal(fd: number): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

/** Where the path behind an open descriptor really is. */
export async function fdPath(fh: FileHandle): Promise<string> {
  return fdReal(fh.fd);
}

/** A name inside an open directory, for race-free entry operations. */
export function anchored(dir: FileHandle | number, name: string): string {
  return `/proc/self/fd/${typeof dir === 'number' ? dir : dir.fd}/${name}`;
}

/** Thrown when the opened file is not where the check said it would be. */
export class MovedError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`'${expected}' changed while it was being opened (it now leads to '${actual}')`);
  }
}

/**
 * Opens `path` with O_NOFOLLOW plus `flags` and checks that the descriptor really is `expected`.
 * Closes the handle and throws MovedError otherwise.
 */
export async function openVerified(path: string, flags: number, expected: string, mode?: number): Promise<FileHandle> {
  const fh = await open(path, flags | O_NOFOLLOW, mode);
  let actual: string;
  try {
    actual = fdReal(fh.fd);
  } catch (e) {
    await fh.close();
    throw e;
  }
  if (actual !== expected) {
    await fh.close();
    throw new MovedError(expected, actual);
  }
  return fh;
}

/** lstat that answers null for a missing entry. */
export async function lstatOrNull(p: string) {
  try {
    return await lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** File type names of the SDK. */
export function typeOf(s: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}): 'file' | 'directory' | 'symlink' | 'other' {
  return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'other';
}

const openRaw = (path: string, flags: number) =>
  new Promise<number>((resolve, reject) => openFd(path, flags, (e, fd) => (e ? reject(e) : resolve(fd))));

/** fsync of a raw descriptor. */
export const fsyncRaw = (fd: number) =>
  new Promise<void>((resolve, reject) => fsyncFd(fd, (e) => (e ? reject(e) : resolve())));

/** How many idle directories a cache keeps open at most (a tree walk must not hoard descriptors). */
const MAX_IDLE_DIRS = 64;

interface HeldDir {
  fd: number;
  /** Its real path when opened (verified again at every use). */
  real: string;
  /** Calls using it now. */
  users: number;
  /** No longer handed out (moved, or over the idle cap): closed when its last user is done. */
  stale: boolean;
}

/**
 * Directories held open for the calls of one plugin: a burst of calls in one directory (a check
 * reading /proc, hotfix capturing a thousand files) opens it once. Each use checks again that
 * the descriptor is still at its real path (one procfs read), so a directory moved or replaced
 * by a symlink meanwhile is opened afresh, exactly as without the cache. Descriptors are
 * closed as soon as no call of the plugin uses them any more (on the next turn of the event
 * loop), so nothing is held between bursts (no file system kept busy, no descriptors hoarded).
 */
export class DirCache {
  private readonly byReal = new Map<string, HeldDir>();
  private active = 0;
  private sweeping = false;

  /** A view for one call; `release()` it when the call ends. */
  call(): CallDirs {
    this.active++;
    return new CallDirs(this);
  }

  /** @internal the held directory at `real`, verified, or a fresh one. */
  async acquire(real: string, lexical?: string): Promise<HeldDir> {
    const known = this.byReal.get(real);
    if (known && !known.stale) {
      let at: string | null = null;
      try {
        at = fdReal(known.fd);
      } catch {
        // Closed under us cannot happen (we own it); unreadable: treat as moved.
      }
      if (at === real) {
        known.users++;
        // Most recently used last: the idle cap drops the oldest.
        this.byReal.delete(real);
        this.byReal.set(real, known);
        return known;
      }
      this.retire(known);
    }
    const fd = await openRaw(lexical ?? real, O_RDONLY | O_DIRECTORY | O_NONBLOCK | (lexical ? 0 : O_NOFOLLOW));
    let at: string;
    try {
      at = fdReal(fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (lexical === undefined && at !== real) {
      closeSync(fd);
      throw new MovedError(real, at);
    }
    const held: HeldDir = { fd, real: at, users: 1, stale: false };
    const prev = this.byReal.get(at);
    if (prev) this.retire(prev);
    this.byReal.set(at, held);
    return held;
  }

  /** @internal the held directory at `real` if it is open and still there (one more user), else undefined. */
  peek(real: string): HeldDir | undefined {
    const h = this.byReal.get(real);
    if (!h || h.stale) return undefined;
    try {
      if (fdReal(h.fd) === real) return h;
    } catch {
      // unreadable: as moved
    }
    this.retire(h);
    return undefined;
  }

  /** @internal */
  release(h: HeldDir): void {
    h.users--;
    if (h.users === 0 && h.stale) closeSync(h.fd);
  }

  /** @internal a call ended. */
  done(): void {
    this.active--;
    if (this.active > 0 || this.sweeping) return;
    this.sweeping = true;
    // After the callbacks of this turn: a plugin awaiting one call and making the next finds its
    // directories still open; once it stops calling, they are closed.
    setImmediate(() => {
      this.sweeping = false;
      if (this.active === 0) this.closeIdle(0);
      else this.closeIdle(MAX_IDLE_DIRS);
    }).unref();
  }

  private retire(h: HeldDir): void {
    if (this.byReal.get(h.real) === h) this.byReal.delete(h.real);
    h.stale = true;
    if (h.users === 0) closeSync(h.fd);
  }

  private closeIdle(keep: number): void {
    let idle = 0;
    for (const h of this.byReal.values()) if (h.users === 0) idle++;
    for (const h of [...this.byReal.values()]) {
      if (idle <= keep) break;
      if (h.users > 0) continue;
      this.retire(h);
      idle--;
    }
  }
}

/** The directories one fs call holds (from its plugin's DirCache); released when the call ends. */
export class CallDirs {
  private readonly leases: HeldDir[] = [];
  private released = false;

  constructor(private readonly cache?: DirCache) {}

  /** A descriptor of the directory at the real path `real`, verified to be there (MovedError if not). */
  async at(real: string): Promise<number> {
    if (!this.cache) {
      // No cache (the kernel's own writes): a fresh descriptor, closed at release.
      const fd = await openRaw(real, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_NOFOLLOW);
      const at = (() => {
        try {
          return fdReal(fd);
        } catch (e) {
          closeSync(fd);
          throw e;
        }
      })();
      if (at !== real) {
        closeSync(fd);
        throw new MovedError(real, at);
      }
      this.leases.push({ fd, real, users: 1, stale: true });
      return fd;
    }
    const h = await this.cache.acquire(real);
    this.leases.push(h);
    return h.fd;
  }

  /**
   * The real location of the directory entry `p` (its parent resolved, the last component kept),
   * or null when the parent does not exist. The parent stays open for this call.
   */
  async entry(p: string): Promise<string | null> {
    if (p === '/') return '/';
    const dir = posix.dirname(p);
    let h: HeldDir | undefined;
    try {
      h = this.cache ? await this.cache.acquire(dir, dir) : undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      // A parent that is not a directory (or not readable): resolved as before, the operation
      // then fails on it with its own error.
      if (code !== 'ENOTDIR' && code !== 'EACCES') throw e;
    }
    if (!h) {
      const parent = await realOrNull(dir);
      if (parent === null) return null;
      return `${parent === '/' ? '' : parent}/${posix.basename(p)}`;
    }
    this.leases.push(h);
    return `${h.real === '/' ? '' : h.real}/${posix.basename(p)}`;
  }

  /** The descriptor of the directory at `real` when this call or its plugin holds it open (verified), else undefined. */
  held(real: string): number | undefined {
    const h = this.cache?.peek(real);
    if (!h) return undefined;
    h.users++;
    this.leases.push(h);
    return h.fd;
  }

  /** Gives the directories back (closed once no call uses them). */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const h of this.leases) {
      if (this.cache) this.cache.release(h);
      else closeSync(h.fd);
    }
    this.cache?.done();
  }
}
