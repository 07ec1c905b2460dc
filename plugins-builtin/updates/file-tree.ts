/**
 * Walks a directory tree through ctx.fs, recording what a snapshot must give back: type, mode,
 * owner, size and symlink targets. Excluded paths (the snapshot store itself) are skipped.
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

/** True when `path` is `dir` or inside it. */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir.replace(/\/+$/, '')}/`);
}

/** Every entry under `top` (not `top` itself), parents before children, sorted by path. */
export async function walkTree(ctx: PluginContext<any>, top: string, exclude: string[] = []): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    const abs = rel ? `${top}/${rel}` : top;
    const names = (await ctx.fs.readDir(abs)).map((e) => e.name).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const childAbs = `${top}/${childRel}`;
      if (exclude.some((x) => isWithin(childAbs, x))) continue;
      const s = await ctx.fs.stat(childAbs);
      if (!s) continue;
      const entry: TreeEntry = { path: childRel, type: s.type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.type === 'file' ? s.size : 0 };
      if (s.type === 'symlink') entry.target = await ctx.fs.readlink(childAbs);
      out.push(entry);
      if (s.type === 'directory') await visit(childRel);
    }
  };
  if (await ctx.fs.stat(top)) await visit('');
  return out;
}
