/**
 * Race-safe path handling for the fs capability. A path is checked against the grants after
 * resolving `..` and symlinks, and checked AGAIN at open time: files are opened with O_NOFOLLOW
 * and the opened descriptor's real path (`/proc/self/fd/N`) must be the path that was checked,
 * so a symlink planted or swapped between check and open cannot lead outside the grant.
 * Operations on directory entries (create, rename, remove) go through a verified descriptor of
 * the parent directory (`/proc/self/fd/N/name`), never through the path again.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
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

/** Where the path behind an open descriptor really is. */
export async function fdPath(fh: FileHandle): Promise<string> {
  return readlink(`/proc/self/fd/${fh.fd}`);
}

/** A name inside an open directory, for race-free entry operations. */
export function anchored(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
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
    actual = await fdPath(fh);
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

/** Opens the parent directory of a resolved entry, verified. */
export function openParent(entry: string): Promise<FileHandle> {
  return openVerified(posix.dirname(entry), O_RDONLY | O_DIRECTORY, posix.dirname(entry));
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
