/**
 * core/bin/cx-ops-daemon, what the shipped unit runs: `cx-ops daemon` with the daemon's V8 and
 * malloc settings on node's command line, after a throwaway boot that brings the plugin shape
 * cache up to date, so that the long-lived process imports only the plugins whose contributions
 * it calls. (What the settings save is measured by `npm run bench`, not here.)
 */
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { daemonFixture, daemonRoot, enableTrusted, type DaemonRoot } from './daemon-process.js';

let host: DaemonRoot | undefined;
afterEach(async () => {
  await host?.cleanup();
  host = undefined;
});

describe('cx-ops-daemon', () => {
  test('runs the daemon with its memory settings, and the daemon process imports no plugin it never calls', async () => {
    host = await daemonRoot('healthy');
    const dir = join(host.root, 'plugins/import-marker');
    await cp(daemonFixture('import-marker'), dir, { recursive: true });
    await enableTrusted(host, dir, 'import-marker');
    await host.config('daemon:\n  interval: 5s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
    const marker = join(host.root, 'home/imported-by');
    const importers = async () =>
      (await readFile(marker, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
    const coldCache = () => rm(join(host!.root, 'var/cache/cx'), { recursive: true, force: true });

    // Plain `cx-ops daemon` with a cold cache: the kernel imports every enabled plugin to learn
    // what it contributes, the marker plugin included, in the daemon's own process, for good.
    await coldCache();
    let d = await host.start({ args: ['--plugin-dir', dir] });
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'a cycle');
    expect(await importers()).toContain(d.pid);
    expect((await d.stop()).exitCode).toBe(0);

    await rm(marker, { force: true });
    await coldCache();
    d = await host.start({ args: ['--plugin-dir', dir], launcher: 'daemon' });
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'a cycle');
    const by = await importers();
    expect(by).toHaveLength(1); // the throwaway boot that wrote the shape cache
    expect(by).not.toContain(d.pid);
    const argv = (await readFile(`/proc/${d.pid}/cmdline`, 'utf8')).split('\0');
    expect(argv).toEqual(
      expect.arrayContaining(['--lite-mode', '--max-semi-space-size=1', '--no-node-snapshot', 'daemon']),
    );
    expect((await readFile(`/proc/${d.pid}/environ`, 'utf8')).split('\0')).toContain('MALLOC_ARENA_MAX=2');
    // The plugin is still there: its command loads it on first use.
    expect((await host.cli(['--plugin-dir', dir, 'import-marker'])).stdout).toBe('ok');
    expect(d.lines.filter((l) => l.level !== 'info')).toEqual([]);
    expect((await d.stop()).exitCode).toBe(0);
  });
});
