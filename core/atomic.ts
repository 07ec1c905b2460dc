/**
 * The kernel's atomic file write for its own files (state.json, caches): the capability's
 * writer (core/capabilities/fs-disk.ts: temp file in the same directory + fsync + rename +
 * directory fsync), without grants or audit. Plugins write through ctx.fs / ctx.localFs.
 * The one lock is core/lock.ts. A temp file that a killed write left beside the file is removed
 * by the next write of the same file, once the process that made it is gone.
 */
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { replaceAt } from './capabilities/fs-disk.js';
import { entryOrNull } from './capabilities/fs-open.js';
import { pidGone } from './lock.js';

/** fs-disk's temp names for `name`: `.NAME.cx-PID-HEX.tmp`. */
const tempOf = (name: string) =>
  new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.cx-(\\d+)-[0-9a-f]{8}\\.tmp$`);

/** Removes the temp files of killed writes of `file` (only its own temp names, only of dead processes). */
async function sweepTemps(file: string): Promise<void> {
  const dir = dirname(file);
  const temp = tempOf(basename(file));
  for (const entry of await readdir(dir).catch(() => [])) {
    const m = temp.exec(entry);
    if (m && pidGone(Number(m[1]))) await unlink(join(dir, entry)).catch(() => undefined);
  }
}

/** Writes `data` to `file` so that a reader sees either the old or the new content, never half. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await sweepTemps(file);
  const entry = (await entryOrNull(file)) ?? file;
  await replaceAt(entry, (fh) => fh.writeFile(data), { mode });
}
