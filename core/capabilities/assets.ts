/**
 * ctx.assets: a plugin's own files (templates, data shipped beside its code), read by a path
 * relative to its directory. No grant is needed; a path that leaves the directory (`..`, an
 * absolute path, a symlink pointing out) is refused. Reads are audited and capped like ctx.fs.
 */
import { realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import type { AssetsCapability } from '../../sdk/types.js';
import { O_NONBLOCK, O_RDONLY, openVerified } from './fs-open.js';
import { readCapped } from './fs-read.js';
import { closing, ioError, MAX_READ_BYTES } from './fs-scope.js';
import type { Guard } from './guard.js';

/** The assets of the plugin whose directory is `dir` ('' when it has none: every read fails). */
export function createAssets(guard: Guard, dir: string): AssetsCapability {
  const read = (relative: string, op: string) =>
    guard.call({ capability: 'fs', op, target: String(relative) }, async (allow) => {
      const rel = posix.normalize(String(relative));
      if (
        !dir ||
        typeof relative !== 'string' ||
        relative.startsWith('/') ||
        rel === '..' ||
        rel.startsWith('../') ||
        relative.includes('\0')
      ) {
        guard.deny({
          capability: 'read',
          target: String(relative),
          reason: `plugin assets are named relative to the plugin's directory, inside it`,
          grantable: false,
        });
      }
      const base = await realpath(dir);
      const wanted = posix.join(base, rel);
      let real: string;
      try {
        real = await realpath(wanted);
      } catch (e) {
        throw ioError(e, op, wanted);
      }
      if (real !== base && !real.startsWith(`${base}/`))
        guard.deny({
          capability: 'read',
          target: real,
          reason: `'${relative}' leads out of the plugin's directory`,
          grantable: false,
        });
      allow();
      try {
        return await closing(await openVerified(real, O_RDONLY | O_NONBLOCK, real), (fh) =>
          readCapped(fh, real, MAX_READ_BYTES, false),
        );
      } catch (e) {
        throw ioError(e, op, real);
      }
    });
  return Object.freeze({
    dir,
    readText: (relative: string) => read(relative, 'asset.readText').then((b) => new TextDecoder().decode(b)),
    readBytes: (relative: string) =>
      read(relative, 'asset.readBytes').then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
  });
}
