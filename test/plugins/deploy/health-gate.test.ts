// The health gate on a controllable clock: compose's timing (first probe at once, start_period
// failures not counted, start_interval, retries) and Nomad's min_healthy_time/healthy_deadline.
import { describe, expect, it } from 'vitest';
import { healthGate, type Clock } from '../../../plugins-builtin/deploy/health-gate.js';
import type { HealthProbe } from '../../../plugins-builtin/deploy/health-check-kind.js';

function fakeClock(): Clock & { t: number } {
  const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (c.t += ms) };
  return c;
}

/** A probe answering from a function of the fake time. */
const probeAt = (c: { t: number }, state: (t: number) => HealthProbe['state']) => async (): Promise<HealthProbe> => ({
  state: state(c.t),
  detail: `t=${c.t}`,
  ms: 0,
});

const timing = { intervalMs: 10_000, timeoutMs: 1000, retries: 3, startPeriodMs: 0, startIntervalMs: 1000 };

describe('healthGate', () => {
  it('probes at once: a healthy service passes at t=0 without min_healthy_time', async () => {
    const c = fakeClock();
    const r = await healthGate(
      probeAt(c, () => 'healthy'),
      { timing, minHealthyMs: 0, deadlineMs: 60_000 },
      c,
    );
    expect(r).toEqual({
      ok: true,
      reason: 'healthy (t=0)',
      probes: [{ atMs: 0, state: 'healthy', detail: 't=0', counted: false }],
    });
  });

  it('fails after `retries` failed probes in a row, one interval apart', async () => {
    const c = fakeClock();
    const r = await healthGate(
      probeAt(c, () => 'unhealthy'),
      { timing, minHealthyMs: 0, deadlineMs: 600_000 },
      c,
    );
    expect(r.ok).toBe(false);
    expect(r.probes.map((p) => p.atMs)).toEqual([0, 10_000, 20_000]);
    expect(r.reason).toBe('unhealthy: 3 failed probes in a row (retries 3); last: t=20000');
  });

  it('start_period: failures do not count, probes come every start_interval; then healthy', async () => {
    const c = fakeClock();
    const r = await healthGate(
      probeAt(c, (t) => (t >= 4000 ? 'healthy' : 'unhealthy')),
      { timing: { ...timing, startPeriodMs: 5000 }, minHealthyMs: 0, deadlineMs: 60_000 },
      c,
    );
    expect(r.ok).toBe(true);
    expect(r.probes.map((p) => [p.atMs, p.state, p.counted])).toEqual([
      [0, 'unhealthy', false],
      [1000, 'unhealthy', false],
      [2000, 'unhealthy', false],
      [3000, 'unhealthy', false],
      [4000, 'healthy', false],
    ]);
  });

  it('min_healthy_time: must stay up that long; a failure in between starts it over', async () => {
    const c = fakeClock();
    const r = await healthGate(
      probeAt(c, (t) => (t === 10_000 ? 'unhealthy' : 'healthy')),
      { timing, minHealthyMs: 15_000, deadlineMs: 120_000 },
      c,
    );
    expect(r.ok).toBe(true);
    expect(r.probes.map((p) => [p.atMs, p.state])).toEqual([
      [0, 'healthy'],
      [10_000, 'unhealthy'],
      [20_000, 'healthy'],
      [30_000, 'healthy'],
      [35_000, 'healthy'],
    ]);
    expect(r.reason).toBe('healthy (t=35000) for 15s');
  });

  it('healthy_deadline: a service that never stays up long enough fails at the deadline', async () => {
    const c = fakeClock();
    const r = await healthGate(
      probeAt(c, (t) => ((t / 10_000) % 2 ? 'unhealthy' : 'healthy')),
      { timing: { ...timing, retries: 5 }, minHealthyMs: 15_000, deadlineMs: 40_000 },
      c,
    );
    expect(r.ok).toBe(false);
    expect(r.probes[r.probes.length - 1]!.atMs).toBe(40_000);
    expect(r.reason).toBe('not healthy for 15s within healthy_deadline 40s; last: healthy (t=40000)');
  });

  it("degraded counts as up (Consul's warning)", async () => {
    const c = fakeClock();
    expect(
      (
        await healthGate(
          probeAt(c, () => 'degraded'),
          { timing, minHealthyMs: 0, deadlineMs: 1000 },
          c,
        )
      ).ok,
    ).toBe(true);
  });
});
