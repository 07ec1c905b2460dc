/**
 * The detectors' state machine driven cycle by cycle with a controllable clock (no sleeping):
 * for-N-cycles, the clear threshold (hysteresis), the counter reset after M healthy cycles, grace
 * after a successful action, the budget with backoff and unmonitored, and its reset. Also the
 * /proc/stat delta and the config rules the schema cannot express.
 */
import { describe, expect, test } from 'vitest';
import { doctorReadings, failedServicesOf, takeVerdict } from '../../../plugins-builtin/heal/doctor-feed.js';
import { thresholdProblem } from '../../../plugins-builtin/heal/heal-config.js';
import { cpuPercent, parseCpuTimes } from '../../../plugins-builtin/heal/host-readings.js';
import { admit, emptyDetectorState, judge, spend, type DetectorState } from '../../../plugins-builtin/heal/judge.js';
import type { Reading } from '../../../plugins-builtin/heal/heal-types.js';
import { healConfig } from './heal-fixtures.js';

const T0 = Date.parse('2026-12-02T06:00:00Z');
const mem = (value: number): Reading[] => [{ detector: 'memory', component: 'memory', value }];

/** Runs one cycle per value (a minute apart); what each cycle says of memory: open, pending or quiet. */
function drive(state: DetectorState, values: number[], cfg = healConfig()): string[] {
  return values.map((v) => {
    const j = judge(state, mem(v), cfg, T0 + state.cycle * 60_000);
    return j.issues.length
      ? 'open'
      : j.pending.length
        ? `pending ${j.pending[0]!.bad}/${j.pending[0]!.needed}`
        : 'quiet';
  });
}

describe('for N cycles, clear threshold, counter reset', () => {
  test('an issue opens only after for_cycles cycles at or above the trigger, with the seed fields', () => {
    const s = emptyDetectorState();
    expect(drive(s, [90, 90])).toEqual(['pending 1/3', 'pending 2/3']);
    const j = judge(s, mem(96), healConfig(), T0 + 3 * 60_000);
    expect(j.issues).toEqual([
      {
        type: 'RESOURCE',
        severity: 'CRITICAL',
        description: 'memory usage 96% is at or above 85%',
        component: 'memory',
        metric_value: 96,
        threshold: 85,
        timestamp: '2026-12-02T06:03:00.000Z',
        detector: 'memory',
      },
    ]);
    expect(j.opened).toEqual(['memory:memory']);
    expect(judge(s, mem(90), healConfig(), T0).issues[0]).toMatchObject({ severity: 'HIGH' });
  });

  test('hovering at the limit does not flap: an open issue stays open until the value is below clear', () => {
    const s = emptyDetectorState();
    // trigger 85, clear 75: 84 and 76 are in the band.
    expect(drive(s, [86, 86, 86, 84, 86, 76, 84, 74])).toEqual([
      'pending 1/3',
      'pending 2/3',
      'open',
      'open',
      'open',
      'open',
      'open',
      'quiet',
    ]);
  });

  test('the counter resets only after reset_after_cycles healthy cycles in a row; before that a rise reopens at once', () => {
    const s = emptyDetectorState();
    expect(drive(s, [90, 90, 90, 50, 90])).toEqual(['pending 1/3', 'pending 2/3', 'open', 'quiet', 'open']);
    // Three healthy cycles: bad goes back to 0, and it takes three cycles again.
    expect(drive(s, [50, 50, 50, 90, 90, 90])).toEqual([
      'quiet',
      'quiet',
      'quiet',
      'pending 1/3',
      'pending 2/3',
      'open',
    ]);
    // A band value breaks the healthy streak: 50, 80, 50, 50 is not three in a row.
    const t = emptyDetectorState();
    drive(t, [90, 90]);
    expect(drive(t, [50, 80, 50, 50, 90])).toEqual(['quiet', 'quiet', 'quiet', 'quiet', 'open']);
  });

  test('not only consecutive cycles count: 2 over, 1 in the band, 1 over opens at for_cycles 3', () => {
    expect(drive(emptyDetectorState(), [90, 90, 80, 90])).toEqual(['pending 1/3', 'pending 2/3', 'quiet', 'open']);
  });

  test('a per-detector for_cycles and a value that cannot be read (null) is not judged', () => {
    const cfg = healConfig({
      thresholds: { ...healConfig().thresholds, memory: { ...healConfig().thresholds.memory, for_cycles: 1 } },
    });
    const s = emptyDetectorState();
    expect(judge(s, [{ detector: 'cpu', component: 'cpu', value: null }], cfg, T0)).toMatchObject({
      issues: [],
      pending: [],
    });
    expect(drive(s, [90], cfg)).toEqual(['open']);
  });
});

