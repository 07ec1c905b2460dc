/**
 * The kernel's atomic file write for its own files (state.json, caches): the capability's
 * writer (core/capabilities/fs-disk.ts: temp file in the same directory + fsync + rename +
 * directory fsync), without grants or audit. Plugins write through ctx.fs / ctx.localFs.
 * The one lock is core/lock.ts. A temp file that a killed write left beside the file is removed
 * by the next write of the same file, once the process that made it is gone.
 */
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { replaceAt, sweepDeadTemps } from './capabilities/fs-disk.js';
import { entryOrNull } from './capabilities/fs-open.js';

/** Writes `data` to `file` so that a reader sees either the old or the new content, never half. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await sweepDeadTemps(dirname(file), basename(file));
  const entry = (await entryOrNull(file)) ?? file;
  await replaceAt(entry, (fh) => fh.writeFile(data), { mode });
}
