/**
 * The rule engine on a controllable clock: for, dedup key, resolved once, repeat_interval,
 * grouping (group_wait / group_interval), silences and their expiry, inhibition, flapping.
 */
import { describe, expect, test } from 'vitest';
import type { CheckResult, CheckStatus } from '../../../sdk/index.js';
import type { EngineState, Notification, RuleSet, Silence } from '../../../plugins-builtin/alerts/alert-types.js';
import {
  dispatch,
  emptyState,
  fingerprint,
  indexRules,
  mutesAt,
  observe,
} from '../../../plugins-builtin/alerts/rule-engine.js';
import { parseRules } from '../../../plugins-builtin/alerts/rules-file.js';
import { CHECKS, TYPES } from './alert-fixtures.js';

const S = 1000;
const M = 60 * S;

/** A scenario: rules, state, a clock and one call per cycle. */
function scenario(yaml: string) {
  const rules: RuleSet = parseRules(yaml, '/etc/cx/alerts.yaml', { checks: CHECKS, receiverTypes: TYPES });
  const index = indexRules(rules.rules);
  const state: EngineState = emptyState();
  const silences: Silence[] = [];
  let now = Date.UTC(2026, 0, 1);
  const sent: Notification[] = [];
  const tick = (results: Record<string, CheckStatus> | null, advanceMs = 0) => {
    now += advanceMs;
    const rs: CheckResult[] = Object.entries(results ?? {}).map(([check_id, status]) => ({
      check_id,
      name: check_id,
      status,
      message: `${check_id} is ${status}`,
      details: {},
      fix_id: null,
      duration_ms: 1,
    }));
    if (results)
      observe(state, { rules, index, results: rs, categories: Object.fromEntries(CHECKS), host: 'web1', now });
    const out = dispatch(state, rules, mutesAt(state, silences, rules.inhibit, now), {
      now,
      host: 'web1',
      externalUrl: '',
      ungrouped: new Set(['alertmanager']),
      cycle: Boolean(results),
    });
    sent.push(...out);
    return out;
  };
  return { rules, state, silences, tick, sent, now: () => now };
}

const summary = (ns: Notification[]) =>
  ns.map(
    (n) => `${n.receiver} ${n.status} ${n.alerts.map((a) => `${a.labels.alertname}/${a.check}:${a.status}`).join(',')}`,
  );

