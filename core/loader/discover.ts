/**
 * Finds plugin directories: built-in plugins, /etc/cx/plugins (the system plugin directory), installed
 * plugins, the per-user directory, and explicit directories. A broken manifest is reported and
 * skipped; the first plugin of a name wins and a second one is reported.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic.js';
import { CxError, messageOf } from '../errors.js';
import type { Paths } from '../paths.js';
import { readCacheFile } from '../read-file.js';
import { shippedValidator } from '../schema.js';
import { readManifest, type PluginManifest, MANIFEST_FILE } from './manifest.js';

export type PluginSource = 'builtin' | 'system' | 'installed' | 'user' | 'explicit';

export interface DiscoveredPlugin {
  name: string;
  dir: string;
  source: PluginSource;
  manifest: PluginManifest;
  manifestFile: string;
}

export interface Discovery {
  plugins: Map<string, DiscoveredPlugin>;
  errors: CxError[];
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Plugin directories under `root`: root itself if it has a plugin.yaml, else its sub-directories. */
async function pluginDirsIn(root: string): Promise<string[]> {
  if (await exists(join(root, MANIFEST_FILE))) return [root];
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => join(root, e.name))
    .sort();
}

/** The directories searched, in priority order. */
export function pluginRoots(paths: Paths, systemDir?: string): Array<{ dir: string; source: PluginSource }> {
  return [
    { dir: paths.builtinDir, source: 'builtin' },
    { dir: systemDir ?? join(paths.configDir, 'plugins'), source: 'system' },
    { dir: paths.installDir, source: 'installed' },
    { dir: paths.userPluginDir, source: 'user' },
    ...paths.extraPluginDirs.map((dir) => ({ dir, source: 'explicit' as const })),
  ];
}

type ManifestCache = Record<string, { mtimeMs: number; size: number; manifest: PluginManifest }>;

/**
 * Valid manifests by file, keyed on mtime and size: `plugins list` need not parse YAML. An entry
 * whose shape or manifest is not valid (a cache edited by hand, or another version's) is left
 * out, so its plugin.yaml is read afresh.
 */
async function readManifestCache(file: string): Promise<ManifestCache> {
  const data = (await readCacheFile(file)) as { version?: unknown; entries?: unknown } | undefined;
  if (data?.version !== 1 || !data.entries || typeof data.entries !== 'object') return {};
  const valid = shippedValidator('plugin.schema.json');
  const out: ManifestCache = {};
  for (const [path, e] of Object.entries(data.entries as Record<string, Partial<ManifestCache[string]> | null>)) {
    if (e && typeof e.mtimeMs === 'number' && typeof e.size === 'number' && valid(e.manifest))
      out[path] = e as ManifestCache[string];
  }
  return out;
}

async function cachedManifest(
  dir: string,
  cache: ManifestCache,
  next: ManifestCache,
): Promise<{ manifest: PluginManifest; file: string }> {
  const file = join(dir, MANIFEST_FILE);
  const st = await stat(file).catch(() => undefined);
  const hit = st && cache[file];
  if (st && hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) {
    next[file] = hit;
    return { manifest: structuredClone(hit.manifest), file };
  }
  const read = await readManifest(dir);
  if (st) next[file] = { mtimeMs: st.mtimeMs, size: st.size, manifest: structuredClone(read.manifest) };
  return read;
}

export async function discoverPlugins(
  paths: Paths,
  systemDir?: string,
  { writeCache = true }: { writeCache?: boolean } = {},
): Promise<Discovery> {
  const plugins = new Map<string, DiscoveredPlugin>();
  const errors: CxError[] = [];
  const cacheFile = join(paths.cacheDir, 'manifests.json');
  const cache = await readManifestCache(cacheFile);
  const next: ManifestCache = {};
  // A directory reached twice (named twice, or through a symlink) is one plugin, not a duplicate.
  const seen = new Set<string>();
  for (const { dir: root, source } of pluginRoots(paths, systemDir)) {
    for (const dir of await pluginDirsIn(root)) {
      if (!(await isDir(dir))) continue;
      const real = await realpath(dir).catch(() => dir);
      if (seen.has(real)) continue;
      seen.add(real);
      try {
        const { manifest, file } = await cachedManifest(dir, cache, next);
        const prev = plugins.get(manifest.name);
        if (prev) {
          errors.push(new CxError('CX_ERR_PLUGIN_DUPLICATE', { plugin: manifest.name, first: prev.dir, second: dir }));
          continue;
        }
        plugins.set(manifest.name, { name: manifest.name, dir, source, manifest, manifestFile: file });
      } catch (e) {
        if (e instanceof CxError) {
          if (e.code === 'CX_ERR_MANIFEST_MISSING' && source !== 'explicit') continue;
          errors.push(e);
        } else errors.push(new CxError('CX_ERR_IO', { path: dir, detail: messageOf(e) }));
      }
    }
  }
  const changed =
    Object.keys(next).length !== Object.keys(cache).length || Object.keys(next).some((k) => next[k] !== cache[k]);
  // Best effort: a cache that cannot be written (read-only /var/cache) only costs speed.
  if (changed && writeCache)
    await writeFileAtomic(cacheFile, JSON.stringify({ version: 1, entries: next })).catch(() => {});
  return { plugins, errors };
}
