/**
 * Lists a directory tree, recording what a snapshot must give back: type, mode, owner, size and
 * symlink targets. Excluded paths (the snapshot store itself) are skipped.
 */
import type { PluginContext } from 'cx-ops/sdk';

/** One file, directory or symlink, relative to the tree's top. */
export interface TreeEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Symlink target. */
  target?: string;
}

/**
 * Lock files (`*.lock`, e.g. the kernel's state.lock) belong to the run that holds them: never
 * snapshotted, never restored, never removed by a rollback.
 */
export const LOCK_FILE_PATTERN = '*.lock';

/** True when `path` is `dir` or inside it. */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir.replace(/\/+$/, '')}/`);
}

const TYPES: Record<string, TreeEntry['type']> = { f: 'file', d: 'directory', l: 'symlink' };

/**
 * Every entry under `top` (not `top` itself), sorted by path. One `find -printf` call with
 * NUL-separated fields (any file name is safe) instead of a stat per entry.
 */
export async function walkTree(ctx: PluginContext<unknown>, top: string, exclude: string[] = []): Promise<TreeEntry[]> {
  if (!(await ctx.localFs.stat(top))) return [];
  const prune = exclude.filter((x) => isWithin(x, top) && x !== top).flatMap((x) => ['-path', x, '-prune', '-o']);
  const locks = ['-name', LOCK_FILE_PATTERN, '-prune', '-o'];
  const r = await ctx.exec.run(
    'find',
    [top, '-mindepth', '1', ...prune, ...locks, '-printf', '%P\\0%y\\0%m\\0%U\\0%G\\0%s\\0%l\\0'],
    { readOnly: true, timeoutMs: 300_000 },
  );
  if (r.exitCode !== 0) throw new Error(`listing ${top} failed (find exit ${r.exitCode}): ${r.stderr.trim()}`);
  // A cut listing would make a snapshot that silently misses files: refuse instead.
  if (r.truncated)
    throw new Error(
      `${top} holds too many entries to list in one snapshot (listing over the output cap); move bulky data out of it`,
    );
  const f = r.stdout.split('\0');
  const out: TreeEntry[] = [];
  for (let i = 0; i + 7 <= f.length; i += 7) {
    const type = TYPES[f[i + 1]!] ?? 'other';
    const entry: TreeEntry = {
      path: f[i]!,
      type,
      mode: parseInt(f[i + 2]!, 8),
      uid: Number(f[i + 3]),
      gid: Number(f[i + 4]),
      size: type === 'file' ? Number(f[i + 5]) : 0,
    };
    if (type === 'symlink') entry.target = f[i + 6]!;
    out.push(entry);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