describe('the rule engine', () => {
  test('for: the condition must hold 3 cycles; group_wait delays the first notification; resolved is said once', () => {
    const s = scenario(`
route: { group_wait: 30s, group_interval: 5m }
alerts:
  - name: disk-critical
    check: disk_space
    status: fail
    for: 3
    actions: [{ type: webhook, url: 'http://127.0.0.1:1/hook' }]
`);
    expect(s.tick({ disk_space: 'FAIL' })).toEqual([]);
    expect(Object.values(s.state.alerts)[0]!.state).toBe('pending');
    expect(s.tick({ disk_space: 'FAIL' }, 60 * S)).toEqual([]);
    expect(s.tick({ disk_space: 'FAIL' }, 60 * S)).toEqual([]); // fires now; group_wait 30s
    expect(Object.values(s.state.alerts)[0]!.state).toBe('firing');
    expect(s.tick(null, 29 * S)).toEqual([]);
    const first = s.tick(null, 1 * S);
    expect(summary(first)).toEqual(['webhook firing disk-critical/disk_space:firing']);
    expect(first[0]!.alerts[0]!.fingerprint).toBe(
      fingerprint({ alertname: 'disk-critical', check: 'disk_space', host: 'web1' }),
    );
    expect(s.tick({ disk_space: 'FAIL' }, 60 * S)).toEqual([]); // unchanged, no repeat yet
    expect(s.tick({ disk_space: 'PASS' }, 60 * S)).toEqual([]); // resolved, told at the group_interval
    const resolved = s.tick(null, 5 * M);
    expect(summary(resolved)).toEqual(['webhook resolved disk-critical/disk_space:resolved']);
    expect(resolved[0]!.alerts[0]!.ends_at).toBe(new Date(s.now() - 5 * M).toISOString());
    expect(s.tick({ disk_space: 'PASS' }, 5 * M)).toEqual([]);
    expect(s.tick(null, 5 * M)).toEqual([]);
    expect(s.state.groups).toEqual({});
    // Kept (told) while its changes still count for flapping, then forgotten.
    expect(Object.values(s.state.alerts).map((a) => [a.state, a.told])).toEqual([['resolved', true]]);
    for (let i = 0; i < 10; i++) s.tick({ disk_space: 'PASS' }, M);
    expect(s.state).toEqual({ cycle: 16, alerts: {}, groups: {} });
    expect(s.sent.length).toBe(2);
  });

  test('a pending alert that clears never notifies; a WARN does not match status: fail', () => {
    const s = scenario(`
alerts:
  - { name: mem, check: memory, status: fail, for: 2, group_wait: 0s, actions: [{ type: webhook, url: 'http://h/x' }] }
`);
    s.tick({ memory: 'FAIL' });
    s.tick({ memory: 'PASS' }, M);
    s.tick({ memory: 'WARN' }, M);
    s.tick(null, 10 * M);
    expect(s.sent).toEqual([]);
    expect(s.state.alerts).toEqual({});
  });

  test('repeat_interval: a still-firing alert is sent again after 4h (checked every group_interval), not before', () => {
    const s = scenario(`
alerts:
  - { name: load, check: cpu_load, actions: [{ type: webhook, url: 'http://h/x' }] }
`);
    s.tick({ cpu_load: 'FAIL' });
    expect(summary(s.tick(null, 30 * S))).toEqual(['webhook firing load/cpu_load:firing']);
    let repeats = 0;
    for (let t = 0; t < 4 * 12; t++) repeats += s.tick({ cpu_load: 'FAIL' }, 5 * M).length; // 4h of 5-minute cycles
    expect(repeats).toBe(1);
    expect(summary(s.sent.slice(1))).toEqual(['webhook firing load/cpu_load:firing']);
    expect(s.sent[1]!.alerts[0]!.fingerprint).toBe(s.sent[0]!.alerts[0]!.fingerprint);
  });

  test('grouping: alerts firing in one cycle go out as one notification per receiver; a later one joins at group_interval', () => {
    const s = scenario(`
route: { group_by: [host] }
receivers:
  ops: { type: webhook, url: 'http://h/ops' }
alerts:
  - { name: disk, check: disk_space, actions: [{ receiver: ops }] }
  - { name: mem, check: memory, actions: [{ receiver: ops }, { type: webhook, url: 'http://h/other' }] }
  - { name: net, category: network, actions: [{ receiver: ops }] }
`);
    s.tick({ disk_space: 'FAIL', memory: 'ERROR', network_connectivity: 'FAIL', dns_resolution: 'PASS' });
    expect(s.tick(null, 29 * S)).toEqual([]);
    const first = s.tick(null, S);
    expect(summary(first).sort()).toEqual([
      'ops firing disk/disk_space:firing,mem/memory:firing,net/network_connectivity:firing',
      'webhook firing mem/memory:firing',
    ]);
    expect(first.find((n) => n.receiver === 'ops')!.group_labels).toEqual({ host: 'web1' });
    expect(first.find((n) => n.receiver === 'ops')!.common_labels).toEqual({ host: 'web1' });
    s.tick({ dns_resolution: 'FAIL' }, M);
    expect(s.tick(null, 3 * M)).toEqual([]);
    expect(summary(s.tick(null, M))).toEqual([
      'ops firing disk/disk_space:firing,mem/memory:firing,net/network_connectivity:firing,net/dns_resolution:firing',
    ]);
  });

  test('silences: a silenced alert is not notified; when the silence expires while it still fires, it is', () => {
    const s = scenario(`
alerts:
  - { name: disk, check: disk_space, group_wait: 0s, group_interval: 1m, actions: [{ type: webhook, url: 'http://h/x' }] }
`);
    s.silences.push({
      id: 's1',
      matchers: [{ name: 'alertname', op: '=', value: 'disk' }],
      starts_at: s.now(),
      ends_at: s.now() + 2 * 3_600_000,
      comment: 'maintenance',
      created_by: 'test',
    });
    for (let i = 0; i < 119; i++) s.tick({ disk_space: 'FAIL' }, i ? M : 0);
    expect(s.sent).toEqual([]);
    s.tick({ disk_space: 'FAIL' }, M); // 2h later: expired
    s.tick({ disk_space: 'FAIL' }, M);
    expect(summary(s.sent)).toEqual(['webhook firing disk/disk_space:firing']);
  });

  test('inhibition: while host-down fires, service-down on the same host is muted, and comes back after', () => {
    const s = scenario(`
route: { group_wait: 0s, group_interval: 1m }
inhibit:
  - { source: host-down, target: [service-down], equal: [host] }
alerts:
  - { name: host-down, check: network_connectivity, actions: [{ type: webhook, url: 'http://h/x' }] }
  - { name: service-down, check: systemd_failed, actions: [{ type: webhook, url: 'http://h/x' }] }
`);
    s.tick({ network_connectivity: 'FAIL', systemd_failed: 'FAIL' });
    s.tick({ network_connectivity: 'FAIL', systemd_failed: 'FAIL' }, M);
    expect(summary(s.sent)).toEqual(['webhook firing host-down/network_connectivity:firing']);
    s.tick({ network_connectivity: 'PASS', systemd_failed: 'FAIL' }, M);
    s.tick({ network_connectivity: 'PASS', systemd_failed: 'FAIL' }, M);
    expect(summary(s.sent.slice(1)).sort()).toEqual([
      'webhook firing service-down/systemd_failed:firing',
      'webhook resolved host-down/network_connectivity:resolved',
    ]);
  });

  test('flapping: more than 4 changes in 10 cycles holds the alert firing, marked flapping, until 10 quiet cycles', () => {
    const s = scenario(`
route: { group_wait: 0s, group_interval: 1m }
alerts:
  - { name: svc, check: systemd_failed, actions: [{ type: webhook, url: 'http://h/x' }] }
`);
    const flips: CheckStatus[] = ['FAIL', 'PASS', 'FAIL', 'PASS', 'FAIL', 'PASS', 'FAIL', 'PASS', 'PASS'];
    for (const st of flips) s.tick({ systemd_failed: st }, M);
    // fired, resolved, fired, resolved: then the 5th change marks it flapping and it is held firing.
    const a = Object.values(s.state.alerts)[0]!;
    expect(a.flapping).toBe(true);
    expect(a.state).toBe('firing');
    const before = s.sent.length;
    for (let i = 0; i < 8; i++) s.tick({ systemd_failed: 'PASS' }, M);
    expect(s.sent.length).toBe(before); // held: no resolved notification while it flaps
    s.tick({ systemd_failed: 'PASS' }, M);
    s.tick({ systemd_failed: 'PASS' }, M);
    s.tick(null, M);
    expect(summary(s.sent.slice(before))).toEqual(['webhook resolved svc/systemd_failed:resolved']);
    expect(s.sent.length).toBeLessThanOrEqual(before + 1);
    expect(s.sent.filter((n) => n.status === 'firing').length).toBeLessThanOrEqual(3);
  });

  test('an every-cycle receiver (alertmanager) gets every firing alert each cycle and a resolved one once', () => {
    const s = scenario(`
alerts:
  - { name: disk, check: disk_space, actions: [{ type: alertmanager, url: 'http://127.0.0.1:9093' }] }
`);
    expect(summary(s.tick({ disk_space: 'FAIL' }))).toEqual(['alertmanager firing disk/disk_space:firing']);
    expect(s.tick(null, 5 * S)).toEqual([]);
    expect(summary(s.tick({ disk_space: 'FAIL' }, M))).toEqual(['alertmanager firing disk/disk_space:firing']);
    expect(summary(s.tick({ disk_space: 'PASS' }, M))).toEqual(['alertmanager resolved disk/disk_space:resolved']);
    expect(s.tick({ disk_space: 'PASS' }, M)).toEqual([]);
  });

  test('templated annotations: summary and description from the check, host, value and labels; runbook', () => {
    const s = scenario(`
alerts:
  - name: disk
    check: disk_space
    labels: { severity: critical }
    annotations: { summary: '{{check}} on {{host}} ({{labels.severity}})', description: '{{message}} [{{status}}]' }
    runbook: https://runbooks.example.com/disk
    group_wait: 0s
    actions: [{ type: webhook, url: 'http://h/x' }]
`);
    const [n] = s.tick({ disk_space: 'FAIL' });
    expect(n!.alerts[0]!.annotations).toEqual({
      summary: 'disk_space on web1 (critical)',
      description: 'disk_space is FAIL [FAIL]',
      runbook_url: 'https://runbooks.example.com/disk',
    });
    expect(n!.alerts[0]!.labels).toEqual({
      alertname: 'disk',
      check: 'disk_space',
      host: 'web1',
      severity: 'critical',
    });
  });
});
