/**
 * The daemon's first job: the enabled checks, run by doctor's own runner (the same pre_check /
 * post_check hooks, dependencies and per-check time limits as `cx-ops doctor`). Its results feed
 * /health; a check that hangs is an ERROR within its cycle, because the per-check limit is kept
 * below the job's deadline.
 */
import { defineContribution, type CheckResult, type PluginContext } from 'cx-ops/sdk';
import { runChecks } from '../doctor/run-checks.js';
import type { DaemonConfig } from './daemon-settings.js';
import type { JobInput, JobOutput } from './job-kind.js';

export async function runChecksJob(ctx: PluginContext<DaemonConfig>, input: JobInput): Promise<JobOutput> {
  const cfg = ctx.config;
  const all = await ctx.registry.list('check');
  const known = new Set(all.map((c) => c.id));
  const unknown = cfg.checks.filter((id) => !known.has(id));
  const selected = cfg.checks.length ? all.filter((c) => cfg.checks.includes(c.id)) : all;
  const limit = Math.min(cfg.check_timeout_seconds, Math.max(0.5, (input.deadline_ms * 0.8) / 1000));
  const results: CheckResult[] = await runChecks(ctx, selected, {
    maxParallel: cfg.max_parallel,
    timeoutSeconds: limit,
  });
  return {
    results,
    checks: Object.fromEntries(
      selected.map((c) => [
        c.id,
        {
          category: String(c.meta.category ?? 'other'),
          severity: String(c.meta.severity ?? 'medium'),
          plugin: c.plugin,
        },
      ]),
    ),
    events: unknown.length
      ? [
          {
            level: 'warn',
            message: `daemon.checks names no registered check: ${unknown.join(', ')} (list them with: cx-ops doctor --list)`,
          },
        ]
      : [],
  };
}

export const checksJob = defineContribution<JobInput, JobOutput>(
  'daemon-job',
  'checks',
  { description: 'the enabled health checks, every daemon.interval', interval: null, health: true },
  (ctx, input) => runChecksJob(ctx as PluginContext<DaemonConfig>, input),
);
