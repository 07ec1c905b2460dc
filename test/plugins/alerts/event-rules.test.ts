/**
 * Event rules on a controllable clock: an event fires at once with labels from its `by` fields,
 * repeats of it are one alert, `match` filters, `resolve_on` and `resolve_after` resolve (once),
 * and the alert goes through dispatch's grouping and silences like any other. alerts.yaml's
 * event-rule mistakes at file:line:col with close names.
 */
import { describe, expect, test } from 'vitest';
import { CxError } from '../../../sdk/index.js';
import type { EngineState, Notification } from '../../../plugins-builtin/alerts/alert-types.js';
import { expireEventAlerts, observeEvents, type ObservedEvent } from '../../../plugins-builtin/alerts/event-rules.js';
import { dispatch, emptyState, fingerprint, indexRules, mutesAt } from '../../../plugins-builtin/alerts/rule-engine.js';
import { parseRules } from '../../../plugins-builtin/alerts/rules-file.js';
import { CHECKS, TYPES } from './alert-fixtures.js';

const FILE = '/etc/cx/alerts.yaml';
const PLUGINS = ['daemon', 'alerts', 'heal', 'automation', 'my-plugin'];
const parse = (yaml: string) => parseRules(yaml, FILE, { checks: CHECKS, receiverTypes: TYPES, plugins: PLUGINS });
const M = 60_000;

function scenario(yaml: string) {
  const rules = parse(yaml);
  const index = indexRules(rules.rules);
  const state: EngineState = emptyState();
  let now = Date.UTC(2026, 0, 1);
  const sent: Notification[] = [];
  const step = (events: Array<Partial<ObservedEvent> & { type: string }>, advanceMs = 0) => {
    now += advanceMs;
    const t = [
      ...observeEvents(state, {
        index,
        host: 'web1',
        now,
        events: events.map((e) => ({ ts: now, level: 'error', plugin: 'automation', message: 'm', ...e })),
      }),
      ...expireEventAlerts(state, now),
    ];
    const n = dispatch(state, rules, mutesAt(state, [], rules.inhibit, now), {
      now,
      host: 'web1',
      externalUrl: '',
      ungrouped: new Set(),
      cycle: true,
    });
    sent.push(...n);
    return { transitions: t.map((x) => `${x.type} ${x.rule}`), notifications: n };
  };
  return { state, sent, step };
}

const failed = (task: string, extra: Record<string, unknown> = {}) => ({
  type: 'automation_task_failed',
  message: `${task}: Failed: exit 1`,
  data: { task, status: 'Failed', execution_id: `x-${task}`, ...extra },
});
const success = (task: string) => ({
  type: 'automation_task_success',
  level: 'info' as const,
  message: `${task}: Success`,
  data: { task, status: 'Success' },
});

const TASK_RULE = `route: { group_wait: 0s, group_interval: 1m }
alerts:
  - name: task-failed
    event: automation_task_failed
    by: [task]
    resolve_on: automation_task_success
    annotations: { summary: '{{data.task}} ({{data.execution_id}}) on {{host}}' }
    actions: [{ type: webhook, url: 'http://127.0.0.1:1/' }]
`;

