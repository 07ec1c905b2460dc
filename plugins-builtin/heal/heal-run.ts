/**
 * One heal cycle on this host, as the daemon's job and `heal --once` run it: the state from the
 * history store, the host read through ctx.fs and the service managers, the resolvers and
 * actions from the registry (actions invoked in dry run in development mode, so the kernel
 * records their exec and file calls), pre_heal fired before each action; then the state, the heal
 * log and the events written back. One cycle at a time per process, and per host under the lock
 * `heal` (the daemon and a `heal --once` take turns).
 */
import { performance } from 'node:perf_hooks';
import type { Json, PluginContext } from 'cx-ops/sdk';
import type { MetricSample } from '../daemon/metric-kind.js';
import { recordedBy } from './actions/recorded.js';
import { resolveIssue, resolverOrder } from './default-resolver.js';
import { checkHealConfig } from './heal-config.js';
import { healCycle, type CycleOutcome } from './heal-engine.js';
import { healActionKind, healResolverKind, preHealHook } from './heal-kinds.js';
import { METRICS } from './heal-metrics.js';
import { emptyHealState, loadHealState, saveHeal, type HealEvent, type LogRecord } from './heal-store.js';
import type { ActionPlan, HealConfig, HealingResult, Issue } from './heal-types.js';
import { readHost } from './host-readings.js';
import type { Pending } from './judge.js';

export interface HealRun {
  cycle: number;
  dry_run: boolean;
  issues: CycleOutcome['judgement']['issues'];
  results: HealingResult[];
  pending: Pending[];
  /** Components unmonitored by this cycle. */
  unmonitored: string[];
  resolver_errors: CycleOutcome['resolverErrors'];
  detection_ms: number;
  events: HealEvent[];
  metrics: MetricSample[];
}

export interface RunOptions {
  /** Record actions instead of performing them (development mode, dry_run: true, --dry-run). */
  dryRun: boolean;
  /** Keep the detectors' state (off for `heal --once --dry-run`: a dry run changes nothing). */
  keepState: boolean;
  /** Inside the daemon: events go out with the job's output, not through history-state. */
  inDaemon: boolean;
  /** Asked before each action that is performed (the CLI: a terminal or -y); false declines it. */
  confirm?: (issue: Issue, plan: ActionPlan) => Promise<boolean>;
  /** With no earlier /proc/stat sample, take two this far apart (ms) so CPU % is measured (0: not). */
  cpuSampleMs?: number;
  now?: () => number;
}

let chain: Promise<unknown> = Promise.resolve();

const logId = (ts: number, i: number) => `${new Date(ts).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${i + 1}`;

/** Runs one cycle (after any cycle of this process still running). */
export function runHeal(ctx: PluginContext<HealConfig>, o: RunOptions): Promise<HealRun> {
  const run = chain.then(
    () => runOnce(ctx, o),
    () => runOnce(ctx, o),
  );
  chain = run.catch(() => undefined);
  return run;
}

async function runOnce(ctx: PluginContext<HealConfig>, o: RunOptions): Promise<HealRun> {
  const cfg = await checkHealConfig(ctx);
  // The daemon's cycle and a `heal --once` of another process take turns on the state — under
  // --dev too: a development-mode cycle still writes its state and heal log (history store).
  const lock = await ctx.lock('heal', { waitMs: 60_000, what: 'a heal cycle', inDryRun: true });
  try {
    return await cycleOnce(ctx, cfg, o);
  } finally {
    await lock.release();
  }
}

