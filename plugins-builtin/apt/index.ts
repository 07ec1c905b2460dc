/**
 * The apt plugin: `cx-ops repair apt`, the `repair_apt` fix for doctor, the `apt` updater
 * behind `cx-ops update`, and the `diagnosis` kind with its `apt` diagnosis: the one read-only
 * look at dpkg/apt that both `repair apt` and the apt_status check use, so doctor sees all
 * that the repair would fix.
 */
import {
  CxError,
  defineCommand,
  defineContribution,
  defineFix,
  definePlugin,
  type CommandInput,
  type Json,
  type PluginContext,
} from 'cx-ops/sdk';
import { diagnoseApt, repairApt, type AptRepairReport } from './apt-repair.js';
import { aptTools, aptUnavailable } from './apt-tools.js';
import { aptUpdater } from './apt-updater.js';
import { diagnosisKind } from './diagnosis-kind.js';

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

// A dry run that found problems exits 1, like `apt-get check`.
const EXIT: Record<AptRepairReport['status'], number> = {
  ok: 0,
  repaired: 0,
  planned: 1,
  skipped: 0,
  failed: 1,
  blocked: 5,
  declined: 1,
};

/** The plan shown before asking: each problem and what would be run about it. */
export function formatAptPlan(r: AptRepairReport, stateDir: string): string {
  const lines = ['repair apt will:'];
  for (const p of r.problems) {
    lines.push(`  - ${p.id}: ${p.description}`);
    for (const f of p.fix) lines.push(`      ${f}`);
  }
  lines.push(`  first copying the dpkg status file into ${stateDir}/dpkg-status/ (the last ten copies are kept)`);
  return `${lines.join('\n')}\n`;
}

/** Shows the plan and asks on a terminal; without one it needs -y. */
function confirmPlan(ctx: PluginContext<AptConfig>): (plan: AptRepairReport) => Promise<boolean> {
  return async (plan) => {
    ctx.io.err(formatAptPlan(plan, ctx.env.stateDir));
    if (ctx.env.assumeYes) return true;
    if (!ctx.io.interactive) {
      ctx.io.err(
        'not changing anything: no terminal to ask. Run again with -y to apply this plan (or --dry-run to only look).\n',
      );
      return false;
    }
    return ctx.io.confirm('Apply this repair?');
  };
}

/** Milliseconds to wait for a lock holder, or null when --lock-wait is not a number. */
function lockWaitMs(ctx: PluginContext<AptConfig>, option: Json | undefined): number | null {
  const s = option !== undefined && option !== null ? Number(option) : (ctx.config.lock_wait_seconds ?? 30);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : null;
}

export default definePlugin<AptConfig>({
  name: 'apt',
  kinds: [diagnosisKind],
  contributes: [
    defineContribution(
      diagnosisKind,
      'apt',
      {
        name: 'dpkg/apt',
        description:
          'interrupted dpkg runs, broken dependencies, corrupt package lists, cache problems (what repair apt fixes)',
      },
      async (ctx) => {
        const why = await aptUnavailable(ctx);
        if (why) return { available: false, reason: why, problems: [] };
        return { available: true, problems: await diagnoseApt(ctx, aptTools(ctx)) };
      },
    ),
    defineCommand<AptConfig>({
      name: 'repair apt',
      dryRun: true,
      description: 'Diagnose and repair dpkg/apt: locks, interrupted runs, broken dependencies, package lists, cache',
      options: [
        { flags: '--dry-run', description: 'show what is wrong and what would be done; change nothing' },
        { flags: '--locks', description: 'only deal with lock files (held locks are reported, never removed)' },
        {
          flags: '--lock-wait <seconds>',
          description: 'how long to wait for a process holding the lock (default: apt.lock_wait_seconds, 30)',
        },
        { flags: '--json', description: 'print the report as JSON' },
      ],
      help: 'Shows its plan (commands, packages removed and installed, files) and asks on a terminal; without a terminal it needs -y.\nExit codes: 0 healthy or repaired, 1 problems remain (also a --dry-run that found some, or a plan not confirmed), 5 another run holds the lock.',
      async run(ctx, input: CommandInput) {
        const o = input.options;
        const wait = lockWaitMs(ctx, o.lockWait);
        if (wait === null) {
          throw new CxError('CX_ERR_USAGE', {
            detail: `repair apt: --lock-wait takes a number of seconds >= 0 (found: ${JSON.stringify(o.lockWait)}).`,
            hint: `${ctx.env.command} repair apt --lock-wait 60`,
          });
        }
        const report = await repairApt(ctx, {
          locksOnly: Boolean(o.locks),
          lockWaitMs: wait,
          confirm: confirmPlan(ctx),
        });
        ctx.io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatAptReport(report));
        return EXIT[report.status];
      },
    }),
    defineFix<AptConfig>({
      id: 'repair_apt',
      name: 'Repair apt/dpkg',
      description:
        'Clears stale locks, finishes interrupted dpkg runs, fixes broken dependencies, refetches corrupted lists, cleans the cache',
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
