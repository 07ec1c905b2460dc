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
  veto(issue: Issue, plan: ActionPlan): Promise<string | null>;
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
  const one = async (issue: Issue): Promise<HealingResult> => {
    const started = deps.now();
    const key = keyOf(issue);
    const result = (
      action: string | null,
      success: boolean,
      error: string | null,
      extra: Partial<HealingResult> = {},
    ): HealingResult => ({
      issue,
      action_taken: action,
      success,
      error,
      duration_ms: deps.now() - started,
      timestamp: new Date(started).toISOString(),
      ...extra,
    });
    if (state.components[key]?.budget?.unmonitored) return result(null, false, null, { skipped: 'unmonitored' });
    if (busy.has(key)) return result(null, false, null, { skipped: 'busy' });
    busy.add(key);
    try {
      const res = await deps.resolve(issue);
      if (res.errors.length) out.resolverErrors.push(...res.errors);
      if (!res.plan) return result(null, false, null, { resolver: res.resolver, skipped: 'monitor_only' });
      const { action, parameters } = res.plan;
      const at = { resolver: res.resolver, parameters };
      const verdict = admit(state, key, cfg, started);
      if (verdict === 'unmonitor') {
        out.unmonitored.push(issue);
        return result(
          null,
          false,
          `budget exhausted: ${cfg.budget.max_actions} actions within ${cfg.budget.within_cycles} cycles; ${issue.component} is now unmonitored`,
          { ...at, skipped: 'unmonitored' },
        );
      }
      if (verdict !== 'act') return result(null, false, null, { ...at, skipped: verdict });
      const vetoed = await deps.veto(issue, res.plan);
      if (vetoed) return result(null, false, vetoed, { ...at, skipped: 'vetoed' });
      let done: ActOutcome;
      try {
        done = await deps.act(issue, res.plan);
      } catch (e) {
        done = { ok: false, detail: messageOf(e) };
      }
      spend(state, key, done.ok, cfg);
      return result(action, done.ok, done.ok ? null : done.detail, {
        ...at,
        ...(deps.dryRun ? { would_have_done: done.would ?? [] } : {}),
      });
    } finally {
      busy.delete(key);
    }
  };
  out.results = issues.length === 1 ? [await one(issues[0]!)] : await mapLimit(issues, cfg.max_parallel, one);
  return out;
}
