/**
 * The seed's resource actions: clear_system_cache (drops the page cache through the rooted
 * /proc/sys/vm/drop_caches, after a sync) and cleanup_disk (checks-system's disk_cleanup fix:
 * apt's package cache, the journal, old rotated logs; never user data).
 */
import { defineContribution, fixKind, type CheckResult } from 'cx-ops/sdk';
import { healActionKind } from '../heal-kinds.js';
import { recordedBy } from './recorded.js';

const LEVELS: Record<number, string> = {
  1: 'the page cache',
  2: 'dentries and inodes',
  3: 'the page cache, dentries and inodes',
};

export const clearSystemCache = defineContribution(
  healActionKind,
  'clear_system_cache',
  {
    category: 'resource',
    description: 'sync, then write 1 (page cache; parameters.level 1-3) to /proc/sys/vm/drop_caches',
  },
  async (ctx, { parameters }) => {
    const level = Number(parameters.level ?? 1);
    if (!LEVELS[level])
      return { ok: false, detail: `parameters.level must be 1, 2 or 3, not ${JSON.stringify(parameters.level)}` };
    if (!(await ctx.fs.stat('/proc/sys/vm/drop_caches')))
      return { ok: false, detail: `${ctx.fs.diskPath('/proc/sys/vm/drop_caches')} does not exist on this host` };
    // Dirty pages are not dropped: writing them out first frees more.
    await ctx.exec.run('sync', [], { timeoutMs: 60_000 });
    await ctx.fs.writeFile('/proc/sys/vm/drop_caches', `${level}\n`);
    return { ok: true, detail: `dropped ${LEVELS[level]} (${ctx.fs.diskPath('/proc/sys/vm/drop_caches')} = ${level})` };
  },
);

export const cleanupDisk = defineContribution(
  healActionKind,
  'cleanup_disk',
  {
    category: 'resource',
    description: "checks-system's disk_cleanup fix: apt-get clean, journal vacuum, old rotated logs under /var/log",
  },
  async (ctx, { issue }) => {
    const result: CheckResult = {
      check_id: 'disk_space',
      name: 'Disk space',
      status: 'FAIL',
      message: issue.description,
      details: { mount: issue.component, used_percent: issue.metric_value },
      fix_id: 'disk_cleanup',
      duration_ms: 0,
    };
    const out = await ctx.registry.invoke(fixKind, 'disk_cleanup', { result });
    return {
      ok: out.ok,
      detail: `${out.message}${out.actions.length ? ` (${out.actions.join('; ')})` : ''}`,
      recorded: recordedBy(out),
    };
  },
);
