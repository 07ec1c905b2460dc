/**
 * A SIGTERM at any moment of the daemon's start-up ends it cleanly (exit 0, 'stopped' logged):
 * while the kernel imports a slow plugin, and while a slow daemon-service starts (after the
 * listener is up). Each signal is sent when the fixture notes that step in $HOME, not after
 * readiness or a delay.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { daemonFixture, daemonRoot, enableTrusted, eventually, type DaemonRoot } from './daemon-process.js';

let host: DaemonRoot | undefined;
afterEach(async () => {
  await host?.cleanup();
  host = undefined;
});

/** Whether the daemon's own process (not the `plugins enable` before it) noted `what`. */
const noted = (what: string, pid: number) => () =>
  readFile(join(host!.root, 'home', what), 'utf8').then(
    (t) => t.split('\n').includes(String(pid)),
    () => false,
  );

describe('cx-ops daemon: SIGTERM during start-up', () => {
  for (const step of ['loading', 'service-starting'] as const) {
    test(`SIGTERM while ${step === 'loading' ? 'a plugin loads' : 'a daemon-service starts'}: exit 0, stopped`, async () => {
      host = await daemonRoot('healthy');
      const dir = daemonFixture('slow-start');
      await enableTrusted(host, dir, 'slow-start');
      await host.config('daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
      const d = await host.start({ args: ['--plugin-dir', dir], waitListening: false, env: { SLOW_START_MS: '3000' } });
      await eventually(noted(step, d.pid), `the fixture noting '${step}'`);
      d.kill('SIGTERM');
      const r = await d.exited;
      expect(r, d.stderr()).toEqual({ exitCode: 0, signal: undefined });
      expect(d.lines.at(-1)).toMatchObject({ type: 'stopped' });
      expect(d.lines.some((l) => l.type === 'cycle_end')).toBe(false);
    });
  }
});
