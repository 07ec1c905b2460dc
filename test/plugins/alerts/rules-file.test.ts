/** alerts.yaml: every mistake at file:line:col with the field, and close names for unknown checks, receivers and types. */
import { describe, expect, test } from 'vitest';
import { CxError } from '../../../sdk/index.js';
import { parseRules } from '../../../plugins-builtin/alerts/rules-file.js';
import { CHECKS, TYPES } from './alert-fixtures.js';

const FILE = '/etc/cx/alerts.yaml';
const parse = (yaml: string) => parseRules(yaml, FILE, { checks: CHECKS, receiverTypes: TYPES });
const problem = (yaml: string) => {
  try {
    parse(yaml);
  } catch (e) {
    expect(e).toBeInstanceOf(CxError);
    const x = e as CxError;
    return { code: x.code, exit: x.exitCode, message: x.message, suggestions: x.suggestions };
  }
  throw new Error('no error');
};

describe('alerts.yaml', () => {
  test("the seed's rules read with defaults: fail and error, for 1, Alertmanager's grouping", () => {
    const rs = parse(`
receivers:
  pagerduty: { type: pagerduty, routing_key_file: /etc/cx/pd.key }
alerts:
  - name: disk-critical
    check: disk_space
    status: fail
    actions:
      - type: webhook
        url: http://127.0.0.1:1/mail
      - type: pagerduty
`);
    expect(rs.rules).toEqual([
      {
        name: 'disk-critical',
        checks: ['disk_space'],
        statuses: ['FAIL'],
        for: 1,
        labels: {},
        annotations: {},
        grouping: {
          group_by: ['alertname'],
          group_wait_ms: 30_000,
          group_interval_ms: 300_000,
          repeat_interval_ms: 14_400_000,
        },
        receivers: ['webhook', 'pagerduty'],
      },
    ]);
    expect(rs.flapping).toEqual({ changes: 4, cycles: 10 });
  });

  test('an unknown check, receiver type or receiver: the line and column, and the close names', () => {
    expect(
      problem(`alerts:
  - name: disk
    check: disk_spce
    actions: [{ type: webhook, url: 'http://h/' }]
`),
    ).toEqual({
      code: 'CX_ERR_ALERTS_INVALID',
      exit: 2,
      message: `${FILE}:3:12: 'alerts[0].check' names check 'disk_spce', which is not registered (list them with: cx-ops doctor --list) (found: "disk_spce") Did you mean: disk_space?\nFix it in ${FILE}; the format is schemas/alerts.schema.json (cx-ops alerts list shows the receiver types).`,
      suggestions: ['disk_space'],
    });
    const t = problem(`alerts:
  - name: disk
    check: disk_space
    actions:
      - type: webhok
        url: 'http://h/'
`);
    expect(t.message).toContain(
      `${FILE}:5:15: 'alerts[0].actions[0].type' names receiver type 'webhok', which no plugin contributes (types: alertmanager, pagerduty, slack, webhook)`,
    );
    expect(t.suggestions).toEqual(['webhook']);
    const r = problem(`receivers:
  ops: { type: webhook, url: 'http://h/' }
alerts:
  - { name: disk, check: disk_space, actions: [{ receiver: opz }] }
`);
    expect(r.message).toContain(
      `${FILE}:4:60: 'alerts[0].actions[0].receiver' names receiver 'opz', which receivers: does not define`,
    );
    expect(r.suggestions).toEqual(['ops']);
  });

  test("schema mistakes: an unknown key at its key with the valid keys, a bad duration, a receiver's own settings", () => {
    expect(
      problem(`alerts:
  - name: disk
    chek: disk_space
    actions: [{ type: webhook, url: 'http://h/' }]
`).message,
    ).toMatch(
      /^\/etc\/cx\/alerts\.yaml:3:5: 'alerts\[0\]\.chek' is not allowed here \(unknown field\); valid keys here: name, check, .*Did you mean: check, checks\?/,
    );
    expect(problem(`route: { group_wait: 30 seconds }\n`).message).toContain(
      `${FILE}:1:22: 'route.group_wait' must match the pattern ^[0-9]+(ms|s|m|h|d)$ (found: "30 seconds")`,
    );
    expect(
      problem(`alerts:
  - name: disk
    actions:
      - type: webhook
        uri: 'http://h/'
`).message,
    ).toContain(
      `${FILE}:5:9: 'alerts[0].actions[0].uri' is not allowed here (unknown field) (a webhook receiver's settings: url)`,
    );
    expect(problem(`alerts:\n  - { name: x, actions: [{ type: webhook, receiver: y }] }\n`).message).toContain(
      "'alerts[0].actions[0]' needs exactly one of type: (a receiver type, with its settings) or receiver:",
    );
  });

  test('a syntax error is CX_ERR_YAML_SYNTAX with line and column', () => {
    const p = problem(`alerts:\n  - name: disk\n   check: [\n`);
    expect(p.code).toBe('CX_ERR_YAML_SYNTAX');
    expect(p.message).toMatch(/^\/etc\/cx\/alerts\.yaml:\d+:\d+: /);
  });

  test('inhibit names alerts that exist', () => {
    expect(
      problem(`inhibit: [{ source: host-dwn, target: [disk] }]
alerts:
  - { name: host-down, check: network_connectivity, actions: [{ type: webhook, url: 'http://h/' }] }
  - { name: disk, check: disk_space, actions: [{ type: webhook, url: 'http://h/' }] }
`).suggestions,
    ).toEqual(['host-down']);
  });
});
