/**
 * The detectors' state machine, pure and synchronous, driven one cycle at a time with the
 * caller's clock (so it is tested cycle by cycle without sleeping). Per component:
 *
 * - `bad` counts cycles at or above the trigger since the counter last reset (not only
 *   consecutive ones); the issue opens when `bad` reaches for_cycles (Monit's `for N cycles`).
 * - A value below the clear threshold is a healthy cycle: an open issue closes at once, and
 *   after reset_after_cycles healthy cycles in a row `bad` goes back to 0 and the component's
 *   remediation budget is reset (unmonitored included). A value between clear and trigger (the
 *   hysteresis band) changes nothing but the healthy streak: an open issue stays open.
 * - Until `bad` resets, a value back at the trigger reopens the issue at once.
 * - A successful action starts a grace period: the component is not judged for grace_cycles
 *   cycles, then starts from `bad` 0.
 * - The budget: at most max_actions actions within within_cycles cycles; one more needed and the
 *   component is unmonitored (left alone until sustained health resets it). After a failed
 *   action the next waits backoff_cycles, doubled per further failure, capped at max_backoff_cycles.
 */
import type { DetectorId, HealConfig, Issue, IssueType, Reading, Severity, Threshold } from './heal-types.js';

export interface Budget {
  /** Cycles in which an action ran (within the window). */
  actions: number[];
  /** Failed actions in a row. */
  failures: number;
  /** The first cycle another action may run in. */
  next_cycle: number;
  unmonitored: boolean;
  /** ISO time it was unmonitored. */
  unmonitored_at?: string;
}

export interface ComponentState {
  bad: number;
  good: number;
  open: boolean;
  /** Epoch ms the issue opened. */
  since?: number;
  /** Not judged before this cycle (grace after a successful action). */
  grace_until?: number;
  /** The last value read. */
  value?: number | null;
  budget?: Budget;
}

export interface DetectorState {
  cycle: number;
  /** By key: `<detector>:<component>`. */
  components: Record<string, ComponentState>;
}

/** A component over its trigger that has not held long enough yet. */
export interface Pending {
  key: string;
  value: number;
  bad: number;
  needed: number;
}

export interface Judgement {
  cycle: number;
  issues: Issue[];
  pending: Pending[];
  /** Components in their grace period this cycle. */
  grace: string[];
  /** Keys of the issues that opened this cycle. */
  opened: string[];
}

export const emptyDetectorState = (): DetectorState => ({ cycle: 0, components: {} });

const TYPES: Record<DetectorId, IssueType> = {
  cpu: 'RESOURCE',
  memory: 'RESOURCE',
  disk: 'RESOURCE',
  load: 'RESOURCE',
  service: 'SERVICE',
};

const SERVICE_THRESHOLD: Threshold = { trigger: 1, clear: 1, severity: 'HIGH' };

const serviceThresholds = new WeakMap<HealConfig, Threshold>();

/** The thresholds a reading is judged by. */
export function thresholdOf(cfg: HealConfig, detector: DetectorId): Threshold {
  if (detector !== 'service') return cfg.thresholds[detector];
  let t = serviceThresholds.get(cfg);
  if (!t) {
    t = { ...SERVICE_THRESHOLD, severity: cfg.services.severity, for_cycles: cfg.services.for_cycles };
    serviceThresholds.set(cfg, t);
  }
  return t;
}

/** The last description per component: a value that holds reuses its text. */
const described = new Map<string, { value: number; trigger: number; detail?: string; text: string }>();

function descriptionOf(key: string, r: Reading, t: Threshold): string {
  const d = described.get(key);
  if (d && d.value === r.value && d.trigger === t.trigger && d.detail === r.detail) return d.text;
  const text = describe(r, t);
  if (described.size > 10_000) described.clear();
  described.set(key, { value: r.value!, trigger: t.trigger, detail: r.detail, text });
  return text;
}

function describe(r: Reading, t: Threshold): string {
  const v = Math.round(r.value! * 10) / 10;
  switch (r.detector) {
    case 'cpu':
      return `CPU usage ${v}% is at or above ${t.trigger}%`;
    case 'memory':
      return `memory usage ${v}% is at or above ${t.trigger}%`;
    case 'disk':
      return `disk usage of ${r.component} ${v}% is at or above ${t.trigger}%`;
    case 'load':
      return `load average ${v}${r.detail ? ` ${r.detail}` : ''} is at or above ${t.trigger}`;
    case 'service':
      return `service ${r.component}${r.manager ? ` (${r.manager})` : ''} is not running${r.detail ? `: ${r.detail}` : ''}`;
  }
}

/** The severity of a value: CRITICAL at or above `critical`, else the detector's own. */
export function severityOf(t: Threshold, value: number): Severity {
  return t.critical !== undefined && value >= t.critical ? 'CRITICAL' : t.severity;
}