describe('event rules', () => {
  test('an event fires at once, labels from by, repeats are one alert; resolve_on resolves once', () => {
    const s = scenario(TASK_RULE);
    const first = s.step([failed('backup')]);
    expect(first.transitions).toEqual(['alert_firing task-failed']);
    const labels = { alertname: 'task-failed', event: 'automation_task_failed', host: 'web1', task: 'backup' };
    expect(first.notifications).toHaveLength(1);
    expect(first.notifications[0]!.alerts).toEqual([
      {
        status: 'firing',
        fingerprint: fingerprint(labels),
        labels,
        annotations: { summary: 'backup (x-backup) on web1', description: 'backup: Failed: exit 1' },
        starts_at: '2026-01-01T00:00:00.000Z',
        ends_at: null,
        check: 'automation_task_failed',
        check_status: 'FAIL',
        message: 'backup: Failed: exit 1',
        value: '',
        flapping: false,
      },
    ]);
    // The same task fails again: deduplicated (no transition; nothing new before repeat_interval).
    expect(s.step([failed('backup')], 2 * M)).toEqual({ transitions: [], notifications: [] });
    // Another task: its own alert.
    expect(s.step([failed('report')], M).transitions).toEqual(['alert_firing task-failed']);
    // A success of backup resolves backup's alert only; said once.
    const ok = s.step([success('backup')], 2 * M);
    expect(ok.transitions).toEqual(['alert_resolved task-failed']);
    expect(ok.notifications.map((n) => n.alerts.map((a) => `${a.labels.task} ${a.status}`))).toEqual([
      ['report firing', 'backup resolved'],
    ]);
    expect(s.step([success('backup')], 2 * M)).toEqual({ transitions: [], notifications: [] });
    // Failing again later is news.
    expect(s.step([failed('backup')], M).transitions).toEqual(['alert_firing task-failed']);
  });

  test('match filters the events; resolve_after resolves when no event came for that long', () => {
    const s = scenario(`route: { group_wait: 0s, group_interval: 1m }
alerts:
  - name: unmonitored
    event: heal_unmonitored
    by: [component]
    match: { detector: service }
    resolve_after: 30m
    actions: [{ type: webhook, url: 'http://127.0.0.1:1/' }]
`);
    const ev = (component: string, detector: string) => ({
      type: 'heal_unmonitored',
      level: 'warn' as const,
      plugin: 'heal',
      message: `${component} is unmonitored`,
      data: { component, detector },
    });
    expect(s.step([ev('/var', 'disk')]).transitions).toEqual([]);
    const fired = s.step([ev('nginx', 'service')]);
    expect(fired.transitions).toEqual(['alert_firing unmonitored']);
    expect(fired.notifications[0]!.alerts[0]!.check_status).toBe('WARN');
    // A new event refreshes it: 29 minutes later, then 29 more — still firing.
    expect(s.step([ev('nginx', 'service')], 29 * M).transitions).toEqual([]);
    expect(s.step([], 29 * M).transitions).toEqual([]);
    // 30 minutes after the last event: resolved, once.
    const gone = s.step([], M);
    expect(gone.transitions).toEqual(['alert_resolved unmonitored']);
    expect(gone.notifications[0]!.status).toBe('resolved');
    expect(s.step([], 60 * M)).toEqual({ transitions: [], notifications: [] });
    expect(s.state.alerts).toEqual({});
  });

  test('with resolve_on it stays firing until the resolving event; resolve_after as well resolves it', () => {
    const s = scenario(TASK_RULE);
    s.step([failed('backup')]);
    expect(s.step([], 24 * 60 * M).transitions).toEqual([]);
    expect(s.step([success('backup')], M).transitions).toEqual(['alert_resolved task-failed']);
    const both = scenario(TASK_RULE.replace('resolve_on:', 'resolve_after: 1h\n    resolve_on:'));
    both.step([failed('backup')]);
    expect(both.step([], 60 * M).transitions).toEqual(['alert_resolved task-failed']);
  });
});

const problem = (yaml: string) => {
  try {
    parse(yaml);
  } catch (e) {
    expect(e).toBeInstanceOf(CxError);
    const x = e as CxError;
    return { code: x.code, message: x.message, suggestions: x.suggestions };
  }
  throw new Error('no error');
};

describe('event rules in alerts.yaml', () => {
  test('read with their defaults', () => {
    expect(
      parse(`alerts:
  - name: u
    event: [heal_unmonitored, my_plugin_thing_done]
    actions: [{ type: webhook, url: 'http://h/' }]
`).rules[0]!.events,
    ).toEqual({
      types: ['heal_unmonitored', 'my_plugin_thing_done'],
      match: {},
      by: [],
      resolve_on: [],
      resolve_after_ms: 5 * M,
    });
  });

  test('a misspelt type of a built-in: its types and the close name', () => {
    expect(
      problem(`alerts:
  - name: u
    event: heal_unmonitred
    actions: [{ type: webhook, url: 'http://h/' }]
`),
    ).toEqual({
      code: 'CX_ERR_ALERTS_INVALID',
      message: expect.stringContaining(
        "/etc/cx/alerts.yaml:3:12: 'alerts[0].event' names event type 'heal_unmonitred', which plugin 'heal' does not record (its types: heal_action, heal_vetoed, heal_unmonitored, heal_resolver_error, heal_replayed)",
      ),
      suggestions: ['heal_unmonitored'],
    });
  });

  test('a type of no loaded plugin, a check field in an event rule, a type that fires and resolves', () => {
    expect(
      problem(`alerts:
  - name: u
    event: automaton_task_failed
    actions: [{ type: webhook, url: 'http://h/' }]
`),
    ).toEqual({
      code: 'CX_ERR_ALERTS_INVALID',
      message: expect.stringContaining(
        "alerts.yaml:3:12: 'alerts[0].event' names event type 'automaton_task_failed', which no loaded plugin records: a daemon event's type is <plugin>_<what>",
      ),
      suggestions: expect.arrayContaining(['automation_task_failed']),
    });
    expect(
      problem(`alerts:
  - name: u
    event: automation_task_failed
    for: 3
    actions: [{ type: webhook, url: 'http://h/' }]
`).message,
    ).toContain("alerts.yaml:4:5: 'alerts[0].for' is for a rule over check results");
    expect(
      problem(`alerts:
  - name: u
    event: automation_task_failed
    resolve_on: [automation_task_success, automation_task_failed]
    actions: [{ type: webhook, url: 'http://h/' }]
`).message,
    ).toContain("alerts.yaml:4:43: 'alerts[0].resolve_on[1]' is also a type that fires this alert");
    expect(
      problem(`alerts:
  - name: u
    event: automation_task_failed
    resolve_after: soon
    actions: [{ type: webhook, url: 'http://h/' }]
`).message,
    ).toContain("alerts.yaml:4:20: 'alerts[0].resolve_after'");
  });
});
