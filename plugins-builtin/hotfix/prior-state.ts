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

/**
 * Captures `path`'s state; a file is copied (bytes, mode, owner, times) to `${runDir}/${backup}`
 * and durable before this resolves. `stop` is the directory above which nothing is created.
 */
export async function capturePath(
  files: HostFiles,
  path: string,
  runDir: string,
  backup: string,
  stop: string,
): Promise<PathState> {
  const info = await files.lstat(path);
  if (!info) {
    const created: string[] = [];
    for (let d = parentOf(path); d !== '/' && d !== stop && d.length > stop.length; d = parentOf(d)) {
      if (await files.lstat(d)) break;
      created.unshift(d);
    }
    return { path, kind: 'absent', ...(created.length ? { created_dirs: created } : {}) };
  }
  const meta = { mode: info.mode, uid: info.uid, gid: info.gid };
  if (info.type === 'symlink') return { path, kind: 'symlink', ...meta, target: await files.readlink(path) };
  if (info.type !== 'file')
    throw new TargetTypeError(
      `${path} is a ${info.type === 'directory' ? 'directory' : 'device, FIFO or socket'}; a hotfix operation replaces files and symlinks only`,
    );
  await files.copyExact(path, `${runDir}/${backup}`);
  return { path, kind: 'file', ...meta, size: info.size, sha256: await files.sha256(`${runDir}/${backup}`), backup };
}

/** What is at the path now differs from `s` in these ways (empty: identical). */
export async function differences(files: HostFiles, s: PathState): Promise<string[]> {
  const info = await files.lstat(s.path);
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
    const t = await files.readlink(s.path);
    if (t !== s.target) out.push(`${s.path}: points to ${t}, pointed to ${s.target}`);
  } else if (info.size !== s.size || (await files.sha256(s.path)) !== s.sha256)
    out.push(`${s.path}: content differs (sha256)`);
  return out;
}

/**
 * Puts `s` back (idempotent: safe to repeat after a crash midway) and verifies it. A file or
 * symlink is built beside the path and renamed over it, so the path is never half-written.
 */
export async function restorePath(files: HostFiles, s: PathState, runDir: string): Promise<string[]> {
  if (!(await differences(files, s)).length) return [];
  const tmp = `${parentOf(s.path)}/.${s.path.slice(parentOf(s.path).length + 1)}.hotfix-restore.tmp`;
  if (await files.lstat(tmp)) await files.remove(tmp);
  const now = await files.lstat(s.path);
  if (s.kind === 'absent') {
    if (now?.type === 'directory') return [`${s.path} should not exist but is a directory now; left as it is`];
    if (now) await files.remove(s.path);
    for (const d of [...(s.created_dirs ?? [])].reverse()) {
      const info = await files.lstat(d);
      if (info?.type === 'directory') await files.remove(d).catch(() => undefined); // not empty: something else lives there now
    }
    return differences(files, s);
  }
  if (now?.type === 'directory') return [`${s.path} is a directory now; left as it is`];
  if (s.kind === 'symlink') {
    await files.symlink(s.target!, tmp);
    await files.lchown(tmp, s.uid!, s.gid!);
  } else {
    await files.copyExact(`${runDir}/${s.backup}`, tmp);
    await files.chmod(tmp, s.mode!);
    await files.lchown(tmp, s.uid!, s.gid!);
  }
  await files.rename(tmp, s.path);
  return differences(files, s);
}
