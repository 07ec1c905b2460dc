/**
 * The heal loop inside cx-ops daemon: the `heal` job (kind `daemon-job`, meta interval 'ask': it
 * answers heal.interval when the daemon schedules it) runs one cycle every heal.interval. Its
 * events (heal_action, heal_unmonitored, heal_resolver_error) go to the daemon's log and history
 * store under their own types, its samples to the plugin's metric families. In development mode
 * (the daemon under --dev or CX_DEV=1, or heal.dry_run) actions are recorded in the heal log,
 * never performed.
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import { daemonJobKind, type JobOutput } from '../daemon/job-kind.js';
import { devMode } from './heal-commands.js';
import { runHeal } from './heal-run.js';
import type { HealConfig } from './heal-types.js';

export const healJob = defineContribution(
  daemonJobKind,
  'heal',
  {
    description: 'detects issues (cpu, memory, disk, load, services) and heals them, every heal.interval',
    interval: 'ask',
    deadline_seconds: 600,
  },
  async (anyCtx, input): Promise<JobOutput | { interval: string | number }> => {
    const ctx = anyCtx as PluginContext<HealConfig>;
    if (input.schedule) return { interval: ctx.config.interval };
    const run = await runHeal(ctx, { dryRun: devMode(ctx), keepState: true, inDaemon: true });
    return {
      events: run.events.map((e) => ({
        level: e.level,
        type: e.type,
        message: e.message,
        ...(e.data && typeof e.data === 'object' && !Array.isArray(e.data) ? { data: e.data } : {}),
      })),
      metrics: run.metrics,
    };
  },
);
