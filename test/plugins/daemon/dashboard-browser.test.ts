/**
 * The dashboard in a real browser: Debian's headless Chromium driven by playwright-core. A check's
 * status changes on the host and the open page shows it within two cycles, without a reload;
 * every request stays on the daemon; the page fits a phone and says each status in words; with a
 * token file the page asks for the token (or takes it from its #token= fragment) and goes live.
 * Screenshots go to test-output/ (look at them).
 */
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { daemonRoot, doctorFixture, type DaemonRoot, type RunningDaemon } from './daemon-process.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));

describe.skipIf(!existsSync(CHROMIUM))('the dashboard in headless Chromium', () => {
  let host: DaemonRoot;
  let d: RunningDaemon;
  let profile: string;
  let browser: BrowserContext;
  beforeAll(async () => {
    host = await daemonRoot('healthy');
    await host.config(
      'daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory, cpu_load, disk_space, zombie_processes]\n',
    );
    d = await host.start();
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'first cycle');
    profile = await mkdtemp(join(tmpdir(), 'cx-chromium-'));
    await mkdir(OUTPUT, { recursive: true });
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1100, height: 800 },
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await d?.stop();
    await host?.cleanup();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  test('a check that fails on the host shows as FAIL within two cycles, without a reload', async () => {
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(d.url)) foreign.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${d.url}/`);
    await page.waitForSelector('#check-memory[data-status="PASS"]', { timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'connected', undefined, {
      timeout: 30_000,
    });
    await page.evaluate(() => {
      (window as unknown as { stayed: boolean }).stayed = true;
    });
    const cycleNow = async () => Number((await d.get('/api/v1/checks')).json.cycle);
    const before = await cycleNow();
    await copyFile(doctorFixture('stressed/proc/meminfo'), join(host.root, 'proc/meminfo'));
    await page.waitForSelector('#check-memory[data-status="FAIL"]', { timeout: 30_000 });
    const shownIn = Number(/cycle (\d+)/.exec((await page.textContent('#summary')) ?? '')?.[1]);
    expect(shownIn - before).toBeLessThanOrEqual(2);
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    // The status is a word, not only a colour.
    expect(await page.textContent('#check-memory td.status')).toBe('FAIL');
    expect(await page.textContent('#summary')).toMatch(/^UNHEALTHY · cycle \d+/);
    expect(await page.textContent('#events')).toMatch(/memory: PASS -> FAIL/);
    await page.screenshot({ path: join(OUTPUT, 'daemon-dashboard.png'), fullPage: true });
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  test('on a phone-sized screen the page needs no sideways scrolling', async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${d.url}/`);
    await page.waitForSelector('#check-memory[data-status]', { timeout: 30_000 });
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    await page.screenshot({ path: join(OUTPUT, 'daemon-dashboard-phone.png'), fullPage: true });
    await page.close();
  });

  test('with a token file: the page asks for the token, or takes it from #token=, and then shows the checks live', async () => {
    const secured = await daemonRoot('healthy');
    try {
      const tokenFile = join(secured.root, 'etc/cx/daemon.token');
      const token = 'dashboard-token-0123456789';
      await writeFile(tokenFile, `${token}\n`);
      await chmod(tokenFile, 0o600);
      await secured.config(
        `daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory, disk_space]\n  token_file: ${tokenFile}\n`,
      );
      const sd = await secured.start();
      await sd.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'first cycle');
      const errors: string[] = [];

      const asked = await browser.newPage();
      asked.on('pageerror', (e) => errors.push(e.message));
      await asked.goto(`${sd.url}/`);
      await asked.waitForSelector('#login:not([hidden])', { timeout: 30_000 });
      expect(await asked.textContent('#summary')).toBe('a bearer token is needed');
      await asked.fill('#token', token);
      await asked.click('#login button');
      await asked.waitForSelector('#check-memory[data-status="PASS"]', { timeout: 30_000 });
      await asked.waitForFunction(() => document.getElementById('conn')?.textContent === 'connected', undefined, {
        timeout: 30_000,
      });
      await asked.screenshot({ path: join(OUTPUT, 'daemon-dashboard-token.png'), fullPage: true });
      await asked.close();

      // A fresh tab opened with the token in its fragment: no form, the fragment leaves the address bar.
      const linked = await browser.newPage();
      linked.on('pageerror', (e) => errors.push(e.message));
      await linked.goto(`${sd.url}/#token=${token}`);
      await linked.waitForSelector('#check-disk_space[data-status]', { timeout: 30_000 });
      expect(await linked.isHidden('#login')).toBe(true);
      expect(new URL(linked.url()).hash).toBe('');
      // Live without a reload: the next cycle arrives over the stream.
      const first = Number(/cycle (\d+)/.exec((await linked.textContent('#summary')) ?? '')?.[1]);
      await linked.waitForFunction(
        (n) => Number(/cycle (\d+)/.exec(document.getElementById('summary')?.textContent ?? '')?.[1]) > n,
        first,
        { timeout: 30_000 },
      );
      await linked.close();
      expect(errors).toEqual([]);
      expect((await sd.stop()).exitCode).toBe(0);
    } finally {
      await secured.cleanup();
    }
  });
});
