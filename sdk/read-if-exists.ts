/** Reading a file that may be absent. */
import type { FsCapability } from './types.js';

/** Reads a file (through ctx.fs or ctx.localFs), or resolves null when it does not exist. */
export async function readIfExists(fs: FsCapability, path: string): Promise<string | null> {
  if (!(await fs.stat(path))) return null;
  return fs.readFile(path);
}
