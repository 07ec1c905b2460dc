/**
 * zombie_processes: processes in state Z (exited, not yet reaped by their parent), and the fix
 * that asks each parent to reap them by sending it SIGCHLD.
 */
import { defineCheck, defineFix, grade, skip, thresholdError, type PluginContext } from 'cx-ops/sdk';
import type { ChecksConfig } from './config.js';
import { parseProcStat } from './procfs.js';

export interface Zombie {
  pid: number;
  ppid: number;
  comm: string;
}

/** At most this many /proc/PID/stat files in one readSmallFiles call (the capability's limit). */
const BATCH = 16;

/**
 * Processes in state Z; null when there is no /proc. /proc/PID/stat is read in-process, sixteen
 * files per capability call (synchronous reads of kernel memory): on a host of a few hundred
 * processes that is cheaper than starting `ps`, which reads the same files, and a doctor run whose
 * other answers are cached starts no program at all.
 */
export async function findZombies(ctx: PluginContext<unknown>): Promise<Zombie[] | null> {
  const proc = '/proc';
  if (!(await ctx.fs.stat(proc))) return null;
  const pids = (await ctx.fs.readDir(proc)).map((e) => e.name).filter((n) => /^\d+$/.test(n));
  const zombies: Zombie[] = [];
  for (let i = 0; i < pids.length; i += BATCH) {
    // A process that ended while we looked is an entry without text.
    const files = await ctx.fs.readSmallFiles(
      pids.slice(i, i + BATCH).map((pid) => `${proc}/${pid}/stat`),
      { maxBytes: 4096 },
    );
    for (const f of files) {
      const s = f.text === null ? null : parseProcStat(f.text);
      if (s && s.state === 'Z') zombies.push({ pid: s.pid, ppid: s.ppid, comm: s.comm });
    }
  }
  return zombies.sort((a, b) => a.pid - b.pid);
}

export const zombieCheck = defineCheck({
  id: 'zombie_processes',
  name: 'Zombie Processes',
  description: 'Exited processes their parent has not reaped',
  category: 'performance',
  severity: 'low',
  fix_id: 'zombie_reap',
  async run(ctx: PluginContext<ChecksConfig>) {
    const cfg = ctx.config.zombie_processes;
    const invalid = thresholdError(ctx.env, [
      {
        section: 'checks.zombie_processes',
        warn: ['warn_count', cfg.warn_count],
        fail: ['fail_count', cfg.fail_count],
      },
    ]);
    if (invalid) return invalid;
    const zombies = await findZombies(ctx);
    if (zombies === null) return skip('/proc not found on this host');
    const parents = [...new Set(zombies.map((z) => z.ppid))];
    const status = grade(zombies.length, { warn: cfg.warn_count, fail: cfg.fail_count });
    const message =
      zombies.length === 0
        ? 'no zombie processes'
        : `${zombies.length} zombie process${zombies.length === 1 ? '' : 'es'} (parent${parents.length === 1 ? '' : 's'}: ${parents.slice(0, 5).join(', ')}${parents.length > 5 ? ', …' : ''})`;
    return { status, message, details: { count: zombies.length, zombies: zombies.slice(0, 50), parents, ...cfg } };
  },
});

export const zombieFix = defineFix({
  id: 'zombie_reap',
  name: 'Signal zombie parents',
  description: "Sends SIGCHLD to each zombie's parent so it reaps its exited children",
  safe: true,
  async run(ctx) {
    const zombies = (await findZombies(ctx)) ?? [];
    const parents = [...new Set(zombies.map((z) => z.ppid))].filter((p) => p > 0);
    if (!parents.length) return { ok: true, message: 'no zombie processes left', actions: [] };
    const actions: string[] = [];
    const failed: string[] = [];
    for (const ppid of parents) {
      actions.push(`kill -s CHLD ${ppid}`);
      const r = await ctx.exec.run('kill', ['-s', 'CHLD', String(ppid)], { timeoutMs: 5000 });
      if (!r.dryRun && r.exitCode !== 0) failed.push(`${ppid}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    }
    return {
      ok: failed.length === 0,
      message: failed.length
        ? `could not signal ${failed.join('; ')}`
        : `sent SIGCHLD to ${parents.length} parent process${parents.length === 1 ? '' : 'es'}`,
      actions,
    };
  },
});
