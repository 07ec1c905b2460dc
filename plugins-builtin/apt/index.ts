/**
 * The apt plugin: `cx-ops repair apt`, the `repair_apt` fix for doctor, and the `apt` updater
 * behind `cx-ops update`.
 */
import { CxError, defineCommand, defineFix, definePlugin, type CommandInput, type Json, type PluginContext } from 'cx-ops/sdk';
import { repairApt, type AptRepairReport } from './apt-repair.js';
import { aptUpdater } from './apt-updater.js';

interface AptConfig {
  lock_wait_seconds?: number;
}

/** The repair report as text. */
export function formatAptReport(r: AptRepairReport): string {
  const lines = [`APT repair${r.dryRun ? ' (dry run: nothing is changed)' : ''}`];
  for (const p of r.problems) {
    lines.push(`  - ${p.id}: ${p.description}`);
    for (const f of p.fix) lines.push(`      ${r.dryRun ? 'would' : 'fix'}: ${f}`);
  }
  if (r.actions.length) {
    lines.push('Done:');
    for (const a of r.actions) lines.push(`  ${a}`);
  }
  lines.push(`${r.status.toUpperCase()}: ${r.message}`);
  return `${lines.join('\n')}\n`;
}

const EXIT: Record<AptRepairReport['status'], number> = { ok: 0, repaired: 0, planned: 0, skipped: 0, failed: 1, blocked: 5 };

/** Milliseconds to wait for a lock holder, or null when --lock-wait is not a number. */
function lockWaitMs(ctx: PluginContext<AptConfig>, option: Json | undefined): number | null {
  const s = option !== undefined && option !== null ? Number(option) : ctx.config.lock_wait_seconds ?? 30;
  return Number.isFinite(s) && s >= 0 ? s * 1000 : null;
}

export default definePlugin<AptConfig>({
  name: 'apt',
  contributes: [
    defineCommand({
      name: 'repair apt',
      dryRun: true,
      description: 'Diagnose and repair dpkg/apt: locks, interrupted runs, broken dependencies, package lists, cache',
      options: [
        { flags: '--dry-run', description: 'show what is wrong and what would be done; change nothing' },
        { flags: '--locks', description: 'only deal with lock files (held locks are reported, never removed)' },
        { flags: '--lock-wait <seconds>', description: 'how long to wait for a process holding the lock (default: apt.lock_wait_seconds, 30)' },
        { flags: '--json', description: 'print the report as JSON' },
      ],
      async run(ctx, input: CommandInput) {
        const o = input.options;
        const wait = lockWaitMs(ctx, o.lockWait);
        if (wait === null) {
          throw new CxError('CX_ERR_USAGE', { detail: `repair apt: --lock-wait takes a number of seconds >= 0 (found: ${JSON.stringify(o.lockWait)}).`, hint: 'cx-ops repair apt --lock-wait 60' });
        }
        const report = await repairApt(ctx, { locksOnly: Boolean(o.locks), lockWaitMs: wait });
        ctx.io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatAptReport(report));
        return EXIT[report.status];
      },
    }),
    defineFix({
      id: 'repair_apt',
      name: 'Repair apt/dpkg',
      description: 'Clears stale locks, finishes interrupted dpkg runs, fixes broken dependencies, refetches corrupted lists, cleans the cache',
      safe: false,
      async run(ctx) {
        const r = await repairApt(ctx, { lockWaitMs: lockWaitMs(ctx, undefined) ?? 30_000 });
        return {
          ok: ['ok', 'repaired', 'planned'].includes(r.status),
          message: r.message,
          actions: r.dryRun ? r.problems.flatMap((p) => p.fix) : r.actions,
        };
      },
    }),
    aptUpdater,
  ],
});