async function cycleOnce(ctx: PluginContext<HealConfig>, cfg: HealConfig, o: RunOptions): Promise<HealRun> {
  const now = o.now ?? Date.now;
  const state = await loadHealState(ctx).catch((e: unknown) => {
    ctx.log.warn(`heal state unreadable, starting afresh: ${e instanceof Error ? e.message : String(e)}`);
    return emptyHealState();
  });
  const t0 = performance.now();
  let host = await readHost(ctx, cfg, state.cpu ?? undefined);
  if (!state.cpu && o.cpuSampleMs && host.cpu) {
    await new Promise((r) => setTimeout(r, o.cpuSampleMs));
    host = await readHost(ctx, cfg, host.cpu);
  }
  const detectionMs = performance.now() - t0;
  const resolvers = resolverOrder(await ctx.registry.list(healResolverKind));
  const actions = new Set((await ctx.registry.list(healActionKind)).map((a) => a.id));
  const outcome = await healCycle(state.detector, host.readings, cfg, {
    now,
    dryRun: o.dryRun,
    resolve: (issue) => resolveIssue(ctx, issue, resolvers, actions),
    async veto(issue, plan) {
      const r = await ctx.registry.callHook(preHealHook, { issue, ...plan, dry_run: o.dryRun });
      if (!r.proceed) return `${plan.action} vetoed by a pre_heal tap of plugin '${r.vetoedBy ?? 'unknown'}'`;
      if (!o.dryRun && o.confirm && !(await o.confirm(issue, plan)))
        return `${plan.action} not run: not confirmed (answer yes on a terminal, or pass -y)`;
      return null;
    },
    async act(issue, plan) {
      const out = await ctx.registry.invoke(
        healActionKind,
        plan.action,
        { issue, parameters: plan.parameters },
        {
          dryRun: o.dryRun,
        },
      );
      return {
        ok: Boolean(out?.ok),
        detail: String(out?.detail ?? ''),
        would: [...recordedBy(out), ...(Array.isArray(out?.recorded) ? out.recorded.map(String) : [])],
      };
    },
  });
  const ts = now();
  const records: LogRecord[] = [];
  for (const r of outcome.results) {
    if (!r.would_have_done || !r.action_taken) continue;
    const rec: LogRecord = {
      id: logId(ts, records.length),
      ts: new Date(ts).toISOString(),
      issue: r.issue,
      action: r.action_taken,
      parameters: r.parameters ?? {},
      resolver: r.resolver ?? 'heal/default',
      would_have_done: r.would_have_done,
    };
    r.log_id = rec.id;
    records.push(rec);
  }
  const events = eventsOf(outcome, o.dryRun);
  const opened = outcome.judgement.opened.length;
  state.totals.detected += opened;
  for (const r of outcome.results) if (r.action_taken && !o.dryRun) state.totals[r.success ? 'resolved' : 'failed']++;
  state.cpu = host.cpu;
  state.last_cycle = ts;
  const write = { ...(o.keepState ? { state } : {}), records, ...(o.inDaemon ? {} : { events }) };
  await saveHeal(ctx, write).catch((e: unknown) =>
    ctx.log.warn(`heal state not kept: ${e instanceof Error ? e.message : String(e)}`),
  );
  return {
    cycle: outcome.judgement.cycle,
    dry_run: o.dryRun,
    issues: outcome.judgement.issues,
    results: outcome.results,
    pending: outcome.judgement.pending,
    unmonitored: outcome.unmonitored.map((i) => i.component),
    resolver_errors: outcome.resolverErrors,
    detection_ms: detectionMs,
    events,
    metrics: METRICS.samples(outcome, state, detectionMs, o.dryRun),
  };
}

/** The cycle's events: each action (or vetoed one), each component unmonitored, each resolver that failed. */
function eventsOf(outcome: CycleOutcome, dryRun: boolean): HealEvent[] {
  const events: HealEvent[] = [];
  for (const r of outcome.results) {
    if (!r.action_taken && r.skipped !== 'vetoed') continue;
    const data: Json = {
      component: r.issue.component,
      detector: r.issue.detector,
      action: r.action_taken,
      success: r.success,
      dry_run: dryRun,
      ...(r.error ? { error: r.error } : {}),
      ...(r.log_id ? { log_id: r.log_id } : {}),
    };
    events.push({
      level: r.success || r.skipped ? 'info' : 'warn',
      type: r.skipped === 'vetoed' ? 'heal_vetoed' : 'heal_action',
      message:
        r.skipped === 'vetoed'
          ? `${r.issue.component}: ${r.error}`
          : `${r.issue.component}: ${dryRun ? 'would have run' : 'ran'} ${r.action_taken}${dryRun ? '' : r.success ? ': ok' : `: failed: ${r.error}`}`,
      data,
    });
  }
  for (const i of outcome.unmonitored)
    events.push({
      level: 'warn',
      type: 'heal_unmonitored',
      message: `${i.component} is unmonitored: its remediation budget is exhausted (${i.description}); it is left alone until it is healthy again`,
      data: { component: i.component, detector: i.detector, severity: i.severity, description: i.description },
    });
  for (const e of outcome.resolverErrors)
    events.push({
      level: 'error',
      type: 'heal_resolver_error',
      message: e.message,
      data: { plugin: e.plugin, resolver: e.resolver, code: e.code },
    });
  return events;
}
