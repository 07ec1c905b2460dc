/**
 * Fetching a registry's index, with a cache in the plugin's cache directory (written through
 * ctx.localFs: a dry run lists the cache writes instead of making them). An unreachable registry
 * falls back to the cached index and says how old it is; with no cache it is an error.
 */
import { messageOf, type FsCapability } from 'cx-ops/sdk';
import { join } from 'node:path';
import { readBytesIfExists, utf8, writeFileAtomic, type RegistryCaps } from './local-files.js';
import { parseIndex, type RegistryIndex } from './registry-index.js';
import type { RegistrySource } from './registry-sources.js';
import { fetchBytes, indexLocation } from './transport.js';
import { registryErrors } from './errors.js';

export interface LoadedIndex {
  registry: RegistrySource;
  index: RegistryIndex;
  /** Where the index was read from (archive references resolve against it). */
  indexAt: string;
  /** ISO time the index was fetched. */
  fetchedAt: string;
  fromCache: boolean;
}

interface CacheMeta {
  url: string;
  fetched_at: string;
}

const cachePaths = (cacheDir: string, name: string) => ({
  text: join(cacheDir, 'indexes', `${name}.yaml`),
  meta: join(cacheDir, 'indexes', `${name}.json`),
});

/** "42 seconds", "3 minutes", "5 hours", "2 days". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const unit = (n: number, u: string) => `${n} ${u}${n === 1 ? '' : 's'}`;
  if (s < 120) return unit(s, 'second');
  if (s < 7200) return unit(Math.round(s / 60), 'minute');
  if (s < 172800) return unit(Math.round(s / 3600), 'hour');
  return unit(Math.round(s / 86400), 'day');
}

/** The cached index of a registry, if any (no network). */
export async function cachedIndex(
  fs: FsCapability,
  cacheDir: string,
  registry: RegistrySource,
): Promise<LoadedIndex | undefined> {
  const p = cachePaths(cacheDir, registry.name);
  const [text, metaText] = await Promise.all([readBytesIfExists(fs, p.text), readBytesIfExists(fs, p.meta)]);
  if (!text || !metaText) return undefined;
  let meta: Partial<CacheMeta> | null;
  try {
    meta = JSON.parse(utf8(metaText)) as Partial<CacheMeta> | null;
  } catch {
    return undefined; // a damaged cache is no cache: the index is fetched afresh
  }
  if (meta?.url !== indexLocation(registry.url) || typeof meta.fetched_at !== 'string') return undefined;
  return {
    registry,
    index: parseIndex(text, `${p.text} (cached copy of ${meta.url})`),
    indexAt: meta.url,
    fetchedAt: meta.fetched_at,
    fromCache: true,
  };
}

export interface LoadOptions {
  /** Reads and downloads the index, writes the cache. */
  caps: Pick<RegistryCaps, 'localFs' | 'net'>;
  cacheDir: string;
  /** Called with a warning when the cached index is used instead. */
  warn(message: string): void;
  now?: () => number;
}

/** Fetches a registry's index (validating it) and caches it; unreachable -> the cached copy with a warning. */
export async function loadIndex(registry: RegistrySource, o: LoadOptions): Promise<LoadedIndex> {
  const at = indexLocation(registry.url);
  let bytes: Uint8Array;
  try {
    bytes = await fetchBytes(o.caps, at);
  } catch (e) {
    const cached = await cachedIndex(o.caps.localFs, o.cacheDir, registry);
    if (!cached)
      throw registryErrors.CX_ERR_REGISTRY_UNREACHABLE({ name: registry.name, url: at, detail: messageOf(e) });
    const age = formatAge((o.now?.() ?? Date.now()) - Date.parse(cached.fetchedAt));
    o.warn(
      `warning: registry '${registry.name}' (${at}) is unreachable: ${messageOf(e)}; using its cached index from ${cached.fetchedAt} (${age} old).\n`,
    );
    return cached;
  }
  const index = parseIndex(bytes, at);
  const fetchedAt = new Date(o.now?.() ?? Date.now()).toISOString();
  const p = cachePaths(o.cacheDir, registry.name);
  await writeFileAtomic(o.caps.localFs, p.text, bytes);
  await writeFileAtomic(
    o.caps.localFs,
    p.meta,
    `${JSON.stringify({ url: at, fetched_at: fetchedAt } satisfies CacheMeta)}\n`,
  );
  return { registry, index, indexAt: at, fetchedAt, fromCache: false };
}

/** Loads the indexes of several registries; each failure is reported through `warn` and skipped unless `strict`. */
export async function loadIndexes(
  registries: RegistrySource[],
  o: LoadOptions & { strict?: boolean },
): Promise<LoadedIndex[]> {
  const out: LoadedIndex[] = [];
  for (const r of registries) {
    try {
      out.push(await loadIndex(r, o));
    } catch (e) {
      if (o.strict || registries.length === 1) throw e;
      o.warn(`warning: skipping registry '${r.name}': ${e instanceof Error ? e.message.split('\n')[0] : e}\n`);
    }
  }
  return out;
}
