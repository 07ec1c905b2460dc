/**
 * disk_space: block and inode usage of every real file system (or the configured mounts), each
 * graded against its own thresholds (`checks.disk_space.per_mount`).
 */
import {
  defineCheck,
  grade,
  readIfExists,
  thresholdError,
  worstStatus,
  type CheckStatus,
  type PluginContext,
} from 'cx-ops/sdk';
import { DISK_FS_TYPES, parseMounts, REMOTE_FS_TYPES } from './procfs.js';
import { round1 } from './round1.js';
import type { ChecksConfig } from './config.js';

/** Usage of one mount, as df computes it (used / (used + available)). */
export interface MountUsage {
  mount: string;
  used_percent: number;
  inode_used_percent: number | null;
  total_bytes: number;
  available_bytes: number;
}

export interface MountGrade extends MountUsage {
  status: 'PASS' | 'WARN' | 'FAIL';
  warn_percent: number;
  fail_percent: number;
}

/** Percent used from statfs numbers, like df: reserved blocks count as unavailable, not used. */
export function usageFromStatfs(
  mount: string,
  s: { total: number; free: number; available: number; files: number; filesFree: number },
): MountUsage {
  const used = s.total - s.free;
  const denom = used + s.available;
  return {
    mount,
    used_percent: denom > 0 ? round1((used / denom) * 100) : 0,
    inode_used_percent: s.files > 0 ? round1(((s.files - s.filesFree) / s.files) * 100) : null,
    total_bytes: s.total,
    available_bytes: s.available,
  };
}

/** Grades one mount: the worse of block and inode usage against the mount's thresholds. */
export function gradeMount(u: MountUsage, cfg: ChecksConfig['disk_space']): MountGrade {
  const own = cfg.per_mount[u.mount] ?? {};
  const warn = own.warn_percent ?? cfg.warn_percent;
  const fail = own.fail_percent ?? cfg.fail_percent;
  const blocks = grade(u.used_percent, { warn, fail });
  const inodes =
    u.inode_used_percent === null
      ? 'PASS'
      : grade(u.inode_used_percent, { warn: cfg.inode_warn_percent, fail: cfg.inode_fail_percent });
  return {
    ...u,
    status: worstStatus([blocks, inodes]) as MountGrade['status'],
    warn_percent: warn,
    fail_percent: fail,
  };
}

/** The mounts to look at: configured ones, else real file systems in /proc/mounts (one per device). */
export async function mountsToCheck(ctx: PluginContext<ChecksConfig>): Promise<string[]> {
  const cfg = ctx.config.disk_space;
  if (cfg.mounts.length) return cfg.mounts;
  const text = await readIfExists(ctx.fs, '/proc/mounts');
  return text === null ? ['/'] : realMountPoints(text, cfg);
}

/**
 * The mount points of real file systems in /proc/mounts text, one per device (its shortest
 * mount point), sorted; `/` when there is none. Also the heal plugin's disk detector.
 */
export function realMountPoints(
  text: string,
  opts: { include_remote: boolean; exclude_mounts: readonly string[] } = { include_remote: false, exclude_mounts: [] },
): string[] {
  const seen = new Map<string, string>();
  for (const m of parseMounts(text)) {
    if (!DISK_FS_TYPES.includes(m.fstype) && !(opts.include_remote && REMOTE_FS_TYPES.includes(m.fstype))) continue;
    if (opts.exclude_mounts.includes(m.mountpoint) || /^\/(proc|sys|dev|run)(\/|$)/.test(m.mountpoint)) continue;
    const prev = seen.get(m.device);
    if (prev === undefined || m.mountpoint.length < prev.length) seen.set(m.device, m.mountpoint);
  }
  const list = [...new Set(seen.values())].sort();
  return list.length ? list : ['/'];
}

const human = (bytes: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${round1(v)} ${units[i]}`;
};

export const diskSpaceCheck = defineCheck({
  id: 'disk_space',
  name: 'Disk Space',
  description: 'Block and inode usage of each mounted file system',
  category: 'disk',
  severity: 'high',
  fix_id: 'disk_cleanup',
  async run(ctx: PluginContext<ChecksConfig>) {
    const cfg = ctx.config.disk_space;
    const invalid = thresholdError(ctx.env, [
      {
        section: 'checks.disk_space',
        warn: ['warn_percent', cfg.warn_percent],
        fail: ['fail_percent', cfg.fail_percent],
      },
      {
        section: 'checks.disk_space',
        warn: ['inode_warn_percent', cfg.inode_warn_percent],
        fail: ['inode_fail_percent', cfg.inode_fail_percent],
      },
      ...Object.entries(cfg.per_mount).map(([m, t]) => ({
        section: `checks.disk_space.per_mount["${m}"]`,
        warn: ['warn_percent', t.warn_percent ?? cfg.warn_percent] as const,
        fail: ['fail_percent', t.fail_percent ?? cfg.fail_percent] as const,
      })),
    ]);
    if (invalid) return invalid;
    const graded: MountGrade[] = [];
    const missing: string[] = [];
    for (const mount of await mountsToCheck(ctx)) {
      const path = mount;
      const st = await ctx.fs.stat(path);
      if (!st || st.type !== 'directory') {
        missing.push(mount);
        continue;
      }
      graded.push(gradeMount(usageFromStatfs(mount, await ctx.fs.statfs(path)), cfg));
    }
    if (!graded.length)
      return { status: 'SKIP', message: `no mounted file system to check (not found: ${missing.join(', ')})` };
    const status: CheckStatus = worstStatus(graded.map((g) => g.status));
    const bad = graded.filter((g) => g.status !== 'PASS');
    const describe = (g: MountGrade) =>
      `${g.mount} ${g.used_percent}% used${g.inode_used_percent !== null && g.inode_used_percent >= cfg.inode_warn_percent ? `, inodes ${g.inode_used_percent}%` : ''} (${human(g.available_bytes)} free)`;
    const message =
      status === 'PASS'
        ? graded.length === 1
          ? describe(graded[0]!)
          : `${graded.length} file systems below ${cfg.warn_percent}%; fullest ${describe([...graded].sort((a, b) => b.used_percent - a.used_percent)[0]!)}`
        : bad.map(describe).join('; ');
    return { status, message, details: { mounts: graded, ...(missing.length ? { not_found: missing } : {}) } };
  },
});
