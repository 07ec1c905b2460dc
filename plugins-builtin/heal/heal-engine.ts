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
/**
 * Components with an action under way in this process, as flags (not a Set whose entries come and
 * go: deleting from a small Set shrinks and regrows its table every cycle). Bounded like the keys.
 */
const busy = new Map<string, boolean>();

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
  resolver: string | undefined,
  parameters: ActionPlan['parameters'] | undefined,
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
    resolver,
    parameters,
    skipped,
    would_have_done: would,
    log_id: undefined,
  };
}

/** What one issue's healing carries from step to step. */
interface Healing {
  state: DetectorState;
  cfg: HealConfig;
  deps: CycleDeps;
  out: CycleOutcome;
  issue: Issue;
  key: string;
  started: number;
  resolver?: string;
  plan?: ActionPlan;
}

/**
 * A throw on the way (a resolver, pre_heal or the clock), carried as a value until the cycle's
 * others have settled and then thrown by healCycle: no promise of a step ever rejects, so the
 * cycle can await them one by one without one rejecting unheard meanwhile.
 */
class Thrown {
  constructor(readonly error: unknown) {}
}

type Step = HealingResult | Thrown;

/**
 * Heals one issue. Synchronous as long as its resolver and pre_heal answer synchronously and no
 * action runs (a monitor-only issue, a backoff, a veto), so those cost no promise; an action
 * (always a promise) is awaited by the caller with the cycle's others. The component is busy
 * from here until its result is made (`finished`) or its throw is caught (`thrown`).
 */
function healOne(
  state: DetectorState,
  cfg: HealConfig,
  deps: CycleDeps,
  out: CycleOutcome,
  issue: Issue,
): Step | Promise<Step> {
  const started = deps.now();
  const key = keyOf(issue);
  if (state.components[key]?.budget?.unmonitored)
    return result(issue, started, deps.now(), null, false, null, undefined, undefined, 'unmonitored');
  if (busy.get(key)) return result(issue, started, deps.now(), null, false, null, undefined, undefined, 'busy');
  if (busy.size > 10_000) for (const [k, on] of busy) if (!on) busy.delete(k);
  busy.set(key, true);
  const h: Healing = { state, cfg, deps, out, issue, key, started };
  try {
    const got = deps.resolve(issue);
    return got instanceof Promise
      ? got.then(
          (res) => resumed(h, planned, res),
          (e: unknown) => thrown(h, e),
        )
      : planned(h, got);
  } catch (e) {
    return thrown(h, e);
  }
}

/** A step threw: the component is free again, the error goes to the cycle. */
function thrown(h: Healing, e: unknown): Thrown {
  busy.set(h.key, false);
  return new Thrown(e);
}

/** The next step after an awaited one, its throw caught. */
function resumed<T>(h: Healing, next: (h: Healing, v: T) => Step | Promise<Step>, v: T): Step | Promise<Step> {
  try {
    return next(h, v);
  } catch (e) {
    return thrown(h, e);
  }
}

/** The component's result: it is free again. */
function finished(
  h: Healing,
  action: string | null,
  success: boolean,
  error: string | null,
  skipped?: string,
  would?: string[],
): HealingResult {
  busy.set(h.key, false);
  const { issue, started, deps } = h;
  return result(issue, started, deps.now(), action, success, error, h.resolver, h.plan?.parameters, skipped, would);
}

/** After the resolver answered: monitor only, the budget's verdict, then pre_heal. */
function planned(h: Healing, res: Resolution): Step | Promise<Step> {
  if (res.errors.length) h.out.resolverErrors.push(...res.errors);
  h.resolver = res.resolver;
  if (!res.plan) return finished(h, null, false, null, 'monitor_only');
  h.plan = res.plan;
  const verdict = admit(h.state, h.key, h.cfg, h.started);
  if (verdict === 'unmonitor') {
    h.out.unmonitored.push(h.issue);
    const { max_actions, within_cycles } = h.cfg.budget;
    const why = `budget exhausted: ${max_actions} actions within ${within_cycles} cycles; ${h.issue.component} is now unmonitored`;
    return finished(h, null, false, why, 'unmonitored');
  }
  if (verdict !== 'act') return finished(h, null, false, null, verdict);
  const asked = h.deps.veto(h.issue, res.plan);
  return asked instanceof Promise
    ? asked.then(
        (v) => resumed(h, act, v),
        (e: unknown) => thrown(h, e),
      )
    : act(h, asked);
}

/** After pre_heal: the veto's result, or the action (its throw or rejection is a failed result). */
function act(h: Healing, vetoed: string | null): Step | Promise<Step> {
  if (vetoed) return finished(h, null, false, vetoed, 'vetoed');
  let running: Promise<ActOutcome>;
  try {
    running = h.deps.act(h.issue, h.plan!);
  } catch (e) {
    return acted(h, { ok: false, detail: messageOf(e) });
  }
  return Promise.resolve(running).then(
    (done) => acted(h, done),
    (e: unknown) => acted(h, { ok: false, detail: messageOf(e) }),
  );
}

/** After the action: counted against the budget, and its result. */
function acted(h: Healing, done: ActOutcome): Step {
  try {
    spend(h.state, h.key, done.ok, h.cfg);
    const would = h.deps.dryRun ? (done.would ?? []) : undefined;
    return finished(h, h.plan!.action, done.ok, done.ok ? null : done.detail, undefined, would);
  } catch (e) {
    return thrown(h, e);
  }
}

/** The issues by severity, CRITICAL first; equal ones keep their order (an insertion sort: a cycle has few). */
function bySeverity(issues: readonly Issue[]): readonly Issue[] {
  if (issues.length < 2) return issues;
  const sorted = issues.slice();
  for (let i = 1; i < sorted.length; i++) {
    const x = sorted[i]!;
    const rank = RANK[x.severity]!;
    let j = i - 1;
    for (; j >= 0 && RANK[sorted[j]!.severity]! < rank; j--) sorted[j + 1] = sorted[j]!;
    sorted[j + 1] = x;
  }
  return sorted;
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
  const issues = bySeverity(judgement.issues);
  const heal = (issue: Issue) => healOne(state, cfg, deps, out, issue);
  let steps: Array<Step | Promise<Step>>;
  if (issues.length > cfg.max_parallel && cfg.max_parallel > 1)
    steps = await mapLimit(issues, cfg.max_parallel, async (issue) => heal(issue));
  else if (cfg.max_parallel > 1) {
    // All at once: each starts now, then the cycle waits for the ones that act (none rejects).
    steps = issues.map(heal);
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i];
      if (s instanceof Promise) steps[i] = await s;
    }
  } else {
    steps = [];
    for (const issue of issues) {
      const s = heal(issue);
      steps.push(s instanceof Promise ? await s : s);
    }
  }
  for (const s of steps) if (s instanceof Thrown) throw s.error;
  out.results = steps as HealingResult[];
  return out;
}
