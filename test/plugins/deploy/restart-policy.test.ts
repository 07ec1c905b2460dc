// restart_policy mapped onto the drivers: the supervisord loop script run for real with a
// crashing program (doubling backoff up to the cap, giving up after max_failures in the
// window), and the systemd keys for systemd before and after 254.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  backoffSchedule,
  restartLoopScript,
  restartSettings,
  systemdRestartLines,
} from '../../../plugins-builtin/deploy/restart-policy.js';

const spec = {
  enable: true,
  ip: '127.0.0.1',
  hostname: 'x',
  restart_policy: 'always' as const,
  restart: { backoff: '0.05s', backoff_max: '0.2s', max_failures: 5, window: '60s' },
};

describe('restart backoff', () => {
  it('doubles up to the cap', () => {
    expect(backoffSchedule(restartSettings(spec), 5)).toEqual([50, 100, 200, 200, 200]);
    expect(restartSettings({ enable: true, ip: '1.1.1.1', hostname: 'x' })).toEqual({
      policy: 'always',
      backoffMs: 1000,
      backoffMaxMs: 60_000,
      maxFailures: 5,
      windowMs: 600_000,
    });
  });

  it('the supervisord loop restarts a crashing program with that backoff and gives up after max_failures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-loop-'));
    try {
      const loop = join(dir, 'loop.sh');
      writeFileSync(
        loop,
        restartLoopScript('crasher', `sh -c 'echo run >> ${dir}/runs; exit 3'`, restartSettings(spec)),
      );
      const r = spawnSync('sh', [loop], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        'cx-ops deploy: exited with 3; restarting in 50ms',
        'cx-ops deploy: exited with 3; restarting in 100ms',
        'cx-ops deploy: exited with 3; restarting in 200ms',
        'cx-ops deploy: exited with 3; restarting in 200ms',
        'cx-ops deploy: giving up after 5 failures within 60s (last exit 3)',
      ]);
      expect(
        spawnSync('wc', ['-l', join(dir, 'runs')], { encoding: 'utf8' })
          .stdout.trim()
          .split(' ')[0],
      ).toBe('5');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unless-stopped: a clean exit is a stop, not a failure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-loop-'));
    try {
      const loop = join(dir, 'loop.sh');
      writeFileSync(
        loop,
        restartLoopScript('once', 'true', restartSettings({ ...spec, restart_policy: 'unless-stopped' })),
      );
      const r = spawnSync('sh', [loop], { encoding: 'utf8', timeout: 60_000 });
      expect([r.status, r.stderr]).toEqual([0, '']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('systemd: Restart=, RestartSec=, StartLimit*; RestartSteps only from systemd 254', () => {
    const r = restartSettings({
      ...spec,
      restart: { backoff: '1s', backoff_max: '64s', max_failures: 4, window: '10m' },
    });
    expect(systemdRestartLines(r, 255)).toEqual({
      unit: ['StartLimitIntervalSec=600', 'StartLimitBurst=4'],
      service: ['Restart=always', 'RestartSec=1', 'RestartSteps=6', 'RestartMaxDelaySec=64'],
    });
    expect(systemdRestartLines(r, 252).service).toEqual([
      'Restart=always',
      'RestartSec=1',
      '# RestartSteps=6 RestartMaxDelaySec=64: needs systemd >= 254 (this is 252); restarts wait RestartSec each time',
    ]);
    expect(systemdRestartLines({ ...r, policy: 'never' }, 255).service).toEqual(['Restart=no', 'RestartSec=1']);
  });
});
