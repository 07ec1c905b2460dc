/**
 * `hostPath(env, p)`: `p` under ctx.env.root, as a path on disk. Kept for plugins written before
 * the rooted host view: new code names host paths with ctx.fs (the capability applies --root),
 * uses ctx.fs.diskPath(p) for program arguments, and reads disk paths with ctx.localFs.
 */
import type { RuntimeEnv } from './types.js';

/** The path of `p` (absolute on the inspected host) under ctx.env.root, for ctx.localFs and program arguments. */
export function hostPath(env: Pick<RuntimeEnv, 'root'>, p: string): string {
  const root = env.root.replace(/\/+$/, '');
  return root === '' ? p : `${root}${p.startsWith('/') ? p : `/${p}`}`;
}
