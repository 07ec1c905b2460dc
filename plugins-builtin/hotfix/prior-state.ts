/**
 * The seed's `capture_file_state` and its inverse: the state of a path before a step (absent,
 * a file with its bytes backed up, or a symlink; mode, owner, group; the directories the step
 * will create above it) and putting exactly that back. cx-ops-rollback's restorePath does the
 * same from the journal alone.
 */
import type { HostFiles } from './host-files.js';
import type { PathState } from './run-journal.js';

/** Why a path cannot be a hotfix target (a directory or a device). */
export class TargetTypeError extends Error {}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** A captured prior state, and the files the capture wrote that still need an fsync. */
export interface Captured {
  state: PathState;
  unsynced: string[];
}

/**
 * Captures `path`'s state. A file is kept at `${runDir}/${backup}`: as a hard link when `link`
 * (the step replaces the path by rename and never writes it in place, so the old file is left
 * untouched under the backup's name) and the file has no other name, else as a copy (bytes,
 * mode, owner, times). Nothing is fsynced here: the caller syncs `unsynced` and the backup
 * directory before it journals the intent. `stop` is the directory above which nothing is created;
 * `dirs` remembers directories known to exist (within one batch).
 */
export async function capturePath(
  files: HostFiles,
  path: string,
  runDir: string,
  backup: string,
  stop: string,
  link = false,
  dirs = new Set<string>(),
): Promise<Captured> {
  const info = await files.lstat(path);
  if (!info) {
    const created: string[] = [];
    for (let d = parentOf(path); d !== '/' && d !== stop && d.length > stop.length; d = parentOf(d)) {
      if (dirs.has(d) || (await files.lstat(d))) {
        dirs.add(d);
        break;
      }
      created.unshift(d);
    }
    return { state: { path, kind: 'absent', ...(created.length ? { created_dirs: created } : {}) }, unsynced: [] };
  }
  const meta = { mode: info.mode, uid: info.uid, gid: info.gid };
  if (info.type === 'symlink')
    return { state: { path, kind: 'symlink', ...meta, target: await files.readlink(path) }, unsynced: [] };
  if (info.type !== 'file')
    throw new TargetTypeError(
      `${path} is a ${info.type === 'directory' ? 'directory' : 'device, FIFO or socket'}; a hotfix operation replaces files and symlinks only`,
    );
  const to = `${runDir}/${backup}`;
  let linked = false;
  if (link && info.nlink === 1)
    linked = await files.link(path, to, false).then(
      () => true,
      () => false, // another file system, or not permitted: copy it
    );
  if (!linked) await files.copyExact(path, to, false);
  const state: PathState = { path, kind: 'file', ...meta, size: info.size, sha256: await files.sha256(to), backup };
  return { state, unsynced: linked ? [] : [to] };
}

/** What is at the path now (`now`: its lstat, when the caller has it) differs from `s` in these ways (empty: identical). */
export async function differences(
  files: HostFiles,
  s: PathState,
  now?: Awaited<ReturnType<HostFiles['lstat']>>,
): Promise<string[]> {
  const info = now === undefined ? await files.lstat(s.path) : now;
  if (s.kind === 'absent') return info ? [`${s.path} should not exist but is a ${info.type}`] : [];
  if (!info) return [`${s.path} is missing`];
  const want = s.kind === 'file' ? 'file' : 'symlink';
  if (info.type !== want) return [`${s.path} is a ${info.type}, was a ${want}`];
  const out: string[] = [];
  if (s.kind === 'file' && info.mode !== s.mode)
    out.push(`${s.path}: mode ${info.mode.toString(8)}, was ${s.mode!.toString(8)}`);
  if (info.uid !== s.uid || info.gid !== s.gid)
    out.push(`${s.path}: owner ${info.uid}:${info.gid}, was ${s.uid}:${s.gid}`);
  if (s.kind === 'symlink') {
    const t = info.target ?? (await files.readlink(s.path));
    if (t !== s.target) out.push(`${s.path}: points to ${t}, pointed to ${s.target}`);
  } else if (info.size !== s.size || (await files.sha256(s.path)) !== s.sha256)
    out.push(`${s.path}: content differs (sha256)`);
  return out;
}

