/**
 * What a trusted plugin contributes (its shape), remembered between runs so a command can
 * register every plugin's contributions without importing their code: a plugin is imported and
 * activated on its first use. The key is the newest mtime, file count and total size of the
 * plugin's directory tree plus its config section, so a change to either loads it afresh (for
 * the built-in plugins, the id of the build that wrote them instead of their trees). A plugin's
 * contributions must depend on nothing else (not on files it reads in activate).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkShape, type PluginShape } from '../sandbox/shape.js';
import { writeFileAtomic } from '../atomic.js';
import { readCacheFile } from '../read-file.js';

export type { PluginShape };

export interface ShapeEntry {
  stamp: string;
  version: string;
  main: string;
  shape: PluginShape;
}

export type ShapeCache = Record<string, ShapeEntry>;

/** A stamp of a directory tree: newest mtime, file count and total size (node_modules skipped). */
export async function treeStamp(dir: string): Promise<string> {
  let newest = 0;
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      entries.map(async (e) => {
        if (e.name === 'node_modules') return;
        const p = join(d, e.name);
        if (e.isDirectory()) return walk(p);
        const st = await stat(p).catch(() => undefined);
        if (!st) return;
        files++;
        bytes += st.size;
        if (st.mtimeMs > newest) newest = st.mtimeMs;
      }),
    );
  };
  await walk(dir);
  return `${newest}:${files}:${bytes}`;
}

/** The file core/bin/build.js writes beside the built-in plugins: a new id at every build. */
export const BUILD_ID_FILE = '.build-id';

/**
 * The stamp of one built-in plugin's directory: the build's id (the built-ins change only when
 * cx-ops is built again; stat-ing their ~270 files was a tenth of a warm run), else, where no
 * build wrote one (sources run in place), its tree's stamp. `ids` holds the ids read in this boot.
 */
export async function builtinStamp(dir: string, ids: Map<string, Promise<string | null>>): Promise<string> {
  const parent = dirname(dir);
  let id = ids.get(parent);
  if (!id) {
    id = readFile(join(parent, BUILD_ID_FILE), 'utf8').then(
      (t) => (/^[\w.:-]{8,100}$/.test(t.trim()) ? t.trim() : null),
      () => null,
    );
    ids.set(parent, id);
  }
  const build = await id;
  return build === null ? treeStamp(dir) : `build:${build}`;
}

/**
 * The cached entries. One whose shape does not pass schemas/plugin-shape.schema.json (a cache
 * edited by hand or written by another version) is left out, so its plugin is loaded afresh.
 */
export async function readShapeCache(file: string): Promise<ShapeCache> {
  const data = (await readCacheFile(file)) as { version?: unknown; entries?: unknown } | undefined;
  if (!data || data.version !== 1 || typeof data.entries !== 'object' || data.entries === null) return {};
  const entries: ShapeCache = {};
  for (const [name, e] of Object.entries(data.entries as Record<string, Partial<ShapeEntry>>)) {
    if (!e || typeof e.stamp !== 'string' || typeof e.version !== 'string' || typeof e.main !== 'string') continue;
    const shape = checkShape(e.shape);
    if (typeof shape !== 'string') entries[name] = { stamp: e.stamp, version: e.version, main: e.main, shape };
  }
  return entries;
}

/** Best effort: a cache that cannot be written only costs start-up time. */
export async function writeShapeCache(file: string, entries: ShapeCache): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ version: 1, entries })).catch(() => {});
}

/** The metas found valid by an earlier run (core/registry.ts `rememberValidMetas`); none when unreadable. */
export async function readValidMetas(file: string): Promise<string[]> {
  const data = (await readCacheFile(file)) as { version?: unknown; valid?: unknown } | undefined;
  return data?.version === 1 && Array.isArray(data.valid)
    ? data.valid.filter((h: unknown): h is string => typeof h === 'string')
    : [];
}

/** Best effort, like the shape cache. */
export async function writeValidMetas(file: string, hashes: string[]): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ version: 1, valid: hashes })).catch(() => {});
}
