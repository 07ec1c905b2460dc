/**
 * The dashboard's alerts panel in a real browser (Debian's headless Chromium, as the daemon's own
 * dashboard test): a check that fails shows as a firing alert with the notification sent, a
 * silence made from the command line shows, and the receiver's secret is nowhere on the page.
 * Screenshot: test-output/alerts-panel.png.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasChromium, launchHeadless, type Headless } from '../../helpers/headless-chromium.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { daemonRoot, type DaemonRoot, type RunningDaemon } from '../daemon/daemon-process.js';
import { setMemory } from './alert-fixtures.js';
import { receiverServer, type ReceiverServer } from './receiver-server.js';

const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));

describe.skipIf(!hasChromium)('the alerts panel in headless Chromium', () => {
  let host: DaemonRoot;
  let d: RunningDaemon;
  let server: ReceiverServer;
  let headless: Headless;
  beforeAll(async () => {
    host = await daemonRoot('healthy');
    server = await receiverServer();
    await host.config("daemon: { interval: 2s, listen: '127.0.0.1:0', checks: [memory] }\nalerts: { host: web1 }\n");
    // The Slack webhook URL (a secret: it holds the token) points at the test's server.
    await writeFile(join(host.root, 'etc/cx/slack.url'), `${server.url}/services/T0/B0/PANELSECRET99\n`);
    await chmod(join(host.root, 'etc/cx/slack.url'), 0o600);
    await writeFile(
      join(host.root, 'etc/cx/alerts.yaml'),
      `route: { group_wait: 0s, group_interval: 2s }
receivers:
  chat: { type: slack, webhook_url_file: ${join(host.root, 'etc/cx/slack.url')} }
alerts:
  - { name: memory-high, check: memory, actions: [{ receiver: chat }] }
`,
    );
    d = await host.start();
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'first cycle');
    await mkdir(OUTPUT, { recursive: true });
    headless = await launchHeadless({ width: 1100, height: 900 });
  }, 120_000);
  afterAll(async () => {
    await headless?.close();
    await d?.stop();
    await host?.cleanup();
    await server?.close();
  });

  test('firing, the notification sent, a silence: shown live; the secret never', async () => {
    const page = await headless.browser.newPage();
    await page.goto(`${d.url}/`);
    const panel = page.locator('#panels .panel', { has: page.locator('h3', { hasText: 'Alerts' }) });
    await panel.locator('td', { hasText: 'none' }).waitFor({ timeout: 30_000 });
    await setMemory(host.root, 'stressed');
    await panel
      .locator('tr', { hasText: 'memory-high (memory)' })
      .locator('td.status-fail')
      .waitFor({ timeout: 30_000 });
    expect(await panel.locator('tr', { hasText: 'memory-high (memory)' }).textContent()).toMatch(
      /firing since \d\d:\d\d UTC: 98% of/,
    );
    await panel.locator('tr', { hasText: 'chat: sent the firing notification' }).waitFor({ timeout: 30_000 });
    expect(server.received).toHaveLength(1);

    const s = await host.cli(['alerts', 'silence', 'memory-high', '--for', '2h', '--comment', 'swapping RAM']);
    expect(s.exitCode).toBe(0);
    await panel.locator('tr', { hasText: 'swapping RAM' }).waitFor({ timeout: 30_000 });
    await panel
      .locator('tr', { hasText: 'memory-high (memory)' })
      .locator('td.status-skip')
      .waitFor({ timeout: 30_000 });
    expect(await panel.locator('tr', { hasText: 'memory-high (memory)' }).textContent()).toContain('silenced until');
    await page.screenshot({ path: join(OUTPUT, 'alerts-panel.png'), fullPage: true });

    const html = await page.content();
    const api = (await d.get('/api/v1/panels')).text;
    for (const text of [html, api, d.stderr()]) {
      expect(text).not.toContain('PANELSECRET99');
      expect(text).not.toContain('/services/T0/B0');
    }
  }, 120_000);
});
