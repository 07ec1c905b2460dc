/**
 * disk_cleanup, the fix of disk_space: empties apt's package cache (`apt-get clean`), vacuums the
 * systemd journal to a size, and removes rotated logs (*.1, *.gz, …) older than a number of days
 * under /var/log. In dry run it lists exactly the commands and files.
 */
import { defineFix, type PluginContext } from 'cx-ops/sdk';
import type { ChecksConfig } from './config.js';

/** Names logrotate leaves behind: syslog.1, syslog.2.gz, kern.log.1.xz, app-20240101.gz. */
export const ROTATED_LOG = /(\.\d+)(\.(gz|xz|bz2|zst|lz4))?$|\.(gz|xz|bz2|zst|lz4)$/;

/** Rotated logs under dir older than maxAgeDays (walks at most `depth` levels). */
export async function oldRotatedLogs(
  ctx: PluginContext<unknown>,
  dir: string,
  maxAgeDays: number,
  now = Date.now(),
  depth = 4,
): Promise<Array<{ path: string; size: number }>> {
  const found: Array<{ path: string; size: number }> = [];
  const cutoff = now - maxAgeDays * 86_400_000;
  const walk = async (d: string, level: number): Promise<void> => {
    let entries;
    try {
      entries = await ctx.fs.readDir(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = `${d}/${e.name}`;
      if (e.type === 'directory') {
        if (level < depth && e.name !== 'journal') await walk(p, level + 1);
      } else if (e.type === 'file' && ROTATED_LOG.test(e.name)) {
        const st = await ctx.fs.stat(p);
        if (st && st.mtimeMs < cutoff) found.push({ path: p, size: st.size });
      }
    }
  };
  await walk(dir, 1);
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

export const diskCleanupFix = defineFix({
  id: 'disk_cleanup',
  name: 'Clean package cache and old logs',
  description: 'apt-get clean, journalctl --vacuum-size, and removal of old rotated logs under /var/log',
  safe: true,
  async run(ctx: PluginContext<ChecksConfig>) {
    const cfg = ctx.config.disk_space.cleanup;
    const root = ctx.env.root.replace(/\/+$/, '') || '/';
    const actions: string[] = [];
    const problems: string[] = [];
    const run = async (cmd: string, args: string[]) => {
      actions.push([cmd, ...args].join(' '));
      const r = await ctx.exec.run(cmd, args, { timeoutMs: 120_000 });
      if (!r.dryRun && r.exitCode !== 0)
        problems.push(`${cmd} ${args[0]}: ${r.stderr.trim().split('\n')[0] || `exit ${r.exitCode}`}`);
    };
    if (cfg.apt_clean && (await ctx.fs.stat('/var/cache/apt/archives'))) {
      await run('apt-get', ['clean', ...(root === '/' ? [] : ['-o', `Dir=${root}`])]);
    }
    if (await ctx.fs.stat('/var/log/journal')) {
      await run('journalctl', [`--vacuum-size=${cfg.journal_max_size}`, ...(root === '/' ? [] : [`--root=${root}`])]);
    }
    let freed = 0;
    for (const f of await oldRotatedLogs(ctx, '/var/log', cfg.log_max_age_days)) {
      actions.push(`remove ${ctx.fs.diskPath(f.path)} (${f.size} bytes)`);
      try {
        await ctx.fs.remove(f.path);
        freed += f.size;
      } catch (e) {
        problems.push(`${ctx.fs.diskPath(f.path)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (!actions.length) return { ok: true, message: 'nothing to clean', actions };
    return {
      ok: problems.length === 0,
      message: problems.length
        ? `cleanup incomplete: ${problems.join('; ')}`
        : `cleaned package cache and logs${freed ? ` (${freed} bytes of old logs)` : ''}`,
      actions,
    };
  },
});
