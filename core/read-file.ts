/**
 * How cx-ops reads its own files (config.yaml, state.json, plugin.yaml, caches, indexes): a
 * regular file under a size cap checked on the opened descriptor, so a FIFO, a device or
 * /dev/zero in its place is a clear CX_ERR_IO naming the path, never a hang. Every read error is
 * CX_ERR_IO with the path and what to do; a dangling or looping symlink is one too, never "absent".
 */
import { lstat, open, readlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import { CxError } from './errors.js';
import { readCapped } from './capabilities/fs-read.js';
import { ioError } from './capabilities/fs-scope.js';

/** The cap for files cx-ops reads for itself (manifests, configs, indexes, state). */
export const MAX_OWN_FILE_BYTES = 8 * 1024 * 1024;

/** The bytes of `file`, or undefined when nothing is there (not even a symlink). */
export async function readRegularFile(file: string, maxBytes = MAX_OWN_FILE_BYTES): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const link = await lstat(file).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      if (!link) return undefined;
      const target = await readlink(file).catch(() => '?');
      throw new CxError('CX_ERR_IO', {
        path: file,
        detail: `is a dangling symlink (to ${target}); point it at a file or remove it`,
      });
    }
    if (code === 'ELOOP')
      throw new CxError('CX_ERR_IO', { path: file, detail: 'is a symlink loop; point it at a file or remove it' });
    if (code === 'ENOTDIR')
      throw new CxError('CX_ERR_IO', {
        path: file,
        detail:
          'cannot be read: a part of its path is a file, not a directory (check --config-dir, --data-dir and CX_* directories)',
      });
    throw ioError(e, 'read', file);
  }
  try {
    return await readCapped(fh, file, maxBytes, false);
  } catch (e) {
    throw ioError(e, 'read', file);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * A cache file cx-ops wrote for itself, parsed as JSON, or undefined when it is absent or
 * unusable (not a regular file, over the cap, not JSON): a cache only saves time, so a damaged
 * one is read as empty and written afresh, never an error and never a hang. The caller checks
 * the shape of what it gets.
 */
export async function readCacheFile(file: string): Promise<unknown> {
  try {
    const bytes = await readRegularFile(file);
    return bytes ? (JSON.parse(bytes.toString('utf8')) as unknown) : undefined;
  } catch {
    return undefined;
  }
}
