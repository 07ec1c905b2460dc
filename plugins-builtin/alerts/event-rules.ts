/**
 * Event rules: alerts on the daemon's typed events (`<plugin>_<what>`: heal_unmonitored,
 * automation_task_failed) instead of check results. Pure functions over the rule engine's state,
 * on the caller's clock, like observe():
 *
 * - observeEvents(): an event of a rule's type (whose data has the rule's `match` values) fires
 *   the alert of its `by` values at once (no `for`: the event is the condition); another one while
 *   it fires only refreshes it (deduplicated by the same fingerprint). An event of a `resolve_on`
 *   type with the same `by` values resolves it.
 * - expireEventAlerts(): an alert whose last event is `resolve_after` old resolves.
 *
 * From there on an event alert is any alert: grouped, repeated, silenced and inhibited by dispatch().
 */
import type { CheckStatus } from 'cx-ops/sdk';
import type { AlertInstance, AlertRule, EngineState } from './alert-types.js';
import { fingerprint, renderTemplate, type RuleIndex, type Transition } from './rule-engine.js';

/** A daemon event as the alerts plugin sees it (the `daemon_events` hook's payload). */
export interface ObservedEvent {
  ts: number;
  level: 'info' | 'warn' | 'error';
  type: string;
  plugin: string | null;
  message: string;
  data?: Record<string, unknown>;
}

/** A data value as a label or template value: scalars as text, anything else (objects, null) as nothing. */
const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

const STATUS_OF: Record<ObservedEvent['level'], CheckStatus> = { error: 'FAIL', warn: 'WARN', info: 'PASS' };

/** The state key of a rule's alert for an event: the rule and its `by` values. */
const keyOf = (rule: AlertRule, e: ObservedEvent) =>
  [rule.name, 'event', ...rule.events!.by.map((f) => text(e.data?.[f]) ?? '')].join('\u0000');

const matches = (rule: AlertRule, e: ObservedEvent) =>
  Object.entries(rule.events!.match).every(([k, v]) => text(e.data?.[k]) === v);

function render(a: AlertInstance, rule: AlertRule, e: ObservedEvent, host: string): void {
  const vars: Record<string, string> = {
    alertname: rule.name,
    event: e.type,
    plugin: e.plugin ?? '',
    level: e.level,
    message: e.message,
    host,
  };
  for (const [k, v] of Object.entries(e.data ?? {})) {
    const t = text(v);
    if (t !== undefined) vars[`data.${k}`] = t;
  }
  a.annotations = {
    summary: renderTemplate(rule.annotations.summary ?? '{{alertname}}: {{event}} on {{host}}', vars, a.labels),
    description:
      rule.annotations.description !== undefined
        ? renderTemplate(rule.annotations.description, vars, a.labels)
        : e.message,
    ...(rule.runbook ? { runbook_url: rule.runbook } : {}),
  };
}

/** Applies events to the alerts of event rules; returns the transitions (state is changed in place). */
export function observeEvents(
  state: EngineState,
  input: { index: RuleIndex; events: ObservedEvent[]; host: string; now: number },
): Transition[] {
  const out: Transition[] = [];
  const t = (type: Transition['type'], a: AlertInstance, message: string) =>
    out.push({ type, fingerprint: a.fingerprint, rule: a.rule, check: a.check, message });
  for (const e of input.events) {
    for (const rule of input.index.resolvedBy.get(e.type) ?? []) {
      const a = state.alerts[keyOf(rule, e)];
      if (a?.state !== 'firing') continue;
      a.state = 'resolved';
      a.active = false;
      a.ends_at = input.now;
      a.resolve_at = null;
      a.status = STATUS_OF[e.level];
      a.message = e.message;
      t('alert_resolved', a, e.message);
    }
    for (const rule of input.index.byEvent.get(e.type) ?? []) {
      if (!matches(rule, e)) continue;
      const key = keyOf(rule, e);
      const sel = rule.events!;
      let a = state.alerts[key];
      if (!a) {
        const labels: Record<string, string> = { alertname: rule.name, event: e.type, host: input.host };
        for (const f of sel.by) {
          const v = text(e.data?.[f]);
          if (v !== undefined) labels[f] = v;
        }
        Object.assign(labels, rule.labels);
        a = state.alerts[key] = {
          fingerprint: fingerprint(labels),
          rule: rule.name,
          check: e.type,
          labels,
          annotations: {},
          state: 'resolved',
          active_cycles: 0,
          starts_at: input.now,
          ends_at: null,
          active: false,
          flips: [],
          flapping: false,
          told: false,
          status: STATUS_OF[e.level],
          message: e.message,
          value: '',
        };
      }
      a.active = true;
      a.active_cycles = 1;
      a.status = STATUS_OF[e.level];
      a.message = e.message;
      a.check = e.type;
      a.resolve_at = sel.resolve_after_ms === null ? null : input.now + sel.resolve_after_ms;
      render(a, rule, e, input.host);
      if (a.state !== 'firing') {
        a.state = 'firing';
        a.told = false;
        a.starts_at = input.now;
        a.ends_at = null;
        t('alert_firing', a, e.message);
      }
    }
  }
  return out;
}

/** Resolves the event alerts whose `resolve_after` has passed by `now`. */
export function expireEventAlerts(state: EngineState, now: number): Transition[] {
  const out: Transition[] = [];
  for (const a of Object.values(state.alerts)) {
    if (a.state !== 'firing' || a.resolve_at === undefined || a.resolve_at === null || a.resolve_at > now) continue;
    a.state = 'resolved';
    a.active = false;
    a.ends_at = now;
    a.resolve_at = null;
    const message = `no ${a.check} event came within resolve_after: resolved`;
    out.push({ type: 'alert_resolved', fingerprint: a.fingerprint, rule: a.rule, check: a.check, message });
  }
  return out;
}
