/**
 * Paths on the inspected host. Checks and fixes read `${root}/proc/meminfo`, not
 * `/proc/meminfo`, so tests feed fixture trees and the real host ("/") alike.
 */
import type { FsCapability, RuntimeEnv } from './types.js';

/** The path of `p` (absolute on the inspected host) under ctx.env.root. */
export function hostPath(env: Pick<RuntimeEnv, 'root'>, p: string): string {
  const root = env.root.replace(/\/+$/, '');
  return root === '' ? p : `${root}${p.startsWith('/') ? p : `/${p}`}`;
}

/** Reads a file, or resolves null when it does not exist. */
export async function readIfExists(fs: FsCapability, path: string): Promise<string | null> {
  if (!(await fs.stat(path))) return null;
  return fs.readFile(path);
}
