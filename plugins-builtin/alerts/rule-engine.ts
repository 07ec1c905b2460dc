/**
 * The rule engine: pure functions over EngineState on a clock the caller passes in (`now`), so
 * a test drives for, grouping, repeat, silences, inhibition and flapping cycle by cycle.
 *
 * - observe(): one checks cycle (event rules: event-rules.ts). A rule's condition over a check holds when the check's status
 *   is one of the rule's; it must hold `for` cycles before the alert fires (pending until then);
 *   when it stops holding, a firing alert resolves. An alert whose condition changed more than
 *   flapping.changes times in the last flapping.cycles cycles is held firing and marked flapping
 *   until it has not changed for flapping.cycles cycles. A check absent from a cycle leaves its alerts as they are.
 * - dispatch(): Alertmanager's grouping. A firing alert joins one group per receiver (keyed by
 *   the receiver and the values of group_by); a new group is notified group_wait after it
 *   formed, then looked at every group_interval: it is notified again when its alerts changed (one
 *   fired, one resolved: the resolved one is said once, then leaves) or repeat_interval passed
 *   while alerts still fire. Silenced and inhibited alerts are left out.
 */
import { createHash } from 'node:crypto';
import type { CheckResult } from 'cx-ops/sdk';
import type {
  AlertInstance,
  AlertRule,
  EngineState,
  InhibitRule,
  Notification,
  NotifiedAlert,
  RuleSet,
  Silence,
} from './alert-types.js';
import { matchesAll } from './label-matchers.js';

export const emptyState = (): EngineState => ({ cycle: 0, alerts: {}, groups: {} });

/** What each alert's annotations were last rendered from (in memory: a restart renders them once again). */
const rendered = new WeakMap<AlertInstance, string>();

/** A change of an alert's state, for the history and the log. */
export interface Transition {
  type: 'alert_firing' | 'alert_resolved' | 'alert_flapping' | 'alert_settled';
  fingerprint: string;
  rule: string;
  check: string;
  message: string;
}

/** A stable id of a label set (the dedup key): the same labels give the same fingerprint across restarts. */
export function fingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** `{{check}}`, `{{labels.severity}}`, ... filled in from `vars` (an unknown name becomes empty). */
export function renderTemplate(text: string, vars: Record<string, string>, labels: Record<string, string>): string {
  return text.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*\}\}/g, (_, name: string) =>
    name.startsWith('labels.') ? (labels[name.slice(7)] ?? '') : (vars[name] ?? ''),
  );
}

/** The rules by the checks they name, so a cycle looks at each result's own rules only. */
export interface RuleIndex {
  byCheck: Map<string, AlertRule[]>;
  byCategory: Map<string, AlertRule[]>;
  any: AlertRule[];
  /** Event rules by the event types that fire them, and by those that resolve them. */
  byEvent: Map<string, AlertRule[]>;
  resolvedBy: Map<string, AlertRule[]>;
}

export function indexRules(rules: AlertRule[]): RuleIndex {
  const byCheck = new Map<string, AlertRule[]>();
  const byCategory = new Map<string, AlertRule[]>();
  const byEvent = new Map<string, AlertRule[]>();
  const resolvedBy = new Map<string, AlertRule[]>();
  const any: AlertRule[] = [];
  for (const r of rules) {
    if (r.events) {
      for (const t of r.events.types) byEvent.set(t, [...(byEvent.get(t) ?? []), r]);
      for (const t of r.events.resolve_on) resolvedBy.set(t, [...(resolvedBy.get(t) ?? []), r]);
    } else if (r.checks) for (const c of r.checks) byCheck.set(c, [...(byCheck.get(c) ?? []), r]);
    else if (r.category) byCategory.set(r.category, [...(byCategory.get(r.category) ?? []), r]);
    else any.push(r);
  }
  return { byCheck, byCategory, any, byEvent, resolvedBy };
}

/** The measured value of a result, when its details carry one (percent, value, load). */
function valueOf(r: CheckResult): string {
  const d = r.details ?? {};
  for (const k of ['value', 'percent', 'used_percent', 'usage_percent', 'load1', 'count'])
    if (typeof d[k] === 'number' || typeof d[k] === 'string') return String(d[k]);
  return '';
}

export interface ObserveInput {
  rules: RuleSet;
  index: RuleIndex;
  results: CheckResult[];
  /** Category of each check id (from the cycle's check table). */
  categories: Record<string, string>;
  host: string;
  now: number;
}