describe('grace and budgets', () => {
  const cfg = healConfig({ for_cycles: 1, grace_cycles: 2 });
  const key = 'memory:memory';

  test('a successful action starts a grace period; afterwards the issue is judged from scratch', () => {
    const s = emptyDetectorState();
    expect(drive(s, [90], cfg)).toEqual(['open']);
    expect(admit(s, key, cfg, T0)).toBe('act');
    spend(s, key, true, cfg);
    const graced = [judge(s, mem(90), cfg, T0), judge(s, mem(90), cfg, T0)];
    expect(graced.map((j) => [j.issues.length, j.grace])).toEqual([
      [0, [key]],
      [0, [key]],
    ]);
    expect(drive(s, [90], cfg)).toEqual(['open']);
  });

  test('failed actions back off exponentially with a cap; past max_actions within the window: unmonitored, once', () => {
    const c = healConfig({
      for_cycles: 1,
      budget: { max_actions: 4, within_cycles: 100, backoff_cycles: 1, max_backoff_cycles: 2 },
    });
    const s = emptyDetectorState();
    const log: string[] = [];
    for (let i = 0; i < 9; i++) {
      judge(s, mem(90), c, T0 + i * 60_000);
      const v = admit(s, key, c, T0 + i * 60_000);
      log.push(v);
      if (v === 'act') spend(s, key, false, c);
    }
    // waits after failures: 1, 2, 2 (capped) cycles.
    expect(log).toEqual(['act', 'act', 'backoff', 'act', 'backoff', 'act', 'unmonitor', 'unmonitored', 'unmonitored']);
    expect(s.components[key]!.budget).toMatchObject({ unmonitored: true, unmonitored_at: '2026-12-02T06:06:00.000Z' });
  });

  test('actions older than within_cycles leave the window', () => {
    const run = (within: number) => {
      const budget = { max_actions: 2, within_cycles: within, backoff_cycles: 1, max_backoff_cycles: 1 };
      const c = healConfig({ for_cycles: 1, grace_cycles: 0, budget });
      const s = emptyDetectorState();
      const log: string[] = [];
      for (let i = 0; i < 5; i++) {
        judge(s, mem(90), c, T0);
        const v = admit(s, key, c, T0);
        log.push(v);
        if (v === 'act') spend(s, key, true, c);
      }
      return log;
    };
    // One action a cycle: two within any 2 cycles is within budget, three within 3 is not.
    expect(run(2)).toEqual(['act', 'act', 'act', 'act', 'act']);
    expect(run(3)).toEqual(['act', 'act', 'unmonitor', 'unmonitored', 'unmonitored']);
  });

  test('sustained health resets the budget, unmonitored included', () => {
    const c = healConfig({
      for_cycles: 1,
      budget: { max_actions: 1, within_cycles: 100, backoff_cycles: 1, max_backoff_cycles: 1 },
    });
    const s = emptyDetectorState();
    judge(s, mem(90), c, T0);
    spend(s, key, false, c);
    judge(s, mem(90), c, T0);
    expect(admit(s, key, c, T0)).toBe('unmonitor');
    expect(drive(s, [50, 50], c)).toEqual(['quiet', 'quiet']);
    expect(s.components[key]!.budget?.unmonitored).toBe(true);
    drive(s, [50], c);
    expect(s.components[key]!.budget).toBeUndefined();
    expect(drive(s, [90], c)).toEqual(['open']);
    expect(admit(s, key, c, T0)).toBe('act');
  });
});

