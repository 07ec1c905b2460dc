/**
 * One detect → resolve → act cycle over readings already taken (the seed's detect_and_heal and
 * heal_issues_batch): issues are handled by severity, CRITICAL first, at most max_parallel at
 * once and never two on one component at once (also across overlapping cycles in this
 * process). The host, the resolvers, the pre_heal hook and the actions come in as `deps`, so the
 * same code runs in the daemon, in `heal --once` and in the benchmark (with no I/O).
 */
import { mapLimit } from 'cx-ops/sdk';
import type { Resolution } from './default-resolver.js';
import { admit, judge, keyOf, spend, type DetectorState, type Judgement } from './judge.js';
import {
  SEVERITIES,
  type ActionPlan,
  type HealConfig,
  type HealingResult,
  type Issue,
  type Reading,
} from './heal-types.js';

export interface ActOutcome {
  ok: boolean;
  detail: string;
  /** Dry run: the exact commands and file changes it would have made. */
  would?: string[];
}

export interface CycleDeps {
  now(): number;
  dryRun: boolean;
  resolve(issue: Issue): Resolution | Promise<Resolution>;
  /** Why the action may not run (a pre_heal tap vetoed it, it was not confirmed), or null. */
  veto(issue: Issue, plan: ActionPlan): string | null | Promise<string | null>;
  act(issue: Issue, plan: ActionPlan): Promise<ActOutcome>;
}

export interface CycleOutcome {
  judgement: Judgement;
  results: HealingResult[];
  /** Components whose budget ran out this cycle (now unmonitored). */
  unmonitored: Issue[];
  resolverErrors: Resolution['errors'];
}

const RANK: Record<string, number> = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));
const busy = new Set<string>();

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

let stampMs = NaN;
let stampIso = '';
/** ISO time of `ms`; the last one is kept (a cycle's results share their start). */
function iso(ms: number): string {
  if (ms !== stampMs) {
    stampMs = ms;
    stampIso = new Date(ms).toISOString();
  }
  return stampIso;
}

/** One result; every field present in one shape (undefined ones are left out of JSON). */
function result(
  issue: Issue,
  started: number,
  now: number,
  action: string | null,
  success: boolean,
  error: string | null,
  at: { resolver?: string; parameters?: ActionPlan['parameters'] },
  skipped?: string,
  would?: string[],
): HealingResult {
  return {
    issue,
    action_taken: action,
    success,
    error,
    duration_ms: now - started,
    timestamp: iso(started),
    resolver: at.resolver,
    parameters: at.parameters,
    skipped,
    would_have_done: would,
    log_id: undefined,
  };
}

const NONE = {};

async function healOne(
  state: DetectorState,
  cfg: HealConfig,
  deps: CycleDeps,
  out: CycleOutcome,
  issue: Issue,
): Promise<HealingResult> {
  const started = deps.now();
  const key = keyOf(issue);
  if (state.components[key]?.budget?.unmonitored)
    return result(issue, started, deps.now(), null, false, null, NONE, 'unmonitored');
  if (busy.has(key)) return result(issue, started, deps.now(), null, false, null, NONE, 'busy');
  busy.add(key);
  try {
    const got = deps.resolve(issue);
    const res = got instanceof Promise ? await got : got;
    if (res.errors.length) out.resolverErrors.push(...res.errors);
    if (!res.plan)
      return result(issue, started, deps.now(), null, false, null, { resolver: res.resolver }, 'monitor_only');
    const { action, parameters } = res.plan;
    const at = { resolver: res.resolver, parameters };
    const verdict = admit(state, key, cfg, started);
    if (verdict === 'unmonitor') {
      out.unmonitored.push(issue);
      const why = `budget exhausted: ${cfg.budget.max_actions} actions within ${cfg.budget.within_cycles} cycles; ${issue.component} is now unmonitored`;
      return result(issue, started, deps.now(), null, false, why, at, 'unmonitored');
    }
    if (verdict !== 'act') return result(issue, started, deps.now(), null, false, null, at, verdict);
    const asked = deps.veto(issue, res.plan);
    const vetoed = asked instanceof Promise ? await asked : asked;
    if (vetoed) return result(issue, started, deps.now(), null, false, vetoed, at, 'vetoed');
    let done: ActOutcome;
    try {
      done = await deps.act(issue, res.plan);
    } catch (e) {
      done = { ok: false, detail: messageOf(e) };
    }
    spend(state, key, done.ok, cfg);
    const would = deps.dryRun ? (done.would ?? []) : undefined;
    return result(issue, started, deps.now(), action, done.ok, done.ok ? null : done.detail, at, undefined, would);
  } finally {
    busy.delete(key);
  }
}

/** Judges the readings and heals what is due; updates `state` in place. */
export async function healCycle(
  state: DetectorState,
  readings: readonly Reading[],
  cfg: HealConfig,
  deps: CycleDeps,
): Promise<CycleOutcome> {
  const judgement = judge(state, readings, cfg, deps.now());
  const out: CycleOutcome = { judgement, results: [], unmonitored: [], resolverErrors: [] };
  const issues =
    judgement.issues.length > 1
      ? [...judgement.issues].sort((a, b) => RANK[b.severity]! - RANK[a.severity]!)
      : judgement.issues;
  const heal = (issue: Issue) => healOne(state, cfg, deps, out, issue);
  if (issues.length <= 1 || cfg.max_parallel === 1) for (const issue of issues) out.results.push(await heal(issue));
  else if (issues.length <= cfg.max_parallel) out.results = await Promise.all(issues.map(heal));
  else out.results = await mapLimit(issues, cfg.max_parallel, heal);
  return out;
}
