/**
 * Task type `config-backup`: copies configured paths into `DEST/config-backup-YYYYMMDD-HHMMSS/`
 * — each regular file gzipped (up to 8 MiB; a larger one copied as it is), symlinks recorded
 * (never followed), owner, mode and mtime kept — with `manifest.json` giving every file's
 * sha256, then prunes old backups: kept when younger than retention_days or picked by
 * keep_daily / keep_weekly / keep_monthly (borgmatic's rule: the newest backup of each of the
 * last N days, weeks, months); the newest is always kept. A path that cannot be read is reported
 * in the manifest and the output, and the others are still backed up. `cx-ops automation
 * restore DIR` (restoreBackup) puts the files back byte for byte, checking each sha256.
 * Everything goes through ctx.fs, so --root and dry runs apply.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import {
  defineTask,
  type FsCapability,
  type Json,
  type TaskOutcome,
  type PluginContext,
  type SystemChange,
} from 'cx-ops/sdk';
import { readStateFile, shippedSchemaValidator } from 'cx-ops/sdk/host';
import type { AutomationConfig } from '../automation-config.js';

interface BackupConfig {
  paths: string[];
  destination?: string;
  compression?: Compression;
  retention_days?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
  exclude?: string[];
}

export interface ManifestEntry {
  path: string;
  type: 'file' | 'symlink' | 'dir';
  mode: number;
  uid: number;
  gid: number;
  mtime_ms: number;
  size?: number;
  sha256?: string;
  /** Where the bytes are, relative to the backup directory. */
  stored?: string;
  target?: string;
}

export interface BackupManifest {
  version: 1;
  created: string;
  task: string;
  compression: Compression;
  files: ManifestEntry[];
  unreadable: Array<{ path: string; error: string }>;
}

/** gzip through node:zlib; zstd through the zstd program (Debian's zstd package), when it is installed. */
type Compression = 'gzip' | 'zstd' | 'none';

const CAP = 8 * 1024 * 1024;

