/**
 * Event rules in the real daemon: an automation task that really fails (its command exits 1)
 * records `automation_task_failed`; the rule over that event delivers exactly one webhook (the
 * Alertmanager JSON, labels from the event's `by` fields, annotations from its data) when the
 * event is recorded — not at the alerts-delivery job's next 30 s tick — however often the task
 * fails again; the task's next success (`automation_task_success`, resolve_on) resolves it, once.
 * A lone event (a task run once, at boot) is notified group_wait after it, by a timer.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { fingerprint } from '../../../plugins-builtin/alerts/rule-engine.js';
import { daemonRoot, eventually, type DaemonRoot } from '../daemon/daemon-process.js';
import { receiverServer, type ReceiverServer } from './receiver-server.js';

let host: DaemonRoot | undefined;
let server: ReceiverServer | undefined;
afterEach(async () => {
  // The second test's task hangs in its second run: end it, whatever the test's outcome.
  const pid = host ? await readFile(join(host.root, 'hang.pid'), 'utf8').catch(() => '') : '';
  await host?.cleanup();
  if (pid.trim())
    try {
      process.kill(Number(pid.trim()), 'SIGKILL');
    } catch {
      // already gone
    }
  await server?.close();
  host = server = undefined;
});

describe('event rules in the daemon', () => {
  test('a task that fails for real: one webhook when the event is recorded, resolved once by its next success', async () => {
    host = await daemonRoot('healthy');
    server = await receiverServer();
    // The checks cycle is an hour away: only the event can bring the alert.
    await host.config(`daemon: { interval: 1h, listen: '127.0.0.1:0', checks: [memory] }
alerts: { host: web1, external_url: 'http://web1:8080/' }
automation:
  tasks:
    - id: flaky
      type: command
      schedule: every:2s
      max_retries: 0
      config: { command: [sh, -c, 'test -e "$0/ok" || { echo "no ok file" >&2; exit 1; }', ${host.root}] }
`);
    await writeFile(
      join(host.root, 'etc/cx/alerts.yaml'),
      `route: { group_wait: 0s, group_interval: 1s }
alerts:
  - name: task-failed
    event: automation_task_failed
    by: [task]
    resolve_on: automation_task_success
    labels: { severity: warning }
    annotations: { summary: '{{data.task}} failed on {{host}} (execution {{data.execution_id}})' }
    actions:
      - type: webhook
        url: ${server.url}/hook
`,
    );
    const d = await host.start();
    const [fired] = await server.waitFor(1, 60_000);
    // Brought by the event: the delivery job has run only its first tick (at start).
    const deliveryTicks = d.lines.filter((l) => l.type === 'cycle_end' && l.data?.job === 'alerts-delivery').length;
    expect(deliveryTicks).toBeLessThanOrEqual(1);
    const labels = {
      alertname: 'task-failed',
      event: 'automation_task_failed',
      host: 'web1',
      task: 'flaky',
      severity: 'warning',
    };
    const alert = fired!.json.alerts[0];
    expect(fired!.path).toBe('/hook');
    expect(fired!.json).toEqual({
      version: '4',
      groupKey: 'webhook:{alertname="task-failed"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'webhook',
      groupLabels: { alertname: 'task-failed' },
      commonLabels: labels,
      commonAnnotations: alert.annotations,
      externalURL: 'http://web1:8080/',
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: { summary: alert.annotations.summary, description: alert.annotations.description },
          startsAt: alert.startsAt,
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://web1:8080/',
          fingerprint: fingerprint(labels),
        },
      ],
    });
    expect(alert.annotations.summary).toMatch(/^flaky failed on web1 \(execution [0-9a-z-]+-flaky\)$/);
    expect(alert.annotations.description).toMatch(/^flaky: Failed: .*no ok file/);

    // It keeps failing: the same alert, deduplicated — no second notification.
    const h = await host.cli(['automation', 'history', 'flaky', '--limit', '50', '--json']);
    const before = (JSON.parse(h.stdout).executions as Array<{ status: string }>).filter(
      (e) => e.status === 'Failed',
    ).length;
    await eventually(async () => {
      const now = JSON.parse((await host!.cli(['automation', 'history', 'flaky', '--limit', '50', '--json'])).stdout);
      return (now.executions as Array<{ status: string }>).filter((e) => e.status === 'Failed').length >= before + 2;
    }, 'two more failures');
    expect(server.received).toHaveLength(1);

    // The next success resolves it, once, with the same dedup key.
    await writeFile(join(host.root, 'ok'), '');
    const [, resolved] = await server.waitFor(2, 60_000);
    expect(resolved!.json.status).toBe('resolved');
    expect(resolved!.json.alerts).toEqual([
      {
        ...alert,
        status: 'resolved',
        endsAt: resolved!.json.alerts[0].endsAt,
        annotations: resolved!.json.alerts[0].annotations,
      },
    ]);
    await eventually(async () => {
      const now = JSON.parse((await host!.cli(['automation', 'history', 'flaky', '--limit', '50', '--json'])).stdout);
      return (now.executions as Array<{ status: string }>).filter((e) => e.status === 'Success').length >= 2;
    }, 'two successes');
    expect(server.received).toHaveLength(2);
  }, 180_000);

  test('one event alone: notified group_wait after it, not at the next delivery tick', async () => {
    host = await daemonRoot('healthy');
    server = await receiverServer();
    await host.config(`daemon: { interval: 1h, listen: '127.0.0.1:0', checks: [memory] }
alerts: { host: web1 }
automation:
  tasks:
    - id: once
      type: command
      schedule: every:2s
      overlap: queue
      max_retries: 0
      config: { command: [sh, -c, 'if [ -e "$0/failed" ]; then echo $$ > "$0/hang.pid"; exec sleep 120; fi; touch "$0/failed"; exit 1', ${host.root}] }
`);
    await writeFile(
      join(host.root, 'etc/cx/alerts.yaml'),
      `route: { group_wait: 2s }
alerts:
  - name: task-failed
    event: automation_task_failed
    by: [task]
    actions:
      - type: webhook
        url: ${server.url}/hook
`,
    );
    const d = await host.start();
    // It fails once, then its next run hangs: one event, nothing after it to flush the group.
    const [fired] = await server.waitFor(1, 60_000);
    const receivedBy = Date.now();
    expect(fired!.json.alerts.map((a: { labels: Record<string, string> }) => a.labels.task)).toEqual(['once']);
    // Sent before the delivery job's second tick (30 s after the start) even began.
    const tick = await d.waitFor(
      (l) => l.type === 'cycle_end' && l.data?.job === 'alerts-delivery' && l.data.cycle === 2,
      'the second delivery tick',
      90_000,
    );
    expect(receivedBy).toBeLessThan(Date.parse(tick.ts) - tick.data!.duration_ms);
    expect(server.received).toHaveLength(1);
    await eventually(() => readFile(join(host!.root, 'hang.pid'), 'utf8').catch(() => ''), 'the hung run');
  }, 180_000);
});
