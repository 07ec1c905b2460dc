/**
 * Snapshots: cx-ops' configuration directory, its data directory (without the snapshot store),
 * the host paths listed in `updates.snapshot_paths` (e.g. /etc, less `updates.snapshot_exclude`)
 * and the installed package list with versions. A snapshot is written into a partial directory
 * and renamed into place only when complete, so a snapshot that failed halfway is never listed.
 *
 * Layout: `${stateDir}/snapshots/<id>/{manifest.json, config.tar, data.tar}`; files are kept in
 * tar archives (numeric owners, modes, symlinks, bytes as they are). The manifest's format is
 * schemas/snapshot-manifest.schema.json, its type generated from it (schemas/types/snapshot-manifest.ts).
 */
import { CxError, isCxError, type PluginContext } from 'cx-ops/sdk';
import { readStateFile, shippedSchemaValidator } from 'cx-ops/sdk/host';
import type {
  SnapshotArea as GeneratedArea,
  SnapshotManifest as GeneratedManifest,
} from '../../schemas/types/snapshot-manifest.js';
import { isWithin, LOCK_FILE_PATTERN, walkTree } from './file-tree.js';

/** `20240115-120000`, optionally `-2` when two are taken within a second. */
export const SNAPSHOT_ID_PATTERN = /^\d{8}-\d{6}(-\d+)?$/;

/** 'config', 'data', or `path:<host path>` for an entry of updates.snapshot_paths. */
export type AreaName = 'config' | 'data' | `path:${string}`;

/** One snapshotted directory: where it was, its archive, and its entries as they were. */
export type SnapshotArea = GeneratedArea & { name: AreaName };

/**
 * manifest.json: the type generated from its schema, with the area name as the template type
 * the schema's pattern (`^(config|data|path:/.*)$`) describes.
 */
export type SnapshotManifest = Omit<GeneratedManifest, 'areas'> & { areas: SnapshotArea[] };

export interface SnapshotSummary {
  id: string;
  created: string;
  reason: string;
  files: number;
  packages: number;
  dir: string;
  /** A snapshot whose manifest.json is damaged: what is wrong, and the archives still there. */
  damaged?: { problem: string; archives: string[] };
}

export function snapshotStore(ctx: PluginContext<unknown>): string {
  return `${ctx.env.stateDir}/snapshots`;
}

