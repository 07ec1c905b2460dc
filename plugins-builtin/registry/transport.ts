/**
 * Where registries live: a directory path, a file:// URL or an http(s):// URL. Reads bytes
 * from any of them with a time limit and a size cap.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { INDEX_FILE } from './registry-index.js';

/** Largest index or archive accepted. */
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
 * An archive reference of the index, made absolute against the index's location. A remote index
 * may only point at http(s) archives: it never makes cx-ops read a local file.
 */
export function resolveReference(indexAt: string, ref: string): string {
  const remote = /^https?:\/\//i.test(indexAt);
  if (SCHEME.test(ref)) {
    if (remote && !/^https?:\/\//i.test(ref)) throw new Error(`the index at ${indexAt} points at a local archive (${ref}); a remote registry may only name http(s) archives`);
    return ref;
  }
  if (!SCHEME.test(indexAt)) return isAbsolute(ref) ? ref : resolve(dirname(indexAt), ref);
  return new URL(ref, indexAt).href;
}

/** Reads bytes from a path, file:// or http(s):// URL. Errors say what failed, without a stack. */
export async function fetchBytes(location: string, timeoutMs = DOWNLOAD_TIMEOUT_MS): Promise<Buffer> {
  if (!SCHEME.test(location) || location.startsWith('file:')) {
    const path = SCHEME.test(location) ? fileURLToPath(location) : location;
    try {
      const data = await readFile(path);
      if (data.length > MAX_DOWNLOAD_BYTES) throw new Error(`larger than ${MAX_DOWNLOAD_BYTES} bytes`);
      return data;
    } catch (e: any) {
      throw new Error(e?.code === 'ENOENT' ? `${path} does not exist` : `${path}: ${e?.message ?? e}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(location, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (e: any) {
    const cause = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(e);
    throw new Error(e?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `cannot connect (${cause})`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  }
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_DOWNLOAD_BYTES) throw new Error(`${length} bytes is more than the ${MAX_DOWNLOAD_BYTES}-byte limit`);
  const data = Buffer.from(await res.arrayBuffer());
  if (data.length > MAX_DOWNLOAD_BYTES) throw new Error(`more than the ${MAX_DOWNLOAD_BYTES}-byte limit`);
  return data;
}

/** A local path as a file:// URL (for lock files that must work on another host's layout). */
export function asUrl(location: string): string {
  return SCHEME.test(location) ? location : pathToFileURL(location).href;
}
