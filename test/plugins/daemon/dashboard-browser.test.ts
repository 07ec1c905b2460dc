/**
 * The dashboard in a real browser: Debian's headless Chromium driven by playwright-core. A check's
 * status changes on the host and the open page shows it within two cycles, without a reload;
 * every request stays on the daemon; the page fits a phone and says each status in words.
 * Screenshots go to test-output/ (look at them).
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
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
    await host.config('daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory, cpu_load, disk_space, zombie_processes]\n');
    d = await host.start();
    await d.waitFor((l) => l.type === 'cycle_end', 'first cycle');
    profile = await mkdtemp(join(tmpdir(), 'cx-chromium-'));
    await mkdir(OUTPUT, { recursive: true });
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
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
    await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'connected', undefined, { timeout: 30_000 });
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
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    await page.screenshot({ path: join(OUTPUT, 'daemon-dashboard-phone.png'), fullPage: true });
    await page.close();
  });
});