/**
 * Builds `tmp` as the file `s` from its backup: a hard link when it can (no bytes copied), else a
 * copy. Resolves true for a link.
 */
async function fileFromBackup(files: HostFiles, backup: string, tmp: string, sync: boolean): Promise<boolean> {
  const link = () =>
    files.link(backup, tmp, false).then(
      () => true,
      () => false,
    );
  let linked = await link();
  // A temp file left by a restore that was cut short: remove it and try again.
  if (!linked && (await files.lstat(tmp))) {
    await files.remove(tmp);
    linked = await link();
  }
  if (!linked) await files.copyExact(backup, tmp, sync);
  return linked;
}

/** The temp name a restore builds a path's old file or symlink under, beside it. */
export function restoreTemp(path: string): string {
  return `${parentOf(path)}/.${path.slice(parentOf(path).length + 1)}.hotfix-restore.tmp`;
}

/**
 * Puts `s` back (idempotent: safe to repeat after a crash midway) and verifies it (type, mode,
 * owner, content hash or link target, absence). A file or symlink is built beside the path and
 * renamed over it, so the path is never half-written; a file comes back as a hard link of its
 * backup when it can (which keeps the file's mode and owner). With `unsynced`, nothing is fsynced
 * here: what needs it is added there (the directory; the file too when it was copied, as a
 * linked file is the backup, already durable).
 */
export async function restorePath(
  files: HostFiles,
  s: PathState,
  runDir: string,
  unsynced?: Set<string>,
): Promise<string[]> {
  const sync = !unsynced;
  unsynced?.add(parentOf(s.path));
  // A run killed inside a write of this path left the writer's temp file beside it.
  await files.sweepWriteTemps(s.path);
  const tmp = restoreTemp(s.path);
  if (s.kind === 'file') {
    let left: string[];
    // Restored whether or not it looks the same already: that costs what checking its bytes would.
    try {
      const linked = await fileFromBackup(files, `${runDir}/${s.backup}`, tmp, sync);
      if (!linked) unsynced?.add(s.path);
      await files.rename(tmp, s.path, sync);
      const after = await files.lstat(s.path);
      // A rename between two links of one file does nothing (the step had not replaced it): the
      // file then has a third name, the link, which goes.
      if (linked && after && after.nlink > 2) await files.remove(tmp).catch(() => undefined);
      left = await differences(files, s, after);
    } catch (e) {
      await files.remove(tmp).catch(() => undefined);
      const now = await files.lstat(s.path);
      if (now?.type === 'directory') return [`${s.path} is a directory now; left as it is`];
      if (!(await differences(files, s)).length) return []; // as it was already (its backup is gone)
      throw e;
    }
    if (!left.length || left.some((d) => /content|missing| is a /.test(d))) return left;
    // Only mode or owner differ (the backup's file was changed in place since): set them.
    await files.chmod(s.path, s.mode!);
    await files.lchown(s.path, s.uid!, s.gid!);
    return differences(files, s);
  }
  const now = await files.lstat(s.path);
  if (s.kind === 'absent') {
    if (now?.type === 'directory') return [`${s.path} should not exist but is a directory now; left as it is`];
    // Killed before the file was in place, the directories made for it may be there already.
    if (now) await files.remove(s.path);
    for (const d of [...(s.created_dirs ?? [])].reverse()) {
      const info = await files.lstat(d);
      if (info?.type === 'directory') await files.remove(d).catch(() => undefined); // not empty: something else lives there now
    }
    return differences(files, s);
  }
  if (now?.type === 'directory') return [`${s.path} is a directory now; left as it is`];
  if (now?.type === 'symlink' && now.target === s.target && now.uid === s.uid && now.gid === s.gid) return [];
  if (await files.lstat(tmp)) await files.remove(tmp);
  await files.symlink(s.target!, tmp);
  await files.lchown(tmp, s.uid!, s.gid!);
  await files.rename(tmp, s.path, sync);
  return differences(files, s);
}
