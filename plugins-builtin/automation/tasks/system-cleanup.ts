/**
 * Task type `system-cleanup`: removes the package cache (*.deb), temp files older than
 * temp_age_days, rotated logs (name.1, name.2.gz, name-20240101: never the live log), broken
 * symlinks and empty directories. A dry run lists each item and the bytes it would free. The
 * walk never follows a symlink: it descends only into real directories (lstat), so a link planted
 * in /tmp pointing at /etc or at a directory elsewhere is at most removed itself (when broken),
 * never entered; nothing under a protected path is touched, nor a tree's own root. Through ctx.fs,
 * so --root and dry runs apply.
 */
import { defineTask, type FsCapability, type Json, type TaskOutcome, type SystemChange } from 'cx-ops/sdk';

const TYPES = ['package_cache', 'temp_files', 'log_files', 'broken_symlinks', 'empty_directories'] as const;
type CleanupType = (typeof TYPES)[number];

interface CleanupConfig {
  cleanup_types?: CleanupType[];
  temp_dirs?: string[];
  temp_age_days?: number;
  log_dirs?: string[];
  log_age_days?: number;
  package_cache_dirs?: string[];
  protected_paths?: string[];
  /** The seed's: temp files of any age go too. */
  aggressive_cleanup?: boolean;
}

export interface CleanupItem {
  path: string;
  kind: CleanupType;
  bytes: number;
}

/** Never removed, nor anything under them, whatever the config says. */
const ALWAYS_PROTECTED = [
  '/etc',
  '/boot',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib64',
  '/var/lib',
  '/home',
  '/root',
  '/proc',
  '/sys',
  '/dev',
];
const ROTATED = /(\.[0-9]+(\.(gz|xz|bz2|zst|lz4))?|-[0-9]{8}(\.(gz|xz|bz2|zst))?|\.old)$/;

const under = (path: string, dir: string) => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

interface Entry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtimeMs: number;
}

/** Every entry below `root` (not `root` itself), children before their directory; symlinks listed, never entered. */
async function walkTree(fs: FsCapability, root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const top = await fs.lstat(root);
  if (!top || top.type !== 'dir') return out;
  const visit = async (dir: string) => {
    let names: string[];
    try {
      names = (await fs.readDir(dir)).map((e) => e.name).sort();
    } catch {
      return; // unreadable: left alone
    }
    for (const n of names) {
      const p = `${dir}/${n}`;
      const st = await fs.lstat(p).catch(() => null);
      if (!st) continue;
      if (st.type === 'dir') await visit(p);
      out.push({ path: p, type: st.type, size: st.size, mtimeMs: st.mtimeMs });
    }
  };
  await visit(root.replace(/\/+$/, ''));
  return out;
}

/**
 * Whether a symlink leads to something, followed link by link in the host's view (an absolute
 * target is a host path, so under --root it is looked up under the root); at most 8 hops.
 */
async function linkResolves(fs: FsCapability, path: string): Promise<boolean> {
  let p = path;
  for (let hop = 0; hop < 8; hop++) {
    const target = await fs.readlink(p).catch(() => null);
    if (target === null) return false;
    const dir = p.slice(0, p.lastIndexOf('/')) || '/';
    p = target.startsWith('/') ? target : `${dir === '/' ? '' : dir}/${target}`;
    const st = await fs.lstat(p).catch(() => null);
    if (!st) return false;
    if (st.type !== 'symlink') return true;
  }
  return false;
}

