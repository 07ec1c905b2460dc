/**
 * The reading fs operations, one function each. Every read opens the resolved path with
 * O_NOFOLLOW and checks the descriptor (fs-open.ts); a file read is a regular file under a size
 * cap checked on the opened descriptor, so a FIFO or /dev/zero in place of a file is an error,
 * never a hang.
 */
import { createHash } from 'node:crypto';
import type { Stats, StatsFs } from 'node:fs';
import { readdir, readlink as readlinkPath, statfs as statfsPath, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { DirEntry, FileStat, LinkStat, ReadOptions, StatfsResult } from '../../sdk/types.js';
import { CxError } from '../errors.js';
import { anchored, lstatOrNull, O_DIRECTORY, O_NONBLOCK, O_PATH, O_RDONLY, openVerified, typeOf } from './fs-open.js';
import {
  closing,
  exactlyGranted,
  existingEntry,
  MAX_DIR_ENTRIES,
  MAX_READ_BYTES,
  need,
  op,
  openExisting,
  toView,
  type FsScope,
} from './fs-scope.js';
import { withBuffer } from './buffers.js';

/** The cap of one read: the caller's `maxBytes`, never above MAX_READ_BYTES. */
export function readCap(options: ReadOptions | undefined): number {
  const m = Number(options?.maxBytes);
  return Number.isFinite(m) && m >= 0 ? Math.min(Math.floor(m), MAX_READ_BYTES) : MAX_READ_BYTES;
}

/** The first read of a file that reports no size (procfs, sysfs): most are far smaller. */
const UNSIZED_FIRST_READ = 4096;
/** The largest single read. */
const MAX_CHUNK = 64 * 1024;

/**
 * Reads an open file whole, refusing more than `cap` bytes. Not a regular file: refused unless
 * `special` (an exact grant); files that report size 0 (procfs) are read up to the cap. `known`
 * is the descriptor's stat when the caller has it already. A file of known size is read into a
 * buffer of that size (plus one byte, to see it grow); one that reports none starts at 4 KiB and
 * doubles to 64 KiB a read, so the small /proc files a check reads each cycle cost one small
 * buffer, not 64 KiB each.
 */
export async function readCapped(
  fh: FileHandle,
  path: string,
  cap: number,
  special: boolean,
  known?: Stats,
): Promise<Buffer> {
  const st = known ?? (await fh.stat());
  if (!st.isFile() && !special) {
    throw new CxError('CX_ERR_IO', {
      path,
      detail: `is not a regular file (${st.isDirectory() ? 'a directory' : 'a FIFO, device or socket'}); cx-ops reads only regular files here`,
    });
  }
  const tooBig = () =>
    new CxError('CX_ERR_IO', {
      path,
      detail: `is larger than the read cap of ${cap} bytes; read a smaller file or use exec with a granted tool`,
    });
  if (st.isFile() && st.size > cap) throw tooBig();
  const chunks: Buffer[] = [];
  let size = 0;
  let next = st.isFile() && st.size > 0 ? st.size + 1 : UNSIZED_FIRST_READ;
  for (;;) {
    const buf = Buffer.alloc(Math.min(next, MAX_CHUNK, cap - size + 1));
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    size += bytesRead;
    if (size > cap) throw tooBig();
    chunks.push(buf.subarray(0, bytesRead));
    next = Math.min(buf.length * 2, MAX_CHUNK);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

async function readWhole(
  s: FsScope,
  name: string,
  path: string,
  options: ReadOptions | undefined,
): Promise<Buffer | Uint8Array> {
  return op(s, name, 'read', path, undefined, async (t, allow, dirs) => {
    if (s.fake?.readBytes && name === 'readBytes')
      return (need(s, 'read', t.disk, t.asked), allow(), s.fake.readBytes(t.disk, options));
    const { fh: opened, real } = await openExisting(s, 'read', t, dirs, O_RDONLY | O_NONBLOCK);
    return closing(opened, async (fh) => {
      const special = s.guard.checked && exactlyGranted(s, 'read', real);
      const st = await fh.stat();
      if (!st.isFile() && s.guard.checked && !special) {
        s.guard.deny({
          capability: 'read',
          target: toView(s, real),
          reason: 'it is a device, FIFO or socket; only an exact grant of that path allows reading it',
        });
      }
      allow();
      return readCapped(fh, real, readCap(options), special, st);
    });
  });
}

/** Hex sha256 of a regular file's bytes, read in pieces (no size cap: nothing is kept). */
export function hash(s: FsScope, path: string): Promise<string> {
  return op(s, 'hash', 'read', path, undefined, async (t, allow, dirs) => {
    if (s.fake?.hash) return (need(s, 'read', t.disk, t.asked), allow(), s.fake.hash(t.disk));
    const { fh: opened, real } = await openExisting(s, 'read', t, dirs, O_RDONLY | O_NONBLOCK);
    return closing(opened, async (fh) => {
      const st = await fh.stat();
      if (!st.isFile())
        throw new CxError('CX_ERR_IO', { path: real, detail: 'is not a regular file; only regular files are hashed' });
      allow();
      const h = createHash('sha256');
      await withBuffer(st.size, async (buf) => {
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          h.update(buf.subarray(0, bytesRead));
        }
      });
      return h.digest('hex');
    });
  });
}

export function readFile(s: FsScope, path: string, options?: ReadOptions): Promise<string> {
  if (s.fake?.readFile) {
    const fake = s.fake.readFile;
    return op(
      s,
      'readFile',
      'read',
      path,
      undefined,
      async (t, allow) => (need(s, 'read', t.disk, t.asked), allow(), fake(t.disk, options)),
    );
  }
  return readWhole(s, 'readFile', path, options).then((b) => new TextDecoder().decode(b));
}

export function readBytes(s: FsScope, path: string, options?: ReadOptions): Promise<Uint8Array> {
  return readWhole(s, 'readBytes', path, options).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

export function readDir(s: FsScope, path: string): Promise<DirEntry[]> {
  return op(s, 'readDir', 'read', path, undefined, async (t, allow, dirs) => {
    if (s.fake?.readDir) return (need(s, 'read', t.disk, t.asked), allow(), s.fake.readDir(t.disk));
    const { fh: opened } = await openExisting(s, 'read', t, dirs, O_RDONLY | O_DIRECTORY);
    return closing(opened, async (fh) => {
      allow();
      const entries = await readdir(`/proc/self/fd/${fh.fd}`, { withFileTypes: true });
      return entries.slice(0, MAX_DIR_ENTRIES).map((e): DirEntry => ({ name: e.name, type: typeOf(e) }));
    });
  });
}

export function stat(s: FsScope, path: string): Promise<FileStat | null> {
  return op(s, 'stat', 'read', path, undefined, async (t, allow, dirs) => {
    if (s.fake?.stat) return (need(s, 'read', t.disk, t.asked), allow(), s.fake.stat(t.disk));
    const entry = await dirs.entry(t.disk);
    need(s, 'read', entry ?? t.disk, t.asked);
    allow();
    if (entry === null) return null;
    let fh: FileHandle;
    try {
      fh = await openVerified(entry, O_PATH, entry);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return closing(fh, async (h): Promise<FileStat> => {
      const st = await h.stat();
      return {
        path: t.path,
        type: typeOf(st),
        size: st.size,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtimeMs: st.mtimeMs,
      };
    });
  });
}

export function lstat(s: FsScope, path: string): Promise<LinkStat | null> {
  return op(s, 'lstat', 'read', path, undefined, async (t, allow, dirs) => {
    if (s.fake?.lstat) return (need(s, 'read', t.disk, t.asked), allow(), s.fake.lstat(t.disk));
    const entry = await dirs.entry(t.disk);
    need(s, 'read', entry ?? t.disk, t.asked);
    allow();
    if (entry === null) return null;
    if (entry === '/') return linkStat(t.path, await lstatOrNull('/'), undefined);
    const p = anchored(await dirs.at(posix.dirname(entry)), posix.basename(entry));
    const st = await lstatOrNull(p);
    return linkStat(t.path, st, st?.isSymbolicLink() ? await readlinkPath(p) : undefined);
  });
}

function linkStat(
  path: string,
  st: Awaited<ReturnType<typeof lstatOrNull>>,
  target: string | undefined,
): LinkStat | null {
  return st ? linkStatOf(path, st, target) : null;
}

/** What lstat says of `path` as the SDK's LinkStat (`target`: a symlink's, when read). */
export function linkStatOf(path: string, st: Stats, target?: string): LinkStat {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    path,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    nlink: st.nlink,
    mtimeMs: st.mtimeMs,
    atimeMs: st.atimeMs,
    ...(target !== undefined ? { target } : {}),
  };
}

/** statfs(2)'s numbers as the SDK gives them: sizes in bytes. */
export function statfsResult(st: StatsFs): StatfsResult {
  return {
    total: st.blocks * st.bsize,
    free: st.bfree * st.bsize,
    available: st.bavail * st.bsize,
    files: st.files,
    filesFree: st.ffree,
  };
}

export function statfs(s: FsScope, path: string): Promise<StatfsResult> {
  return op(s, 'statfs', 'read', path, undefined, async (t, allow, dirs) => {
    if (s.fake?.statfs) return (need(s, 'read', t.disk, t.asked), allow(), s.fake.statfs(t.disk));
    const { fh: opened } = await openExisting(s, 'read', t, dirs, O_PATH);
    return closing(opened, async (fh) => {
      allow();
      return statfsResult(await statfsPath(`/proc/self/fd/${fh.fd}`));
    });
  });
}

export function readlink(s: FsScope, path: string): Promise<string> {
  return op(s, 'readlink', 'read', path, undefined, async (t, allow, dirs) => {
    if (s.fake?.readlink) return (need(s, 'read', t.disk, t.asked), allow(), s.fake.readlink(t.disk));
    const entry = await existingEntry(s, 'read', t, dirs);
    const dir = await dirs.at(posix.dirname(entry));
    allow();
    return readlinkPath(anchored(dir, posix.basename(entry)));
  });
}