let isoMs = NaN;
let isoText = '';
const isoOf = (ms: number) => {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
};

/** Judges one cycle's readings; updates `state` in place. */
export function judge(state: DetectorState, readings: readonly Reading[], cfg: HealConfig, now: number): Judgement {
  const cycle = ++state.cycle;
  const out: Judgement = { cycle, issues: [], pending: [], grace: [], opened: [] };
  let stamp: string | undefined;
  for (const r of readings) {
    if (r.value === null) continue;
    const key = keyOf(r);
    let c = state.components[key];
    if (!c) c = state.components[key] = { bad: 0, good: 0, open: false, value: r.value };
    else c.value = r.value;
    if (c.grace_until !== undefined) {
      if (cycle < c.grace_until) {
        out.grace.push(key);
        continue;
      }
      c.grace_until = undefined;
    }
    const t = thresholdOf(cfg, r.detector);
    if (r.value >= t.trigger) {
      c.bad++;
      c.good = 0;
    } else if (r.value < t.clear) {
      c.good++;
      c.open = false;
      c.since = undefined;
      if (c.good >= cfg.reset_after_cycles) {
        c.bad = 0;
        c.budget = undefined;
      }
    } else c.good = 0;
    const needed = t.for_cycles ?? cfg.for_cycles;
    if (!c.open && c.bad >= needed && r.value >= t.trigger) {
      c.open = true;
      c.since = now;
      out.opened.push(key);
    }
    if (c.open) {
      stamp ??= isoOf(now);
      const issue: Issue = {
        type: TYPES[r.detector],
        severity: severityOf(t, r.value),
        description: descriptionOf(key, r, t),
        component: r.component,
        metric_value: r.value,
        threshold: t.trigger,
        timestamp: stamp,
        detector: r.detector,
      };
      if (r.manager) issue.manager = r.manager;
      out.issues.push(issue);
    } else if (c.bad > 0 && r.value >= t.trigger) out.pending.push({ key, value: r.value, bad: c.bad, needed });
  }
  return out;
}

/**
 * Keys by detector, then component: a component's key is one string made once, not a new
 * concatenation per lookup (each would be flattened and hashed again by every table it meets).
 */
const keys: Record<DetectorId, Map<string, string>> = {
  cpu: new Map(),
  memory: new Map(),
  disk: new Map(),
  load: new Map(),
  service: new Map(),
};

/** The key of a component in DetectorState: `<detector>:<component>`. */
export function keyOf(i: Pick<Reading, 'detector' | 'component'>): string {
  const byComponent = keys[i.detector];
  let key = byComponent.get(i.component);
  if (key === undefined) {
    if (byComponent.size > 10_000) byComponent.clear();
    byComponent.set(i.component, (key = `${i.detector}:${i.component}`));
  }
  return key;
}

/** After a successful action: the component is left alone for grace_cycles cycles, then judged from scratch. */
export function startGrace(state: DetectorState, key: string, cfg: HealConfig): void {
  const c = state.components[key];
  if (!c) return;
  c.bad = 0;
  c.good = 0;
  c.open = false;
  c.since = undefined;
  c.grace_until = state.cycle + 1 + cfg.grace_cycles;
}

/** What the budget allows for a component this cycle. */
export type BudgetVerdict = 'act' | 'backoff' | 'unmonitor' | 'unmonitored';

/** Decides whether an action may run now; 'unmonitor' once, when the budget has just run out. */
export function admit(state: DetectorState, key: string, cfg: HealConfig, now: number): BudgetVerdict {
  const c = state.components[key];
  if (!c) return 'act';
  const b = (c.budget ??= { actions: [], failures: 0, next_cycle: 0, unmonitored: false });
  if (b.unmonitored) return 'unmonitored';
  const from = state.cycle - cfg.budget.within_cycles;
  if (b.actions.length && b.actions[0]! <= from) b.actions = b.actions.filter((x) => x > from);
  if (b.actions.length >= cfg.budget.max_actions) {
    b.unmonitored = true;
    b.unmonitored_at = new Date(now).toISOString();
    return 'unmonitor';
  }
  return state.cycle < b.next_cycle ? 'backoff' : 'act';
}

/** Records an action that ran: counts it against the budget, backs off after a failure, grace after a success. */
export function spend(state: DetectorState, key: string, ok: boolean, cfg: HealConfig): void {
  const c = state.components[key];
  if (!c) return;
  const b = (c.budget ??= { actions: [], failures: 0, next_cycle: 0, unmonitored: false });
  b.actions.push(state.cycle);
  if (ok) {
    b.failures = 0;
    b.next_cycle = state.cycle + 1;
    startGrace(state, key, cfg);
  } else {
    b.failures++;
    const wait = Math.min(cfg.budget.backoff_cycles * 2 ** (b.failures - 1), cfg.budget.max_backoff_cycles);
    b.next_cycle = state.cycle + Math.max(1, wait);
  }
}