describe('cpu from /proc/stat deltas', () => {
  test('busy % between two samples (idle + iowait are idle; guest is not counted twice)', () => {
    const a = parseCpuTimes('cpu  100 0 100 700 100 0 0 0 50 0\ncpu0 1 2 3 4\n');
    const b = parseCpuTimes('cpu  250 0 150 800 100 0 0 0 90 0\n');
    expect(a).toEqual({ total: 1000, idle: 800 });
    expect(cpuPercent(a!, b)).toBe(66.7);
    expect(cpuPercent(undefined, b)).toBeNull();
    expect(cpuPercent(b!, b)).toBeNull();
    expect(parseCpuTimes('intr 1 2 3\n')).toBeNull();
  });
});

describe('config the schema cannot check', () => {
  test('clear above trigger, critical below trigger, max backoff below backoff', () => {
    const t = healConfig().thresholds;
    expect(thresholdProblem(healConfig({ thresholds: { ...t, disk: { ...t.disk, clear: 95 } } }))).toEqual([
      ['thresholds', 'disk', 'clear'],
      "must not be above heal.thresholds.disk.trigger (90): an issue clears below 'clear' and triggers at 'trigger'",
      95,
    ]);
    expect(thresholdProblem(healConfig({ thresholds: { ...t, cpu: { ...t.cpu, critical: 50 } } }))?.[0]).toEqual([
      'thresholds',
      'cpu',
      'critical',
    ]);
    expect(thresholdProblem(healConfig())).toBeNull();
  });

  test('a trigger given alone gets its clear level the default distance below it', () => {
    const c = healConfig({
      thresholds: { cpu: { trigger: 60 } } as unknown as ReturnType<typeof healConfig>['thresholds'],
    });
    expect(c.thresholds.cpu).toEqual({ trigger: 60, clear: 50, severity: 'MEDIUM', critical: 95 });
    expect(c.thresholds.load).toEqual({ trigger: 3, clear: 2.5, severity: 'MEDIUM' });
  });
});

describe("doctor's systemd_failed feeds the service detector", () => {
  const result = (status: 'FAIL' | 'PASS' | 'ERROR', failed: unknown[]) => ({
    check_id: 'systemd_failed',
    name: 'Failed systemd units',
    status,
    message: '',
    details: { failed } as unknown as Record<string, never>,
    fix_id: null,
    duration_ms: 1,
  });

  test('each failed unit or program is a service reading; fed once and no longer failed, it reads as running', () => {
    const failed = [
      { unit: 'nginx.service', load: 'loaded', active: 'failed', sub: 'failed', description: 'web' },
      { unit: 'foo.mount', load: 'loaded', active: 'failed', sub: 'failed', description: 'not a service' },
      {
        manager: 'supervisord',
        unit: 'supervisord:worker',
        name: 'worker',
        state: 'failed',
        detail: 'FATAL Exited too quickly',
      },
    ];
    expect(failedServicesOf(result('ERROR', failed))).toBeNull();
    takeVerdict(failedServicesOf(result('FAIL', failed)));
    expect(doctorReadings(new Set(['worker']))).toEqual([
      {
        detector: 'service',
        component: 'nginx',
        value: 1,
        manager: 'systemd',
        detail: 'failed (doctor: systemd_failed)',
      },
    ]);
    takeVerdict(failedServicesOf(result('PASS', [])));
    expect(doctorReadings(new Set()).map((r) => [r.component, r.value, r.manager])).toEqual([
      ['nginx', 0, 'systemd'],
      ['worker', 0, 'supervisord'],
    ]);
    // No verdict (ERROR, or no such check this cycle): the last one stands.
    takeVerdict(failedServicesOf(undefined));
    expect(doctorReadings(new Set()).every((r) => r.value === 0)).toBe(true);
  });
});
