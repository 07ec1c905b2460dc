/**
 * Where registries live: a directory path, a file:// URL or an http(s):// URL. Reads bytes
 * from any of them with a time limit and a size cap, through ctx.localFs and ctx.net.
 */
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isCxError, messageOf } from 'cx-ops/sdk';
import type { RegistryCaps } from './local-files.js';
import { INDEX_FILE } from './registry-index.js';

/** Largest index or archive accepted over http(s); a local one is also held to ctx.localFs's read cap (8 MiB). */
export const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;
export const DOWNLOAD_TIMEOUT_MS = 30_000;

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A registry location in canonical form: an absolute directory path, or a URL. Throws for an unsupported scheme. */
export function canonicalLocation(location: string, cwd = process.cwd()): string {
  if (!SCHEME.test(location)) return resolve(cwd, location);
  const url = new URL(location);
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
    throw new Error(`unsupported registry location '${location}': use a directory, a file:// URL or an http(s):// URL`);
  }
  return url.href;
}

/** The URL or path of a registry's index: the location itself when it names a .yaml file, else its index.yaml. */
export function indexLocation(location: string): string {
  if (/\.ya?ml$/i.test(location)) return location;
  if (!SCHEME.test(location)) return resolve(location, INDEX_FILE);
  return new URL(INDEX_FILE, location.endsWith('/') ? location : `${location}/`).href;
}

/**
 * An archive reference of the index, made absolute against the index's location. A local
 * index's archives must stay inside its registry (under the index's directory once `..` is
 * resolved; no absolute path elsewhere): an index never makes cx-ops open /etc/passwd. A remote
 * index may only point at http(s) archives (a CDN is fine: the sha256 and signature decide).
 */
export function resolveReference(indexAt: string, ref: string): string {
  if (/^https?:\/\//i.test(indexAt)) {
    if (SCHEME.test(ref) && !/^https?:\/\//i.test(ref))
      throw new Error(
        `the index at ${indexAt} points at a local archive (${ref}); a remote registry may only name http(s) archives`,
      );
    return new URL(ref, indexAt).href;
  }
  const fileUrl = indexAt.startsWith('file:');
  const dir = dirname(fileUrl ? fileURLToPath(indexAt) : indexAt);
  const path = ref.startsWith('file:') ? fileURLToPath(ref) : SCHEME.test(ref) ? undefined : resolve(dir, ref);
  const rel = path === undefined ? '..' : relative(dir, path);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    throw new Error(
      `the index at ${indexAt} names the archive '${ref}', which is outside the registry (${dir}); archives of a local registry are files under its directory`,
    );
  return fileUrl ? pathToFileURL(path!).href : path!;
}

/**
 * The real path of `path` through ctx.localFs (each symlink on the way replaced by where it
 * leads, 40 at most, as the kernel's own resolution); a part that does not exist ends it.
 */
async function realPathOf(fs: RegistryCaps['localFs'], path: string): Promise<string> {
  let rest = resolve(path).split('/').filter(Boolean);
  let real = '/';
  for (let hops = 0; rest.length;) {
    const [part, ...more] = rest;
    const next = resolve(real, part!);
    const st = await fs.lstat(next).catch(() => null);
    if (st?.type !== 'symlink') {
      real = next;
      rest = more;
      continue;
    }
    if (++hops > 40) throw new Error(`${path}: too many levels of symbolic links`);
    const target = await fs.readlink(next);
    rest = [...resolve(real, target).split('/').filter(Boolean), ...more];
    real = '/';
  }
  return real;
}

/**
 * A local archive reference checked where it really leads: resolveReference judged the path as
 * written, and a symlink inside the registry (archives/x.tgz -> /etc/shadow) must not take the
 * read outside it either. Remote references are left to the download (sha256 and signature).
 */
export async function checkLocalReference(
  fs: RegistryCaps['localFs'],
  indexAt: string,
  resolved: string,
): Promise<void> {
  if (SCHEME.test(resolved) && !resolved.startsWith('file:')) return;
  const path = resolved.startsWith('file:') ? fileURLToPath(resolved) : resolved;
  const dir = dirname(indexAt.startsWith('file:') ? fileURLToPath(indexAt) : indexAt);
  const [realDir, realPath] = [await realPathOf(fs, dir), await realPathOf(fs, path)];
  const rel = relative(realDir, realPath);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    throw new Error(
      `the index at ${indexAt} names the archive '${path}', which leads outside the registry (to ${realPath}, through a symbolic link); archives of a local registry are files under its directory`,
    );
}

/** Why a download or read failed, in the words of the old messages (no stack, no code prefix). */
function reason(e: unknown, timeoutMs: number): string {
  const detail = isCxError(e) && e.code === 'CX_ERR_IO' ? String(e.params.detail ?? e.message) : messageOf(e);
  const bare = detail.replace(/^download failed: /, '');
  if (bare === 'timed out') return `no answer within ${timeoutMs} ms`;
  if (/^E[A-Z0-9_]+$/.test(bare)) return `cannot connect (${bare})`;
  return bare;
}

/**
 * Reads bytes from a path or file:// URL (ctx.localFs: at most its 8 MiB read cap) or downloads
 * them from an http(s):// URL (ctx.net.download: redirects are not followed). Errors say what
 * failed, without a stack.
 */
export async function fetchBytes(
  caps: Pick<RegistryCaps, 'localFs' | 'net'>,
  location: string,
  timeoutMs = DOWNLOAD_TIMEOUT_MS,
  maxBytes = MAX_DOWNLOAD_BYTES,
): Promise<Uint8Array> {
  if (!SCHEME.test(location) || location.startsWith('file:')) {
    const path = SCHEME.test(location) ? fileURLToPath(location) : location;
    const st = await caps.localFs.stat(path).catch(() => null);
    if (!st) throw new Error(`${path} does not exist`);
    try {
      return await caps.localFs.readBytes(path, { maxBytes });
    } catch (e) {
      throw new Error(`${path}: ${reason(e, timeoutMs)}`, { cause: e });
    }
  }
  try {
    return (await caps.net.download(location, { maxBytes, timeoutMs })).bytes;
  } catch (e) {
    throw new Error(reason(e, timeoutMs), { cause: e });
  }
}