/** What the cleanup would remove, in order (files first, then emptied directories). */
export async function planCleanup(fs: FsCapability, config: CleanupConfig, now: number): Promise<CleanupItem[]> {
  const types = new Set(config.cleanup_types ?? ['package_cache', 'temp_files', 'log_files']);
  const protectedPaths = [...ALWAYS_PROTECTED, ...(config.protected_paths ?? [])];
  const tempDirs = config.temp_dirs ?? ['/tmp', '/var/tmp'];
  const items: CleanupItem[] = [];
  const roots = new Set<string>();
  const listed = new Set<string>();
  /** Lists an entry unless it is protected or a tree's root; whether it is (now or already) listed. */
  const add = (e: Entry, kind: CleanupType): boolean => {
    if (protectedPaths.some((p) => under(e.path, p)) || roots.has(e.path)) return false;
    if (!listed.has(e.path)) items.push({ path: e.path, kind, bytes: e.type === 'file' ? e.size : 0 });
    listed.add(e.path);
    return true;
  };
  const tree = async (dirs: string[], each: (e: Entry) => CleanupType | null) => {
    for (const d of dirs) {
      if (protectedPaths.some((p) => under(d, p))) continue;
      roots.add(d);
      for (const e of await walkTree(fs, d)) {
        const kind = each(e);
        if (kind) add(e, kind);
      }
    }
  };
  if (types.has('package_cache'))
    await tree(config.package_cache_dirs ?? ['/var/cache/apt/archives'], (e) =>
      e.type === 'file' && e.path.endsWith('.deb') ? 'package_cache' : null,
    );
  const ageMs = (config.aggressive_cleanup ? 0 : (config.temp_age_days ?? 7)) * 86_400_000;
  if (types.has('temp_files'))
    await tree(tempDirs, (e) => (e.type === 'file' && now - e.mtimeMs >= ageMs ? 'temp_files' : null));
  const logAge = (config.log_age_days ?? 0) * 86_400_000;
  if (types.has('log_files'))
    await tree(config.log_dirs ?? ['/var/log'], (e) =>
      e.type === 'file' && ROTATED.test(e.path.slice(e.path.lastIndexOf('/') + 1)) && now - e.mtimeMs >= logAge
        ? 'log_files'
        : null,
    );
  if (types.has('broken_symlinks')) {
    for (const d of tempDirs)
      for (const e of await walkTree(fs, d))
        if (e.type === 'symlink' && !(await linkResolves(fs, e.path))) add(e, 'broken_symlinks');
  }
  if (types.has('empty_directories')) {
    const going = new Set(items.map((i) => i.path));
    for (const d of tempDirs) {
      roots.add(d);
      // Children come before their directory: a directory none of whose entries stays is empty after.
      const staying = new Set<string>();
      for (const e of await walkTree(fs, d)) {
        const gone = e.type === 'dir' && !staying.has(e.path) ? add(e, 'empty_directories') : going.has(e.path);
        if (!gone) staying.add(e.path.slice(0, e.path.lastIndexOf('/')));
      }
    }
  }
  return items;
}

export const systemCleanupTask = defineTask<CleanupConfig>({
  id: 'system-cleanup',
  name: 'System Cleanup',
  description: 'Removes the package cache, old temp files, rotated logs, broken symlinks and empty directories',
  task_type: 'maintenance',
  priority: 'low',
  estimated_duration_seconds: 60,
  config_schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      cleanup_types: { type: 'array', items: { enum: [...TYPES] }, uniqueItems: true },
      temp_dirs: { type: 'array', items: { type: 'string', pattern: '^/.' } },
      temp_age_days: { type: 'number', minimum: 0 },
      log_dirs: { type: 'array', items: { type: 'string', pattern: '^/.' } },
      log_age_days: { type: 'number', minimum: 0 },
      package_cache_dirs: { type: 'array', items: { type: 'string', pattern: '^/.' } },
      protected_paths: { type: 'array', items: { type: 'string', pattern: '^/' } },
      aggressive_cleanup: { type: 'boolean' },
    },
  } as Record<string, Json>,
  async execute(ctx, { config, dry_run }): Promise<TaskOutcome> {
    const items = await planCleanup(ctx.fs, config, Date.now());
    const total = items.reduce((a, i) => a + i.bytes, 0);
    const list = items.map((i) => `${i.kind}: ${i.path} (${i.bytes} bytes)`);
    if (dry_run)
      return {
        status: 'Success',
        output: [`would remove ${items.length} item(s), freeing ${total} bytes`, ...list].join('\n'),
        details: { items: items as unknown as Json, bytes: total },
      };
    const changes: SystemChange[] = [];
    const failed: string[] = [];
    let freed = 0;
    for (const i of items) {
      try {
        const st = await ctx.fs.lstat(i.path);
        // Only what was planned: a directory that is no longer empty, or an entry that changed type, stays.
        if (!st) continue;
        if (i.kind === 'empty_directories') {
          if (st.type !== 'dir' || (await ctx.fs.readDir(i.path)).length) continue;
        } else if (st.type === 'dir') continue;
        await ctx.fs.remove(i.path);
        freed += i.bytes;
        changes.push({
          type: i.kind === 'empty_directories' ? 'directory_deleted' : 'file_deleted',
          target: i.path,
          detail: i.kind,
        });
      } catch (e) {
        failed.push(`${i.path}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return {
      status: 'Success',
      output: `removed ${changes.length} item(s), freed ${freed} bytes${failed.length ? `; could not remove: ${failed.join('; ')}` : ''}`,
      changes_made: changes,
      resources: { disk_space_freed: freed },
      details: { bytes: freed, failed },
    };
  },
});