/** Runs the zstd program; throws what it said (or that it is missing, and what to do). */
async function zstd(ctx: PluginContext<unknown>, args: string[], readOnly = false): Promise<void> {
  const r = await ctx.exec.run('zstd', ['-q', ...args], { timeoutMs: 120_000, readOnly });
  if (r.exitCode === 127)
    throw new Error('compression: zstd needs the zstd program (apt-get install zstd), or set compression: gzip');
  if (r.exitCode !== 0) throw new Error(`zstd ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
}
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
const NAME = /^config-backup-(\d{8})-(\d{6})(-\d+)?$/;

async function walk(
  fs: FsCapability,
  path: string,
  exclude: string[],
  out: Array<{ path: string; type: 'file' | 'dir' | 'symlink' }>,
  bad: BackupManifest['unreadable'],
): Promise<void> {
  if (exclude.some((x) => path === x || path.startsWith(`${x}/`))) return;
  let st;
  try {
    st = await fs.lstat(path);
  } catch (e) {
    bad.push({ path, error: e instanceof Error ? e.message : String(e) });
    return;
  }
  if (!st) {
    bad.push({ path, error: 'does not exist' });
    return;
  }
  if (st.type === 'symlink' || st.type === 'file') out.push({ path, type: st.type });
  else if (st.type === 'other')
    bad.push({ path, error: 'not a regular file, directory or symlink (a socket, FIFO or device): not backed up' });
  else {
    out.push({ path, type: 'dir' });
    let names;
    try {
      names = (await fs.readDir(path)).map((e) => e.name).sort();
    } catch (e) {
      bad.push({ path, error: e instanceof Error ? e.message : String(e) });
      return;
    }
    for (const n of names) await walk(fs, `${path === '/' ? '' : path}/${n}`, exclude, out, bad);
  }
}

/** Backups in `dest`, oldest first, with their times (from the name, UTC). */
async function backupsIn(fs: FsCapability, dest: string): Promise<Array<{ name: string; ms: number }>> {
  const entries = (await fs.stat(dest)) ? await fs.readDir(dest) : [];
  return entries
    .filter((e) => e.type === 'directory' && NAME.test(e.name))
    .map((e) => {
      const [, d, t] = NAME.exec(e.name)!;
      return {
        name: e.name,
        ms: Date.UTC(
          +d!.slice(0, 4),
          +d!.slice(4, 6) - 1,
          +d!.slice(6, 8),
          +t!.slice(0, 2),
          +t!.slice(2, 4),
          +t!.slice(4, 6),
        ),
      };
    })
    .sort((a, b) => a.ms - b.ms || a.name.localeCompare(b.name));
}

/** The backups to keep (names): young enough, or picked per day/week/month; the newest always. */
export function backupsToKeep(
  backups: Array<{ name: string; ms: number }>,
  now: number,
  c: { retention_days: number; keep_daily?: number; keep_weekly?: number; keep_monthly?: number },
): Set<string> {
  const keep = new Set<string>();
  const newestFirst = [...backups].reverse();
  if (newestFirst[0]) keep.add(newestFirst[0].name);
  for (const b of newestFirst) if (now - b.ms <= c.retention_days * 86_400_000) keep.add(b.name);
  const pick = (n: number | undefined, bucket: (ms: number) => string) => {
    if (!n) return;
    const seen = new Set<string>();
    for (const b of newestFirst) {
      const k = bucket(b.ms);
      if (seen.has(k)) continue;
      seen.add(k);
      keep.add(b.name);
      if (seen.size >= n) break;
    }
  };
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  // ISO weeks start on Monday: the Monday of the week names it.
  const week = (ms: number) => day(ms - ((new Date(ms).getUTCDay() + 6) % 7) * 86_400_000);
  pick(c.keep_daily, day);
  pick(c.keep_weekly, week);
  pick(c.keep_monthly, (ms) => day(ms).slice(0, 7));
  return keep;
}

async function createBackup(
  ctx: PluginContext<unknown>,
  task: string,
  c: BackupConfig & { destination: string; compression: Compression },
  now: number,
) {
  const fs = ctx.fs;
  let dir = `${c.destination}/config-backup-${stamp(now)}`;
  for (let i = 2; await fs.lstat(dir); i++) dir = `${c.destination}/config-backup-${stamp(now)}-${i}`;
  const found: Array<{ path: string; type: 'file' | 'dir' | 'symlink' }> = [];
  const manifest: BackupManifest = {
    version: 1,
    created: new Date(now).toISOString(),
    task,
    compression: c.compression,
    files: [],
    unreadable: [],
  };
  // The destination itself is never backed up into itself.
  for (const p of c.paths)
    await walk(fs, p.replace(/\/+$/, '') || '/', [...(c.exclude ?? []), c.destination], found, manifest.unreadable);
  // Before anything is written: a host without the program fails the run with the fix.
  if (c.compression === 'zstd') await zstd(ctx, ['--version'], true);
  await fs.mkdir(`${dir}/files`, { mode: 0o700 });
  let bytes = 0;
  const written: string[] = [];
  for (const f of found) {
    try {
      const st = (await fs.lstat(f.path))!;
      const base = { path: f.path, mode: st.mode, uid: st.uid, gid: st.gid, mtime_ms: st.mtimeMs };
      if (f.type === 'dir') manifest.files.push({ ...base, type: 'dir' });
      else if (f.type === 'symlink')
        manifest.files.push({ ...base, type: 'symlink', target: st.target ?? (await fs.readlink(f.path)) });
      else {
        const idx = manifest.files.length;
        let stored = `files/${idx}`;
        let digest: string;
        if (st.size <= CAP) {
          const data = await fs.readBytes(f.path);
          digest = sha256(data);
          if (c.compression === 'gzip') {
            stored += '.gz';
            await fs.writeBytes(`${dir}/${stored}`, gzipSync(data), { mode: 0o600 });
          } else if (c.compression === 'zstd') {
            // The program compresses the copy in place (--rm: only the .zst stays); it keeps the mode.
            await fs.writeBytes(`${dir}/${stored}`, data, { mode: 0o600 });
            await zstd(ctx, ['--rm', '-T1', fs.diskPath(`${dir}/${stored}`)]);
            stored += '.zst';
          } else await fs.writeBytes(`${dir}/${stored}`, data, { mode: 0o600 });
        } else {
          await fs.copy(f.path, `${dir}/${stored}`, { preserve: false, mode: 0o600 });
          digest = await fs.hash(`${dir}/${stored}`);
        }
        bytes += st.size;
        written.push(f.path);
        manifest.files.push({ ...base, type: 'file', size: st.size, sha256: digest, stored });
      }
    } catch (e) {
      manifest.unreadable.push({ path: f.path, error: e instanceof Error ? e.message : String(e) });
    }
  }
  await fs.writeFile(`${dir}/manifest.json`, `${JSON.stringify(manifest, null, 1)}\n`, { mode: 0o600 });
  return { dir, manifest, bytes, files: written.length };
}

export const configBackupTask = defineTask<BackupConfig>({
  id: 'config-backup',
  name: 'Configuration Backup',
  description:
    'Backs up configuration paths (gzip or zstd, sha256 manifest, retention); cx-ops automation restore puts them back',
  task_type: 'backup',
  priority: 'high',
  estimated_duration_seconds: 120,
  config_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['paths'],
    properties: {
      paths: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(/|~/)' } },
      destination: { type: 'string', pattern: '^/' },
      compression: { enum: ['gzip', 'zstd', 'none'] },
      retention_days: { type: 'number', minimum: 0 },
      keep_daily: { type: 'integer', minimum: 0 },
      keep_weekly: { type: 'integer', minimum: 0 },
      keep_monthly: { type: 'integer', minimum: 0 },
      exclude: { type: 'array', items: { type: 'string', pattern: '^/' } },
    },
  } as Record<string, Json>,
  async execute(ctx, { config, task_id, dry_run }): Promise<TaskOutcome> {
    const defaults = (ctx.config as AutomationConfig).backup;
    // The seed's `~/.config/app`: the home of the user cx-ops runs as.
    const home = (process.env.HOME ?? '/root').replace(/\/+$/, '');
    const c = {
      ...config,
      paths: config.paths.map((p) => (p.startsWith('~/') ? `${home}${p.slice(1)}` : p)),
      destination: (config.destination ?? defaults.backup_location).replace(/\/+$/, ''),
      compression: config.compression ?? defaults.compression,
      retention_days: config.retention_days ?? defaults.default_retention_days,
    };
    const now = Date.now();
    if (dry_run) {
      const found: Array<{ path: string; type: 'file' | 'dir' | 'symlink' }> = [];
      const bad: BackupManifest['unreadable'] = [];
      for (const p of c.paths) await walk(ctx.fs, p, [...(c.exclude ?? []), c.destination], found, bad);
      const files = found.filter((f) => f.type === 'file');
      return {
        status: 'Success',
        output: `would back up ${files.length} file(s) to ${c.destination}/config-backup-${stamp(now)}${bad.length ? `; unreadable: ${bad.map((b) => b.path).join(', ')}` : ''}`,
        details: { files: files.map((f) => f.path), unreadable: bad as unknown as Json },
      };
    }
    const made = await createBackup(ctx, task_id, c, now);
    const changes: SystemChange[] = [{ type: 'file_created', target: made.dir, detail: `${made.files} file(s)` }];
    const backups = await backupsIn(ctx.fs, c.destination);
    const keep = backupsToKeep(backups, now, c);
    const pruned: string[] = [];
    for (const b of backups)
      if (!keep.has(b.name) && `${c.destination}/${b.name}` !== made.dir) {
        await ctx.fs.remove(`${c.destination}/${b.name}`, { recursive: true });
        pruned.push(b.name);
        changes.push({ type: 'directory_deleted', target: `${c.destination}/${b.name}`, detail: 'retention' });
      }
    const bad = made.manifest.unreadable;
    const output = [
      `backed up ${made.files} file(s) (${made.bytes} bytes) to ${made.dir}`,
      ...(bad.length ? [`not backed up (unreadable): ${bad.map((b) => `${b.path} (${b.error})`).join('; ')}`] : []),
      ...(pruned.length ? [`pruned: ${pruned.join(', ')}`] : []),
      `restore with: ${ctx.env.command} automation restore ${ctx.fs.diskPath(made.dir)}`,
    ].join('\n');
    return {
      status: 'Success',
      output,
      changes_made: changes,
      resources: { files_backed_up: made.files },
      details: { backup: made.dir, unreadable: bad as unknown as Json, pruned },
    };
  },
});

/** A backup's manifest, checked against its schema (CX_ERR_STATE_INVALID naming the file when damaged). */
export async function readBackupManifest(ctx: PluginContext<unknown>, dir: string): Promise<BackupManifest> {
  const fs = ctx.localFs;
  const manifest = await readStateFile<BackupManifest>(fs, `${dir}/manifest.json`, {
    what: 'config-backup manifest',
    schema: 'schemas/config-backup-manifest.schema.json',
    validate: shippedSchemaValidator('config-backup-manifest.schema.json'),
    consequence: 'restore the files by hand from its files/ directory (gzip -d, zstd -d)',
  });
  if (!manifest)
    throw new Error(
      `${fs.diskPath(dir)} has no manifest.json: it is not a config-backup directory; nothing was restored`,
    );
  return manifest;
}

/** A stored file's original bytes (null: stored as it is, over the read cap). */
async function storedBytes(ctx: PluginContext<unknown>, dir: string, stored: string): Promise<Uint8Array | null> {
  const fs = ctx.localFs;
  if (stored.endsWith('.zst')) {
    // Decompressed beside it, read, and removed: zstd writes files, not a pipe cx-ops reads bytes from.
    const out = `${dir}/${stored}.restore.tmp`;
    try {
      await zstd(ctx, ['-d', '-f', '-o', out, `${dir}/${stored}`]);
      return await fs.readBytes(out);
    } finally {
      await fs.remove(out).catch(() => undefined);
    }
  }
  const raw = await fs.readBytes(`${dir}/${stored}`, { maxBytes: CAP + 1024 * 1024 }).catch(() => null);
  return raw === null ? null : stored.endsWith('.gz') ? new Uint8Array(gunzipSync(raw)) : raw;
}

/** Restores a backup's files to their paths (all, or those under `only`); checks every sha256 first. */
export async function restoreBackup(
  ctx: PluginContext<unknown>,
  dir: string,
  only: string[] = [],
): Promise<{ restored: string[]; skipped: string[] }> {
  const fs = ctx.localFs;
  const manifest = await readBackupManifest(ctx, dir);
  const picked = manifest.files.filter(
    (f) => !only.length || only.some((o) => f.path === o || f.path.startsWith(`${o}/`)),
  );
  const data = new Map<string, Uint8Array>();
  for (const f of picked) {
    if (f.type !== 'file' || !f.stored) continue;
    const bytes = await storedBytes(ctx, dir, f.stored);
    const digest = bytes ? sha256(bytes) : await fs.hash(`${dir}/${f.stored}`);
    if (digest !== f.sha256)
      throw new Error(
        `${dir}/${f.stored}: sha256 ${digest} is not the manifest's ${f.sha256} for ${f.path}: the backup is damaged, nothing was restored`,
      );
    if (bytes) data.set(f.path, bytes);
  }
  const restored: string[] = [];
  const skipped: string[] = [];
  for (const f of picked) {
    if (f.type === 'dir') {
      if (!(await ctx.fs.lstat(f.path))) await ctx.fs.mkdir(f.path, { mode: f.mode & 0o7777 });
      continue;
    }
    if (f.type === 'symlink') {
      const cur = await ctx.fs.lstat(f.path);
      if (cur && (cur.type !== 'symlink' || cur.target !== f.target)) await ctx.fs.remove(f.path);
      if (!cur || cur.type !== 'symlink' || cur.target !== f.target) await ctx.fs.symlink(f.target!, f.path);
      restored.push(f.path);
      continue;
    }
    const bytes = data.get(f.path);
    if (bytes) await ctx.fs.writeBytes(f.path, bytes, { mode: f.mode & 0o7777 });
    // A file over the read cap was stored as it is: copied back from the backup (a path as typed) to the host path.
    else await fs.copy(`${dir}/${f.stored}`, ctx.fs.diskPath(f.path), { preserve: false, mode: f.mode & 0o7777 });
    const st = await ctx.fs.lstat(f.path);
    if (st && (st.uid !== f.uid || st.gid !== f.gid))
      await ctx.fs.chown(f.path, f.uid, f.gid).catch(() => skipped.push(`${f.path} (owner)`));
    restored.push(f.path);
  }
  return { restored, skipped };
}
