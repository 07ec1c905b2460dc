/**
 * The writing fs operations, one function each: grant check on the resolved path, then a fake,
 * a dry-run record (nothing is performed), or the real system calls of fs-disk.ts.
 */
import { posix } from 'node:path';
import type { CopyOptions, SyncOptions, WriteOptions } from '../../sdk/types.js';
import { CxError } from '../errors.js';
import { copyAt, fsyncAt, linkAt, makeDirs, plannedDir, removeAt, renameAt, symlinkAt, writeAt } from './fs-disk.js';
import { type CallDirs, lstatOrNull, O_NONBLOCK, O_RDONLY, openVerified } from './fs-open.js';
import {
  allowedMode,
  closing,
  effect,
  exactlyGranted,
  existingEntry,
  existingReal,
  MAX_WRITE_BYTES,
  missing,
  need,
  op,
  target,
  writeTarget,
  type FsScope,
  type Kind,
  type Target,
} from './fs-scope.js';

/**
 * Reserves a real change's growth (bytes, files) in the plugin's write quota before it is made
 * (a refusal is audited as the call's outcome); returns the change to run, which gives the
 * reservation back when it fails. Dry runs and fakes change nothing and are not counted.
 */
function charged(
  s: FsScope,
  grow: { bytes: number; files: number },
  action: string,
  real: () => Promise<void>,
): () => Promise<void> {
  const q = s.quota;
  if (!q || s.guard.dryRun) return real;
  q.take(grow.bytes, grow.files, action);
  return () =>
    real().catch((e: unknown) => {
      q.give(grow.bytes, grow.files);
      throw e;
    });
}

/** The growth of replacing (or appending to) `real` with `bytes` bytes, when a quota counts it. */
async function growth(s: FsScope, real: string, bytes: number, append: boolean) {
  if (!s.quota || s.guard.dryRun) return { bytes: 0, files: 0 };
  const before = await lstatOrNull(real).catch(() => null);
  const had = before?.isFile() ? before.size : 0;
  return { bytes: append ? bytes : bytes - had, files: before ? 0 : 1 };
}

const sizeOf = (data: string | Uint8Array) => (typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);

function checkData(data: unknown, path: string, kinds: 'text' | 'bytes' | 'either'): string | Uint8Array {
  const ok = (kinds !== 'bytes' && typeof data === 'string') || (kinds !== 'text' && data instanceof Uint8Array);
  const what = kinds === 'text' ? 'a string' : kinds === 'bytes' ? 'a Uint8Array' : 'a string or a Uint8Array';
  if (!ok || sizeOf(data as string | Uint8Array) > MAX_WRITE_BYTES)
    throw new CxError('CX_ERR_IO', { path, detail: `data must be ${what} of at most ${MAX_WRITE_BYTES} bytes` });
  return data as string | Uint8Array;
}

/** The shared body of writeFile / writeBytes / appendFile. */
function write(
  s: FsScope,
  name: string,
  path: string,
  data: string | Uint8Array,
  options: WriteOptions,
): Promise<void> {
  const bytes = sizeOf(data);
  return op(s, name, 'write', path, { bytes, mode: options.mode }, async (t, allow, dirs) => {
    const mode = allowedMode(s, options.mode);
    const action = `${options.append ? 'append' : 'write'}: ${t.disk} (${bytes} bytes)`;
    const fake =
      name === 'writeBytes' ? s.fake?.writeBytes : name === 'appendFile' ? s.fake?.appendFile : s.fake?.writeFile;
    if (fake || s.guard.dryRun) {
      need(s, 'write', fake ? t.disk : await writeTarget(s, t, dirs).catch(() => t.disk), t.asked);
      const call =
        fake &&
        (() => (fake as (p: string, d: unknown, o: unknown) => Promise<void>)(t.disk, data, { ...options, mode }));
      return effect(s, allow, action, call, async () => undefined);
    }
    const real = await writeTarget(s, t, dirs);
    need(s, 'write', real, t.asked);
    const run = charged(s, await growth(s, real, bytes, Boolean(options.append)), `${name} of ${t.disk}`, () =>
      writeAt(real, data, { ...options, mode }, s.guard.checked && exactlyGranted(s, 'write', real), dirs),
    );
    return effect(s, allow, action, undefined, run);
  });
}

export function writeFile(s: FsScope, path: string, data: string, options: WriteOptions = {}): Promise<void> {
  return write(s, options.append ? 'appendFile' : 'writeFile', path, checkData(data, String(path), 'text'), options);
}

export function writeBytes(s: FsScope, path: string, data: Uint8Array, options: { mode?: number } = {}): Promise<void> {
  return write(s, 'writeBytes', path, checkData(data, String(path), 'bytes'), { mode: options?.mode });
}

