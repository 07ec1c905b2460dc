/**
 * The automation scheduler inside cx-ops daemon: a task on an interval runs and is counted on
 * /metrics (executions by task and status, durations); the dashboard's tasks panel shows it in a
 * real browser (Debian's headless Chromium, started once); a kill -9 of the daemon mid-task leaves
 * an Interrupted execution, and the next start catches the missed run up (catch_up: once).
 * Screenshot: test-output/automation-panel.png.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasChromium, launchHeadless, type Headless } from '../../helpers/headless-chromium.js';
import { daemonRoot, eventually, type DaemonRoot, type RunningDaemon } from '../daemon/daemon-process.js';

const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));
const runs = (metrics: string, status: string) =>
  Number(
    new RegExp(`^cx_ops_automation_executions_total\\{task="tick",status="${status}"\\} (\\d+)`, 'm').exec(
      metrics,
    )?.[1] ?? 0,
  );

describe.skipIf(!hasChromium)('automation in cx-ops daemon', () => {
  let host: DaemonRoot;
  let d: RunningDaemon;
  let headless: Headless;
  beforeAll(async () => {
    host = await daemonRoot('healthy');
    await host.config(`daemon: { interval: 2s, listen: '127.0.0.1:0', checks: [memory] }
automation:
  tasks:
    - id: tick
      type: command
      schedule: every:3s
      catch_up: once
      config: { command: [sh, -c, 'if [ -e "$0/hang" ]; then echo $$ > "$0/hang.pid"; exec sleep 60; fi; echo tick', ${host.root}] }
`);
    d = await host.start();
    await mkdir(OUTPUT, { recursive: true });
    headless = await launchHeadless({ width: 1100, height: 900 });
  }, 120_000);
  afterAll(async () => {
    await headless?.close();
    const pid = await readFile(join(host.root, 'hang.pid'), 'utf8').catch(() => '');
    if (pid.trim()) process.kill(Number(pid), 'SIGKILL');
    await host?.cleanup();
  });

  test('runs on its schedule: counted on /metrics and shown in the tasks panel', async () => {
    const metrics = await eventually(async () => {
      const m = (await d.get('/metrics')).text;
      return runs(m, 'Success') >= 1 && m;
    }, 'a tick counted on /metrics');
    expect(metrics).toMatch(/^cx_ops_automation_duration_seconds_count\{task="tick"\} [1-9]/m);
    const page = await headless.browser.newPage();
    await page.goto(`${d.url}/`);
    const panel = page.locator('#panels .panel', { has: page.locator('h3', { hasText: 'Tasks' }) });
    const row = panel.locator('tr', { has: page.locator('td:first-child', { hasText: /^tick$/ }) });
    await row.locator('td.status-pass').waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toMatch(/next \d\d-\d\d \d\d:\d\d UTC; last Success \d\d-\d\d \d\d:\d\d UTC/);
    expect(await panel.locator('tr', { hasText: 'running now' }).textContent()).toMatch(/running now(nothing|tick)/);
    await page.screenshot({ path: join(OUTPUT, 'automation-panel.png'), fullPage: true });
    await page.close();
  }, 120_000);

  test('kill -9 mid-task: the run is recorded Interrupted and the next start catches it up', async () => {
    await writeFile(join(host.root, 'hang'), '');
    const pid = await eventually(
      async () => (await readFile(join(host.root, 'hang.pid'), 'utf8').catch(() => '')).trim(),
      'a tick that hangs',
    );
    d.kill('SIGKILL');
    await d.exited;
    process.kill(Number(pid), 'SIGKILL');
    await rm(join(host.root, 'hang'));
    await rm(join(host.root, 'hang.pid'));
    d = await host.start();
    await eventually(async () => runs((await d.get('/metrics')).text, 'Success') >= 1, 'a tick after the restart');
    const h = JSON.parse((await host.cli(['automation', 'history', 'tick', '--limit', '50', '--json'])).stdout);
    const execs: Array<{ status: string; error: string | null; trigger: { type: string; detail?: string } }> =
      h.executions;
    expect(execs.filter((e) => e.status === 'Interrupted')).toMatchObject([
      { error: expect.stringMatching(/^interrupted: process \d+ ended while the task ran/) },
    ]);
    expect(execs.some((e) => e.status === 'Success' && e.trigger.detail === 'catch-up')).toBe(true);
    expect(
      d.lines.some(
        (l) =>
          l.type === 'plugin_event' &&
          /tick: execution .* was interrupted; its run is caught up by its policy/.test(l.message),
      ),
    ).toBe(true);
  }, 120_000);
});