/** Applies one cycle's results to the alerts; returns the transitions (state is changed in place). */
export function observe(state: EngineState, input: ObserveInput): Transition[] {
  const { now, host } = input;
  const cycle = ++state.cycle;
  const window = input.rules.flapping.cycles;
  const out: Transition[] = [];
  const seen = new Set<string>();
  for (const r of input.results) {
    const category = input.categories[r.check_id];
    const lists = [
      input.index.byCheck.get(r.check_id),
      category ? input.index.byCategory.get(category) : undefined,
      input.index.any,
    ];
    for (const list of lists)
      for (const rule of list ?? []) {
        const key = `${rule.name}\u0000${r.check_id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const active = rule.statuses.includes(r.status);
        let a = state.alerts[key];
        if (!a) {
          if (!active) continue;
          const labels = { alertname: rule.name, check: r.check_id, host, ...rule.labels };
          a = state.alerts[key] = {
            fingerprint: fingerprint(labels),
            rule: rule.name,
            check: r.check_id,
            labels,
            annotations: {},
            state: 'pending',
            active_cycles: 0,
            starts_at: now,
            ends_at: null,
            active: false,
            flips: [],
            flapping: false,
            told: false,
            status: r.status,
            message: r.message,
            value: '',
          };
        }
        if (a.active !== active) a.flips.push(cycle);
        while (a.flips.length && a.flips[0]! <= cycle - window) a.flips.shift();
        a.active = active;
        a.status = r.status;
        a.message = r.message;
        a.value = valueOf(r);
        // Counted up to `for` only: a steady alert's entry then stays the same (and is not rewritten).
        a.active_cycles = active ? Math.min(a.active_cycles + 1, rule.for) : 0;
        const t = (type: Transition['type']) =>
          out.push({ type, fingerprint: a.fingerprint, rule: a.rule, check: a.check, message: r.message });
        if (!a.flapping && a.flips.length > input.rules.flapping.changes) {
          a.flapping = true;
          t('alert_flapping');
        } else if (a.flapping && a.flips.length === 0) {
          a.flapping = false;
          t('alert_settled');
        }
        if (active || a.flapping) {
          if (a.state !== 'firing' && (a.active_cycles >= rule.for || a.flapping)) {
            a.state = 'firing';
            a.told = false;
            a.starts_at = now;
            a.ends_at = null;
            t('alert_firing');
          }
          if (a.state === 'resolved') a.state = 'pending';
        } else if (a.state === 'firing') {
          a.state = 'resolved';
          a.ends_at = now;
          t('alert_resolved');
        } else if (a.state === 'pending' || (a.told && !a.flips.length)) {
          delete state.alerts[key];
          continue;
        }
        // Annotations are rendered again only when what they may say changed.
        const said = `${r.status}\u0000${r.message}\u0000${a.value}\u0000${a.state}`;
        if (a.annotations.summary !== undefined && rendered.get(a) === said) continue;
        rendered.set(a, said);
        const vars = {
          alertname: rule.name,
          check: r.check_id,
          name: r.name,
          status: r.status,
          message: r.message,
          host,
          value: a.value,
        };
        a.annotations = {
          summary: renderTemplate(
            rule.annotations.summary ?? '{{alertname}}: {{check}} is {{status}} on {{host}}',
            vars,
            a.labels,
          ),
          ...(rule.annotations.description !== undefined
            ? { description: renderTemplate(rule.annotations.description, vars, a.labels) }
            : { description: r.message }),
          ...(rule.runbook ? { runbook_url: rule.runbook } : {}),
        };
      }
  }
  return out;
}

/** Whether a silence or an inhibition keeps an alert from being notified, and which. */
export interface Mutes {
  silencedBy(a: AlertInstance): Silence | undefined;
  inhibitedBy(a: AlertInstance): AlertInstance | undefined;
}

/** The mutes in force at `now`: unexpired silences, and inhibitions by firing source alerts. */
export function mutesAt(state: EngineState, silences: Silence[], inhibit: InhibitRule[], now: number): Mutes {
  const live = silences.filter((s) => s.starts_at <= now && now < s.ends_at);
  const sources = inhibit.map((rule) => ({
    rule,
    firing: Object.values(state.alerts).filter((a) => a.state === 'firing' && a.rule === rule.source),
  }));
  return {
    silencedBy: (a) => live.find((s) => matchesAll(a.labels, s.matchers)),
    inhibitedBy: (a) => {
      for (const { rule, firing } of sources) {
        if (!rule.target.includes(a.rule)) continue;
        const src = firing.find((f) => f !== a && rule.equal.every((l) => f.labels[l] === a.labels[l]));
        if (src) return src;
      }
      return undefined;
    },
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** An alert as a notification carries it. */
export function notifiedAlert(a: AlertInstance, status: 'firing' | 'resolved'): NotifiedAlert {
  return {
    status,
    fingerprint: a.fingerprint,
    labels: a.labels,
    annotations: a.annotations,
    starts_at: iso(a.starts_at),
    ends_at: status === 'resolved' && a.ends_at !== null ? iso(a.ends_at) : null,
    check: a.check,
    check_status: a.status,
    message: a.message,
    value: a.value,
    flapping: a.flapping,
  };
}

/** Labels all the alerts share. */
function common(maps: Array<Record<string, string>>): Record<string, string> {
  if (!maps.length) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

/** A notification of `alerts` (firing when one is). */
export function notificationOf(
  receiver: string,
  groupKey: string,
  groupLabels: Record<string, string>,
  alerts: NotifiedAlert[],
  o: { host: string; externalUrl: string },
): Notification {
  return {
    receiver,
    status: alerts.some((x) => x.status === 'firing') ? 'firing' : 'resolved',
    group_key: groupKey,
    group_labels: groupLabels,
    common_labels: common(alerts.map((x) => x.labels)),
    common_annotations: common(alerts.map((x) => x.annotations)),
    host: o.host,
    external_url: o.externalUrl,
    alerts,
    test: false,
  };
}

export interface DispatchOptions {
  now: number;
  host: string;
  externalUrl: string;
  /** Receivers that take every firing alert every cycle (Alertmanager): not grouped here. */
  ungrouped: Set<string>;
  /** Whether the every-cycle receivers are sent their alerts (on a cycle, not on a delivery tick). */
  cycle: boolean;
  /** Notify every due-or-not group now (`doctor --alert`, a one-shot run). */
  flushAll?: boolean;
}

function groupOf(rule: AlertRule, receiver: string, a: AlertInstance): { key: string; labels: Record<string, string> } {
  const all = rule.grouping.group_by.includes('...');
  const labels: Record<string, string> = {};
  for (const l of all ? Object.keys(a.labels).sort() : rule.grouping.group_by)
    if (a.labels[l] !== undefined) labels[l] = a.labels[l]!;
  const key = `${receiver}:{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;
  return { key, labels };
}

/** The notifications due at `now` (state is changed in place: groups, and resolved alerts forgotten once told). */
export function dispatch(state: EngineState, rules: RuleSet, mutes: Mutes, o: DispatchOptions): Notification[] {
  const { now } = o;
  const ruleByName = new Map(rules.rules.map((r) => [r.name, r]));
  const members = new Map<string, AlertInstance[]>();
  const out: Notification[] = [];
  const ungrouped = new Map<string, NotifiedAlert[]>();
  for (const a of Object.values(state.alerts)) {
    const rule = ruleByName.get(a.rule);
    if (!rule || a.state === 'pending' || a.told) continue;
    if (mutes.silencedBy(a) || mutes.inhibitedBy(a)) continue;
    for (const receiver of rule.receivers) {
      if (o.ungrouped.has(receiver)) {
        if (o.cycle)
          ungrouped.set(receiver, [
            ...(ungrouped.get(receiver) ?? []),
            notifiedAlert(a, a.state === 'firing' ? 'firing' : 'resolved'),
          ]);
        continue;
      }
      const { key, labels } = groupOf(rule, receiver, a);
      if (!state.groups[key]) {
        if (a.state !== 'firing') continue;
        state.groups[key] = {
          key,
          receiver,
          labels,
          created: now,
          next_flush: now + rule.grouping.group_wait_ms,
          last_notified: null,
          group_interval_ms: rule.grouping.group_interval_ms,
          repeat_interval_ms: rule.grouping.repeat_interval_ms,
          notified: {},
        };
      }
      const list = members.get(key);
      if (list) list.push(a);
      else members.set(key, [a]);
    }
  }
  for (const g of Object.values(state.groups)) {
    if (!o.flushAll && now < g.next_flush) continue;
    const ms = members.get(g.key) ?? [];
    // An alert that left the group unresolved (silenced, inhibited, its rule gone) is forgotten: back, it is news.
    const present = new Set(ms.map((a) => a.fingerprint));
    for (const fp of Object.keys(g.notified)) if (!present.has(fp)) delete g.notified[fp];
    const firing = ms.filter((a) => a.state === 'firing');
    const resolved = ms.filter((a) => a.state === 'resolved' && g.notified[a.fingerprint]);
    const changed = resolved.length > 0 || firing.some((a) => !g.notified[a.fingerprint]);
    const repeat = firing.length > 0 && g.last_notified !== null && now - g.last_notified >= g.repeat_interval_ms;
    g.next_flush = now + g.group_interval_ms;
    if (changed || repeat) {
      const alerts = [
        ...firing.map((a) => notifiedAlert(a, 'firing')),
        ...resolved.map((a) => notifiedAlert(a, 'resolved')),
      ];
      out.push(notificationOf(g.receiver, g.key, g.labels, alerts, o));
      g.last_notified = now;
      g.notified = Object.fromEntries(firing.map((a) => [a.fingerprint, 'firing' as const]));
    }
    if (!firing.length && !Object.keys(g.notified).length) delete state.groups[g.key];
  }
  for (const [receiver, alerts] of ungrouped) out.push(notificationOf(receiver, `${receiver}:{}`, {}, alerts, o));
  // A resolved alert is forgotten once no group still owes its resolved notification.
  const owed = new Set(Object.values(state.groups).flatMap((g) => Object.keys(g.notified)));
  for (const [key, a] of Object.entries(state.alerts))
    if (a.state === 'resolved' && !owed.has(a.fingerprint)) {
      if (a.flips.length) a.told = true;
      else delete state.alerts[key];
    }
  return out;
}
