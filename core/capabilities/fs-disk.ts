/**
 * The system calls behind the writing fs operations, on paths already resolved and checked:
 * atomic replacement (temp file in the same directory, fsync, rename, directory fsync), fsynced
 * appends, verified mkdir -p, removal and copies through verified parent descriptors.
 */
import { randomBytes } from 'node:crypto';
import {
  link as linkPath,
  mkdir as mkdirPath,
  open as openPath,
  readdir,
  readlink,
  rename as renamePath,
  rm,
  rmdir,
  symlink as symlinkPath,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { posix } from 'node:path';
import { CxError } from '../errors.js';
import { pidGone } from '../lock.js';
import { withBuffer } from './buffers.js';
import {
  anchored,
  CallDirs,
  fdPath,
  fsyncRaw,
  lstatOrNull,
  MovedError,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  openVerified,
  realOrNull,
} from './fs-open.js';
import { closing } from './fs-scope.js';

/** procfs/sysfs files are written in place: they cannot be replaced by rename. */
export const inPlace = (real: string) => /^\/(proc|sys)\//.test(real);

const tempName = (name: string) => `.${name}.cx-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;

/** `tempName`'s pattern for `name`: `.NAME.cx-PID-HEX.tmp` (the pid captured). */
const tempOf = (name: string) =>
  new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.cx-(\\d+)-[0-9a-f]{8}\\.tmp$`);

/**
 * Removes the temp files that killed writes of `name` left in `dir` (a directory path, or a held
 * descriptor's /proc/self/fd/N): only that name's temp names, only of processes that are gone.
 * The next atomic write of a file does it, so a crash leaves no litter for long.
 */
export async function sweepDeadTemps(dir: string, name: string): Promise<void> {
  const temp = tempOf(name);
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const m = temp.exec(entry);
    if (m && pidGone(Number(m[1]))) await unlink(`${dir}/${entry}`).catch(() => undefined);
  }
}
const join = (dir: string, name: string) => `${dir === '/' ? '' : dir}/${name}`;
/** fsync of a directory; a file system that cannot sync directories is not an error. */
const syncDir = (fd: number) => fsyncRaw(fd).catch(() => undefined);
/** The open parent of a resolved entry, held by `dirs` (one of its calls), verified. */
const parentOf = (dirs: CallDirs, entry: string) => dirs.at(posix.dirname(entry));

/** Runs `f` with the directories of a call of its own (the kernel's writes outside the capability). */
async function own<T>(dirs: CallDirs | undefined, f: (d: CallDirs) => Promise<T>): Promise<T> {
  if (dirs) return f(dirs);
  const mine = new CallDirs();
  try {
    return await f(mine);
  } finally {
    mine.release();
  }
}

/** What a replaced file keeps unless told otherwise. */
export interface Keep {
  mode: number;
  uid?: number;
  gid?: number;
  atimeMs?: number;
  mtimeMs?: number;
}

/**
 * Replaces `target` (a resolved path) atomically with content written by `fill`: the reader sees
 * the old or the new file, never half; the temp file is removed on failure.
 */
export async function replaceAt(
  target: string,
  fill: (fh: FileHandle) => Promise<void>,
  keep: Keep,
  sync = true,
  calls?: CallDirs,
): Promise<void> {
  return own(calls, async (dirs) => {
    const dir = await parentOf(dirs, target);
    const name = posix.basename(target);
    const tmp = tempName(name);
    const fh = await openVerified(
      anchored(dir, tmp),
      O_WRONLY | O_CREAT | O_EXCL,
      join(posix.dirname(target), tmp),
      0o600,
    );
    try {
      await closing(fh, async (h) => {
        await fill(h);
        await h.chmod(keep.mode);
        if (
          keep.uid !== undefined &&
          keep.gid !== undefined &&
          (keep.uid !== process.getuid?.() || keep.gid !== process.getgid?.())
        ) {
          await h.chown(keep.uid, keep.gid).catch((e: NodeJS.ErrnoException) => {
            // Only root gives files away; an unprivileged run keeps its own owner.
            if (e.code !== 'EPERM' || process.getuid?.() === 0) throw e;
          });
        }
        if (keep.mtimeMs !== undefined) await h.utimes(new Date(keep.atimeMs ?? keep.mtimeMs), new Date(keep.mtimeMs));
        if (sync) await h.sync();
      });
      await renamePath(anchored(dir, tmp), anchored(dir, name));
    } catch (e) {
      await unlink(anchored(dir, tmp)).catch(() => undefined);
      throw e;
    }
    if (sync) await syncDir(dir);
  });
}