export function appendFile(
  s: FsScope,
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  return write(s, 'appendFile', path, checkData(data, String(path), 'either'), { mode: options?.mode, append: true });
}

/**
 * The entry a symlink, rename or copy names. In a dry run its directory may be missing because
 * an earlier recorded call of the same run would have made it (mkdir, write a temp file, then
 * rename it into place): the call is then checked on where it would land, and recorded.
 */
async function entryOrPlanned(s: FsScope, kind: Kind, t: Target, dirs: CallDirs): Promise<string> {
  const entry = await dirs.entry(t.disk);
  if (entry !== null) return entry;
  if (s.guard.dryRun) return plannedDir(t.disk);
  return missing(s, kind, t.disk, t.asked);
}

export function symlink(s: FsScope, linkTarget: string, path: string): Promise<void> {
  return op(s, 'symlink', 'write', path, { target: linkTarget }, async (t, allow, dirs) => {
    if (typeof linkTarget !== 'string' || !linkTarget || linkTarget.includes('\0'))
      throw new CxError('CX_ERR_IO', {
        path: t.disk,
        detail: 'a symlink target must be a non-empty string without NUL',
      });
    const entry = s.fake?.symlink ? t.disk : await entryOrPlanned(s, 'write', t, dirs);
    need(s, 'write', entry, t.asked);
    const fake = s.fake?.symlink && (() => s.fake!.symlink!(linkTarget, t.disk));
    const real = () => symlinkAt(linkTarget, entry, dirs);
    return effect(
      s,
      allow,
      `symlink: ${t.disk} -> ${linkTarget}`,
      fake,
      fake ? real : charged(s, { bytes: linkTarget.length, files: 1 }, `symlink ${t.disk}`, real),
    );
  });
}

export function copy(s: FsScope, from: string, to: string, options: CopyOptions = {}): Promise<void> {
  return op(s, 'copy', 'read', from, { to, preserve: options.preserve !== false }, async (src, allow, dirs) => {
    const dest = target(s, 'write', to);
    const a = s.fake?.copy ? src.disk : await entryOrPlanned(s, 'read', src, dirs);
    const b = s.fake?.copy ? dest.disk : await entryOrPlanned(s, 'write', dest, dirs);
    need(s, 'read', a, src.asked);
    need(s, 'write', b, dest.asked);
    const preserve = options.preserve !== false;
    const keep = {
      times: preserve,
      owner: preserve && !s.guard.checked,
      modeMask: s.guard.checked ? s.modeMask : 0o7777,
      mode: options.mode === undefined ? undefined : allowedMode(s, options.mode),
      uid: options.uid,
      gid: options.gid,
    };
    const fake = s.fake?.copy && (() => s.fake!.copy!(src.disk, dest.disk, options));
    const real = () => copyAt(a, b, keep, options.sync !== false, dirs);
    let run = real;
    if (!fake && s.quota && !s.guard.dryRun) {
      const from = await lstatOrNull(a).catch(() => null);
      run = charged(s, await growth(s, b, from?.isFile() ? from.size : 0, false), `copy to ${dest.disk}`, real);
    }
    return effect(s, allow, `copy: ${src.disk} -> ${dest.disk}`, fake, run);
  });
}

/** How many directories a mkdir -p of `planned` (a real path) creates. */
async function missingDirs(planned: string): Promise<number> {
  let n = 0;
  for (let d = planned; d !== '/' && !(await lstatOrNull(d).catch(() => null)); d = posix.dirname(d)) n++;
  return n;
}

export function mkdir(s: FsScope, path: string, options: { mode?: number } = {}): Promise<void> {
  return op(s, 'mkdir', 'write', path, { mode: options.mode }, async (t, allow) => {
    const mode = allowedMode(s, options.mode) ?? 0o755;
    const planned = s.fake?.mkdir ? t.disk : await plannedDir(t.disk);
    need(s, 'write', planned, t.asked);
    const fake = s.fake?.mkdir && (() => s.fake!.mkdir!(t.disk, { ...options, mode }));
    const real = () => makeDirs(t.disk, planned, mode);
    const run =
      fake || !s.quota ? real : charged(s, { bytes: 0, files: await missingDirs(planned) }, `mkdir ${t.disk}`, real);
    return effect(s, allow, `mkdir: ${t.disk}`, fake, run);
  });
}