/** The id for a time, UTC: YYYYMMDD-HHMMSS. */
export function snapshotId(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

async function exists(ctx: PluginContext<unknown>, p: string): Promise<boolean> {
  return (await ctx.localFs.stat(p)) !== null;
}

async function run(ctx: PluginContext<unknown>, cmd: string, args: string[]): Promise<void> {
  const r = await ctx.exec.run(cmd, args, { timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
}

/** What the updates plugin's config says to snapshot besides cx-ops' own directories. */
export interface SnapshotPathsConfig {
  snapshot_paths?: string[];
  snapshot_exclude?: string[];
}

function areasOf(ctx: PluginContext<SnapshotPathsConfig>): Array<{ name: AreaName; dir: string; exclude: string[] }> {
  const store = ctx.env.stateDir;
  const own = [
    { name: 'config' as const, dir: ctx.env.configDir, exclude: isWithin(store, ctx.env.configDir) ? [store] : [] },
    { name: 'data' as const, dir: ctx.env.dataDir, exclude: isWithin(store, ctx.env.dataDir) ? [store] : [] },
  ];
  const excludes = (ctx.config?.snapshot_exclude ?? []).map((p) => ctx.fs.diskPath(p));
  const extra = (ctx.config?.snapshot_paths ?? []).map((p) => {
    const dir = ctx.fs.diskPath(p);
    // The store and cx-ops' own areas are never taken twice; the operator's excludes apply.
    const exclude = [store, ...own.map((a) => a.dir), ...excludes].filter((x) => x !== dir && isWithin(x, dir));
    return { name: `path:${p}` as const, dir, exclude: [...new Set(exclude)] };
  });
  return [...own, ...extra];
}

/** Takes a snapshot; resolves with its manifest once it is complete and listed. */
export async function createSnapshot(
  ctx: PluginContext<SnapshotPathsConfig>,
  options: { reason: string; packages: SnapshotManifest['packages']; now?: Date },
): Promise<SnapshotManifest> {
  const store = snapshotStore(ctx);
  await ctx.localFs.mkdir(store, { mode: 0o700 });
  const base = snapshotId(options.now ?? new Date());
  let id = base;
  for (let n = 2; await exists(ctx, `${store}/${id}`); n++) id = `${base}-${n}`;
  const partial = `${store}/.partial-${id}-${process.pid}`;
  if (await exists(ctx, partial)) await ctx.localFs.remove(partial, { recursive: true });
  await ctx.localFs.mkdir(partial, { mode: 0o700 });
  const areas: SnapshotArea[] = [];
  for (const a of areasOf(ctx)) {
    const present = await exists(ctx, a.dir);
    const archive = present ? `${a.name.startsWith('path:') ? `path-${areas.length - 2}` : a.name}.tar` : null;
    if (present) {
      const excludes = a.exclude.map((x) => `--exclude=./${x.slice(a.dir.replace(/\/+$/, '').length + 1)}`);
      await run(ctx, 'tar', [
        '--numeric-owner',
        ...excludes,
        `--exclude=${LOCK_FILE_PATTERN}`,
        '-cpf',
        `${partial}/${archive}`,
        '-C',
        a.dir,
        '.',
      ]);
    }
    areas.push({
      name: a.name,
      dir: a.dir,
      present,
      archive,
      exclude: a.exclude,
      entries: present ? await walkTree(ctx, a.dir, a.exclude) : [],
    });
  }
  const manifest: SnapshotManifest = {
    version: 1,
    id,
    created: (options.now ?? new Date()).toISOString(),
    reason: options.reason,
    root: ctx.env.root,
    complete: true,
    areas,
    packages: options.packages,
  };
  await ctx.localFs.writeFile(`${partial}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await ctx.localFs.rename(partial, `${store}/${id}`);
  return manifest;
}

/**
 * Reads one snapshot's manifest, checked against schemas/snapshot-manifest.schema.json; null when
 * the snapshot does not exist. A manifest that is damaged (not JSON, the wrong shape, another
 * snapshot's id) is CX_ERR_STATE_INVALID naming the file and the archives still beside it.
 */
export async function readSnapshot(ctx: PluginContext<unknown>, id: string): Promise<SnapshotManifest | null> {
  if (!SNAPSHOT_ID_PATTERN.test(id)) return null;
  const dir = `${snapshotStore(ctx)}/${id}`;
  if (!(await exists(ctx, dir))) return null;
  const archives = (await ctx.localFs.readDir(dir))
    .filter((e) => e.type === 'file' && e.name.endsWith('.tar'))
    .map((e) => e.name);
  const file = `${dir}/manifest.json`;
  const info = {
    what: 'snapshot manifest',
    schema: 'schemas/snapshot-manifest.schema.json',
    consequence: archives.length
      ? `its archives are still there and can be unpacked by hand (tar -xpf ${dir}/ARCHIVE -C DIR): ${archives.join(', ')}`
      : 'the snapshot holds no archive: nothing of it can be restored',
  };
  const m = await readStateFile<SnapshotManifest>(ctx.localFs, file, {
    ...info,
    validate: shippedSchemaValidator('snapshot-manifest.schema.json'),
  });
  if (!m || m.id !== id)
    throw new CxError('CX_ERR_STATE_INVALID', {
      file,
      detail: m ? `field 'id' names another snapshot (found: ${JSON.stringify(m.id)})` : 'is missing',
      ...info,
    });
  return m;
}

/** Complete snapshots, newest first. Partial directories are never listed. */
export async function listSnapshots(ctx: PluginContext<unknown>): Promise<SnapshotSummary[]> {
  const store = snapshotStore(ctx);
  if (!(await exists(ctx, store))) return [];
  const out: SnapshotSummary[] = [];
  for (const e of await ctx.localFs.readDir(store)) {
    if (e.type !== 'directory' || !SNAPSHOT_ID_PATTERN.test(e.name)) continue;
    let m: SnapshotManifest | null;
    try {
      m = await readSnapshot(ctx, e.name);
    } catch (err) {
      // A damaged snapshot is listed as damaged, with what is left of it: it never vanishes.
      if (!isCxError(err) || err.code !== 'CX_ERR_STATE_INVALID') throw err;
      const dir = `${store}/${e.name}`;
      const archives = (await ctx.localFs.readDir(dir)).filter((x) => x.type === 'file' && x.name.endsWith('.tar'));
      out.push({
        id: e.name,
        created: '',
        reason: '',
        files: 0,
        packages: 0,
        dir,
        damaged: { problem: String(err.params.detail), archives: archives.map((x) => x.name) },
      });
      continue;
    }
    if (!m) continue;
    out.push({
      id: m.id,
      created: m.created,
      reason: m.reason,
      files: m.areas.reduce((n, a) => n + a.entries.filter((x) => x.type !== 'directory').length, 0),
      packages: m.packages.list.length,
      dir: `${store}/${m.id}`,
    });
  }
  // By id (the time it was taken, UTC), which a damaged manifest cannot hide.
  return out.sort((a, b) => b.id.localeCompare(a.id, undefined, { numeric: true }));
}

/**
 * Deletes snapshots older than `retentionDays` (the newest one is always kept) and partial
 * directories left by runs that died. Resolves with the ids deleted.
 */
export async function pruneSnapshots(
  ctx: PluginContext<unknown>,
  retentionDays: number,
  now = new Date(),
): Promise<string[]> {
  const store = snapshotStore(ctx);
  if (!(await exists(ctx, store))) return [];
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  const [, ...older] = (await listSnapshots(ctx)).filter((s) => !s.damaged);
  const gone: string[] = [];
  for (const s of older) {
    if (Date.parse(s.created) >= cutoff) continue;
    await ctx.localFs.remove(s.dir, { recursive: true });
    gone.push(s.id);
  }
  for (const e of await ctx.localFs.readDir(store)) {
    const m = /^\.partial-.*-(\d+)$/.exec(e.name);
    if (m && !(await exists(ctx, `/proc/${m[1]}`))) await ctx.localFs.remove(`${store}/${e.name}`, { recursive: true });
  }
  return gone;
}
