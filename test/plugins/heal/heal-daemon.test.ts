/**
 * The heal loop in the real daemon against a real supervisord (started once for the file) and
 * the dashboard in headless Chromium: a crashed program is detected and restarted by the
 * daemon's heal job (every heal.interval: 1s, while daemon.interval is 2s); one that keeps
 * crashing exhausts its budget, is unmonitored with a heal_unmonitored event in the log and the
 * history store, and the Healing panel shows it; an alert rule on that event (alerts.yaml
 * `event: heal_unmonitored`) sends one webhook to a receiver on 127.0.0.1. /metrics carries the
 * heal families.
 * Screenshot: test-output/heal-panel.png.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasChromium, launchHeadless, type Headless } from '../../helpers/headless-chromium.js';
import { bootKernel, builtinPlugin } from '../../helpers/kernel-host.js';
import { startSupervisor, type Supervisor } from '../../helpers/supervisor.js';
import { receiverServer, type ReceiverServer } from '../alerts/receiver-server.js';
import { daemonRoot, type DaemonRoot, type LogLine, type RunningDaemon } from '../daemon/daemon-process.js';

const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));
let sup: Supervisor;
let host: DaemonRoot;
let d: RunningDaemon;
let receiver: ReceiverServer;

beforeAll(async () => {
  sup = await startSupervisor();
  receiver = await receiverServer();
  host = await daemonRoot('healthy');
  await host.config(`daemon: { interval: 2s, listen: '127.0.0.1:0', checks: [memory] }
services: { supervisor_config: ${sup.conf} }
heal:
  interval: 1s
  grace_cycles: 1
  thresholds:
    disk: { trigger: 100, clear: 99 }
    memory: { trigger: 100, clear: 99 }
  services: { names: [supervisord/flaky, steady] }
  budget: { max_actions: 2, within_cycles: 30, backoff_cycles: 1, max_backoff_cycles: 1 }
`);
  await writeFile(
    join(host.root, 'etc/cx/alerts.yaml'),
    `route: { group_wait: 0s, group_interval: 1s }
alerts:
  - name: component-unmonitored
    event: heal_unmonitored
    by: [component]
    resolve_after: 1h
    labels: { severity: critical }
    annotations: { summary: '{{data.component}} is no longer healed: {{data.description}}' }
    actions: [{ type: webhook, url: '${receiver.url}/hook' }]
`,
  );
  sup.crash(false);
  d = await host.start();
}, 120_000);
afterAll(async () => {
  await d?.stop();
  await host?.cleanup();
  await sup?.stop();
  await receiver?.close();
});

const heal = (type: string) => (l: LogLine) => l.plugin === 'heal' && l.type === type;

describe('the heal job in cx-ops daemon, with supervisord', () => {
  test('a crashed program is restarted; one that keeps crashing is unmonitored, with an event', async () => {
    // flaky starts FATAL (it crashed at supervisord's start); the first cycle restarts it.
    const restarted = await d.waitFor(heal('heal_action'), 'the restart of flaky', 60_000);
    expect(restarted).toMatchObject({
      level: 'info',
      message: 'flaky: ran restart_service: ok',
      data: { component: 'flaky', detector: 'service', action: 'restart_service', success: true, dry_run: false },
    });
    expect(sup.ctl('status', 'flaky').stdout).toMatch(/flaky\s+RUNNING/);
    expect(sup.ctl('status', 'steady').stdout).toMatch(/steady\s+RUNNING/);

    // Now it crashes at every start: restarts fail, back off, and the budget runs out.
    sup.crash(true);
    sup.ctl('stop', 'flaky');
    const gone = await d.waitFor(heal('heal_unmonitored'), 'flaky unmonitored', 90_000);
    expect(gone).toMatchObject({
      level: 'warn',
      message: expect.stringMatching(
        /^flaky is unmonitored: its remediation budget is exhausted \(service flaky \(supervisord\) is not running/,
      ),
      data: { component: 'flaky', detector: 'service', severity: 'HIGH' },
    });
    const failed = d.lines.filter((l) => heal('heal_action')(l) && l.data?.success === false);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]!.message).toMatch(/^flaky: ran restart_service: failed: supervisord\/flaky: .*ERROR/);
    // Left alone from then on: no more restarts of flaky.
    const actions = d.lines.filter(heal('heal_action')).length;
    const cycles = d.lines.filter((l) => l.type === 'cycle_end' && l.data?.job === 'heal').length;
    await d.waitFor(
      () => d.lines.filter((l) => l.type === 'cycle_end' && l.data?.job === 'heal').length >= cycles + 3,
      'three more heal cycles',
    );
    expect(d.lines.filter(heal('heal_action')).length).toBe(actions);

    const events = (await d.get('/api/v1/events?since=1h&limit=200')).json.events as LogLine[];
    expect(events.find((e) => e.type === 'heal_unmonitored')).toMatchObject({
      plugin: 'heal',
      data: { component: 'flaky' },
    });
    // The alert rule on heal_unmonitored fired once, for flaky (three more cycles sent nothing more).
    const [hook] = await receiver.waitFor(1, 60_000);
    expect(receiver.received).toHaveLength(1);
    expect(hook!.path).toBe('/hook');
    expect(hook!.json.alerts).toEqual([
      expect.objectContaining({
        status: 'firing',
        labels: expect.objectContaining({
          alertname: 'component-unmonitored',
          event: 'heal_unmonitored',
          component: 'flaky',
          severity: 'critical',
        }),
        annotations: expect.objectContaining({
          summary: expect.stringMatching(/^flaky is no longer healed: service flaky \(supervisord\) is not running/),
        }),
      }),
    ]);
    const status = JSON.parse((await host.cli(['heal', 'status', '--json'])).stdout);
    expect(status.unmonitored).toEqual(['flaky']);

    const metrics = (await d.get('/metrics')).text;
    expect(metrics).toContain('cx_ops_heal_issues_resolved_total{action="restart_service"} 1');
    expect(metrics).toMatch(/cx_ops_heal_issues_failed_total\{action="restart_service"\} [1-9]/);
    expect(metrics).toContain('cx_ops_heal_unmonitored_components 1');
    expect(metrics).toMatch(/cx_ops_heal_detection_duration_seconds_count \d+/);
    expect(metrics).toMatch(/cx_ops_heal_success_ratio 0\.\d+/);
  }, 180_000);

  test.skipIf(!hasChromium)(
    'the Healing panel shows the unmonitored component and the recent actions',
    async () => {
      let headless: Headless | undefined;
      try {
        headless = await launchHeadless({ width: 1100, height: 900 });
        const page = await headless.browser.newPage();
        await page.goto(`${d.url}/`);
        const panel = page.locator('#panels .panel', { has: page.locator('h3', { hasText: 'Healing' }) });
        await panel
          .locator('tr', { hasText: 'flaky unmonitored' })
          .locator('td.status-fail')
          .waitFor({ timeout: 30_000 });
        expect(await panel.locator('tr', { hasText: 'flaky unmonitored' }).textContent()).toContain(
          'budget exhausted since',
        );
        await panel.locator('tr', { hasText: 'flaky: ran restart_service: ok' }).waitFor({ timeout: 30_000 });
        await mkdir(OUTPUT, { recursive: true });
        await page.screenshot({ path: join(OUTPUT, 'heal-panel.png'), fullPage: true });
      } finally {
        await headless?.close();
      }
    },
    120_000,
  );

  // Last: SIGHUP ends steady's `sleep`.
  test('reload_service signals a supervisord program (SIGHUP through supervisorctl)', async () => {
    const k = await bootKernel({
      root: host.root,
      configDir: join(host.root, 'etc/cx'),
      dataDir: join(host.root, 'var/lib/cx'),
      plugins: ['heal', 'daemon', 'services'].map(builtinPlugin),
    });
    try {
      const issue = { type: 'SERVICE', component: 'steady', detector: 'service' };
      const input = { issue, parameters: { service: 'steady', manager: 'supervisord' } };
      expect(await k.kernel.invoke('heal-action', 'reload_service', input as never, { dryRun: true })).toMatchObject({
        ok: true,
        detail: 'would reload supervisord/steady',
        recorded: [`exec: supervisorctl -c ${sup.conf} signal HUP steady`],
      });
      expect(await k.kernel.invoke('heal-action', 'reload_service', input as never)).toEqual({
        ok: true,
        detail: 'supervisord/steady: steady: signalled',
      });
    } finally {
      await k.close();
    }
  }, 60_000);
});