/** Writes `data` to `target`: atomically, or appended (fsynced) / in place for procfs and special files. */
export async function writeAt(
  target: string,
  data: string | Uint8Array,
  options: { mode?: number; append?: boolean },
  exact: boolean,
  dirs: CallDirs,
): Promise<void> {
  const dir = await parentOf(dirs, target);
  const name = posix.basename(target);
  const existing = await lstatOrNull(anchored(dir, name));
  if (existing && !existing.isFile() && !exact) {
    throw new CxError('CX_ERR_IO', {
      path: target,
      detail: existing.isDirectory()
        ? 'is a directory'
        : 'is not a regular file; only an exact write grant of that path allows writing it',
    });
  }
  if (options.append || inPlace(target) || (existing && !existing.isFile())) {
    const flags = O_WRONLY | O_NONBLOCK | (options.append ? O_APPEND : O_TRUNC) | (existing ? 0 : O_CREAT);
    const fh = await openVerified(anchored(dir, name), flags, target, options.mode ?? 0o644);
    await closing(fh, async (h) => {
      await h.writeFile(data);
      if (!inPlace(target)) await h.sync();
    });
    if (!existing) await syncDir(dir);
    return;
  }
  const keep: Keep = existing
    ? { mode: options.mode ?? existing.mode & 0o7777, uid: existing.uid, gid: existing.gid }
    : { mode: options.mode ?? 0o644 };
  // A write of this file killed before its rename left its temp file here: gone with its writer.
  await sweepDeadTemps(`/proc/self/fd/${dir}`, name);
  await replaceAt(target, (h) => h.writeFile(data), keep, true, dirs);
}

/** Creates a symlink at `entry` (a resolved entry whose parent exists). */
export async function symlinkAt(linkTarget: string, entry: string, dirs: CallDirs): Promise<void> {
  const dir = await parentOf(dirs, entry);
  await symlinkPath(linkTarget, anchored(dir, posix.basename(entry)));
  await syncDir(dir);
}

/**
 * Copies the file or symlink at `from` (a resolved entry) to `to` (a resolved entry) atomically.
 * `preserve` keeps mode, times and (`owner`) the owner of the source.
 */
export async function copyAt(
  from: string,
  to: string,
  preserve: { times: boolean; owner: boolean; modeMask: number; mode?: number; uid?: number; gid?: number },
  sync: boolean,
  dirs: CallDirs,
): Promise<void> {
  const src = await parentOf(dirs, from);
  const p = anchored(src, posix.basename(from));
  const st = await lstatOrNull(p);
  if (!st) throw new CxError('CX_ERR_IO', { path: from, detail: 'no such file or directory' });
  if (st.isSymbolicLink()) {
    const link = await readlink(p);
    const dir = await parentOf(dirs, to);
    const tmp = tempName(posix.basename(to));
    await symlinkPath(link, anchored(dir, tmp));
    await renamePath(anchored(dir, tmp), anchored(dir, posix.basename(to))).catch(async (e) => {
      await unlink(anchored(dir, tmp)).catch(() => undefined);
      throw e;
    });
    if (sync) await syncDir(dir);
    return;
  }
  if (!st.isFile())
    throw new CxError('CX_ERR_IO', {
      path: from,
      detail: st.isDirectory() ? 'is a directory; copy copies one file or symlink' : 'is not a regular file',
    });
  const fh = await openVerified(p, O_RDONLY | O_NONBLOCK, from);
  await closing(fh, async (inFh) => {
    const keep: Keep = { mode: preserve.mode ?? st.mode & 0o7777 & preserve.modeMask };
    if (preserve.owner) Object.assign(keep, { uid: st.uid, gid: st.gid });
    if (preserve.uid !== undefined || preserve.gid !== undefined)
      Object.assign(keep, { uid: preserve.uid ?? st.uid, gid: preserve.gid ?? st.gid });
    if (preserve.times) Object.assign(keep, { atimeMs: st.atimeMs, mtimeMs: st.mtimeMs });
    await replaceAt(
      to,
      (out) =>
        withBuffer(st.size, async (buf) => {
          for (;;) {
            const { bytesRead } = await inFh.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            await out.write(buf, 0, bytesRead);
          }
        }),
      keep,
      sync,
      dirs,
    );
  });
}