export function remove(s: FsScope, path: string, options: { recursive?: boolean } = {}): Promise<void> {
  return op(s, 'remove', 'write', path, { recursive: Boolean(options.recursive) }, async (t, allow, dirs) => {
    const entry = s.fake?.remove ? t.disk : await existingEntry(s, 'write', t, dirs);
    if (s.fake?.remove) need(s, 'write', entry, t.asked);
    return effect(
      s,
      allow,
      `remove${options.recursive ? ' -r' : ''}: ${t.disk}`,
      s.fake?.remove && (() => s.fake!.remove!(t.disk, options)),
      async () => {
        const before = s.quota ? await lstatOrNull(entry).catch(() => null) : null;
        await removeAt(entry, Boolean(options.recursive), dirs);
        // What is removed is room again (a directory's contents are not counted back).
        if (before) s.quota!.take(before.isFile() ? -before.size : 0, -1, 'remove');
      },
    );
  });
}

export function rename(s: FsScope, from: string, to: string, options: SyncOptions = {}): Promise<void> {
  return op(s, 'rename', 'write', from, { to }, async (src, allow, dirs) => {
    const dest = target(s, 'write', to);
    const a = s.fake?.rename ? src.disk : await entryOrPlanned(s, 'write', src, dirs);
    const b = s.fake?.rename ? dest.disk : await entryOrPlanned(s, 'write', dest, dirs);
    need(s, 'write', a, src.asked);
    need(s, 'write', b, dest.asked);
    return effect(
      s,
      allow,
      `rename: ${src.disk} -> ${dest.disk}`,
      s.fake?.rename && (() => s.fake!.rename!(src.disk, dest.disk, options)),
      () => renameAt(a, b, posix.normalize(String(to)), options.sync !== false, dirs),
    );
  });
}

export function link(s: FsScope, existing: string, path: string, options: SyncOptions = {}): Promise<void> {
  return op(s, 'link', 'read', existing, { to: path }, async (src, allow, dirs) => {
    const dest = target(s, 'write', path);
    const a = s.fake?.link ? src.disk : await existingEntry(s, 'read', src, dirs);
    const b = s.fake?.link ? dest.disk : await entryOrPlanned(s, 'write', dest, dirs);
    need(s, 'read', a, src.asked);
    need(s, 'write', b, dest.asked);
    const fake = s.fake?.link && (() => s.fake!.link!(src.disk, dest.disk, options));
    const real = () => linkAt(a, b, options.sync !== false, dirs);
    return effect(
      s,
      allow,
      `link: ${dest.disk} => ${src.disk}`,
      fake,
      fake ? real : charged(s, { bytes: 0, files: 1 }, `link ${dest.disk}`, real),
    );
  });
}

/** fsyncs every path (files and directories; concurrently). Nothing is changed, so a dry run syncs nothing. */
export async function fsync(s: FsScope, paths: string[]): Promise<void> {
  if (!Array.isArray(paths))
    throw new CxError('CX_ERR_IO', { path: String(paths), detail: 'fsync takes a list of paths' });
  let next = 0;
  const one = (p: string) =>
    op(s, 'fsync', 'read', p, undefined, async (t, allow, dirs) => {
      const entry = s.fake?.fsync ? t.disk : ((await dirs.entry(t.disk)) ?? t.disk);
      need(s, 'read', entry, t.asked);
      allow();
      if (s.guard.dryRun) return;
      if (s.fake?.fsync) return s.fake.fsync([t.disk]);
      await fsyncAt(entry, dirs);
    });
  // fsyncs in flight together share the file system's journal commits.
  await Promise.all(
    Array.from({ length: Math.min(16, paths.length) }, async () => {
      while (next < paths.length) await one(paths[next++]!);
    }),
  );
}

export function chmod(s: FsScope, path: string, mode: number): Promise<void> {
  return op(s, 'chmod', 'write', path, { mode }, async (t, allow) => {
    const applied = allowedMode(s, Number(mode)) as number;
    const real = s.fake?.chmod ? t.disk : await existingReal(s, 'write', t);
    if (s.fake?.chmod) need(s, 'write', real, t.asked);
    return effect(
      s,
      allow,
      `chmod: ${t.disk} ${applied.toString(8)}`,
      s.fake?.chmod && (() => s.fake!.chmod!(t.disk, applied)),
      async () => closing(await openVerified(real, O_RDONLY | O_NONBLOCK, real), (fh) => fh.chmod(applied)),
    );
  });
}

export function chown(s: FsScope, path: string, uid: number, gid: number): Promise<void> {
  return op(s, 'chown', 'write', path, { uid, gid }, async (t, allow) => {
    const real = s.fake?.chown ? t.disk : await existingReal(s, 'write', t);
    if (s.fake?.chown) need(s, 'write', real, t.asked);
    return effect(
      s,
      allow,
      `chown: ${t.disk} ${uid}:${gid}`,
      s.fake?.chown && (() => s.fake!.chown!(t.disk, uid, gid)),
      async () => closing(await openVerified(real, O_RDONLY | O_NONBLOCK, real), (fh) => fh.chown(uid, gid)),
    );
  });
}
