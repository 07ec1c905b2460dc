/**
 * The capabilities the registry's work goes through, and the few file steps it repeats. Every
 * file it reads or writes is one of cx-ops' own (config, data and cache directories) or a path
 * the user typed, so it goes through ctx.localFs: audited in audit.jsonl, and recorded instead
 * of performed in a dry run or under --dev. Downloads go through ctx.net, locks through ctx.lock.
 */
import { dirname } from 'node:path';
import type { FsCapability, PluginContext } from 'cx-ops/sdk';

/** What the registry's work functions use of a plugin context. */
export type RegistryCaps = Pick<PluginContext, 'localFs' | 'net' | 'lock'>;

/** A file's bytes, or undefined when nothing is there. */
export async function readBytesIfExists(
  fs: FsCapability,
  path: string,
  maxBytes?: number,
): Promise<Uint8Array | undefined> {
  if (!(await fs.stat(path))) return undefined;
  return fs.readBytes(path, maxBytes === undefined ? undefined : { maxBytes });
}

/** UTF-8 text of bytes. */
export const utf8 = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Replaces a file atomically (the capability's writeBytes), making its directory first. */
export async function writeFileAtomic(
  fs: FsCapability,
  path: string,
  data: string | Uint8Array,
  mode?: number,
): Promise<void> {
  if (!(await fs.stat(dirname(path)))) await fs.mkdir(dirname(path));
  await fs.writeBytes(
    path,
    typeof data === 'string' ? new TextEncoder().encode(data) : data,
    mode === undefined ? {} : { mode },
  );
}