/** The real path a mkdir -p would create: real deepest existing ancestor + the rest. */
export async function plannedDir(lexical: string): Promise<string> {
  let existing = lexical;
  const rest: string[] = [];
  for (;;) {
    const real = await realOrNull(existing);
    if (real !== null) return posix.join(real, ...rest);
    rest.unshift(posix.basename(existing));
    existing = posix.dirname(existing);
  }
}

/**
 * mkdir -p, one verified component at a time: every directory walked through must lie on the way
 * to `planned` (the checked real target), so an ancestor swapped for a symlink meanwhile is refused.
 */
export async function makeDirs(lexical: string, planned: string, mode: number): Promise<void> {
  const parts = lexical.split('/').filter(Boolean);
  let dir = await openVerified('/', O_RDONLY | O_DIRECTORY, '/');
  try {
    for (const part of parts) {
      const here = await fdPath(dir);
      const next = `${here === '/' ? '' : here}/${part}`;
      try {
        await mkdirPath(anchored(dir, part), { mode });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const real = (await realOrNull(anchored(dir, part))) ?? next;
      const child = await openVerified(anchored(dir, part), O_RDONLY | O_DIRECTORY, real).catch(async (e) => {
        // An existing symlink to a directory: follow it as mkdir -p would, verified against its real path.
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOOP' || code === 'ENOTDIR') return openVerified(real, O_RDONLY | O_DIRECTORY, real);
        throw e;
      });
      await dir.close();
      dir = child;
      const at = await fdPath(dir);
      if (at !== planned && !planned.startsWith(`${at === '/' ? '' : at}/`)) throw new MovedError(planned, at);
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
}

/** Removes the entry (recursively for a directory when asked) through its verified parent. */
export async function removeAt(entry: string, recursive: boolean, dirs: CallDirs): Promise<void> {
  const dir = await parentOf(dirs, entry);
  const p = anchored(dir, posix.basename(entry));
  const st = await lstatOrNull(p);
  if (!st) throw new CxError('CX_ERR_IO', { path: entry, detail: 'no such file or directory' });
  if (st.isDirectory()) await (recursive ? rm(p, { recursive: true }) : rmdir(p));
  else await unlink(p);
  await syncDir(dir);
}

/** The parent of `entry` for a second entry of one call, or null when it cannot be opened. */
const secondParent = (dirs: CallDirs, entry: string) => parentOf(dirs, entry).catch(() => null);

/** Renames one resolved entry to another through verified parent descriptors. */
export async function renameAt(a: string, b: string, shownTo: string, sync: boolean, dirs: CallDirs): Promise<void> {
  const pa = await parentOf(dirs, a);
  const pb = await secondParent(dirs, b);
  if (pb === null) throw new CxError('CX_ERR_IO', { path: shownTo, detail: 'its directory cannot be opened' });
  await renamePath(anchored(pa, posix.basename(a)), anchored(pb, posix.basename(b)));
  if (!sync) return;
  await syncDir(pb);
  if (posix.dirname(a) !== posix.dirname(b)) await syncDir(pa);
}

/** Makes a second directory entry `to` for the file at `from` (both resolved entries): a hard link. */
export async function linkAt(from: string, to: string, sync: boolean, dirs: CallDirs): Promise<void> {
  const pa = await parentOf(dirs, from);
  const pb = await secondParent(dirs, to);
  if (pb === null) throw new CxError('CX_ERR_IO', { path: to, detail: 'its directory cannot be opened' });
  await linkPath(anchored(pa, posix.basename(from)), anchored(pb, posix.basename(to)));
  if (sync) await syncDir(pb);
}

/**
 * fsyncs one resolved file or directory (opened without following a final symlink, through its
 * verified parent); a symlink or a missing entry has nothing of its own to sync (its directory
 * entry is synced with the directory). A directory the call holds open already is synced as is.
 */
export async function fsyncAt(real: string, dirs: CallDirs): Promise<void> {
  const held = dirs.held(real);
  if (held !== undefined) return syncDir(held);
  let fh: FileHandle;
  try {
    fh = await openPath(
      real === '/' ? '/' : anchored(await parentOf(dirs, real), posix.basename(real)),
      O_RDONLY | O_NONBLOCK | O_NOFOLLOW,
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOENT') return;
    throw e;
  }
  await closing(fh, (h) => h.sync());
}
