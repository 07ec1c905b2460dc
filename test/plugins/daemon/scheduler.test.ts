/** The daemon's scheduler under fake timers: fixed rate, skip-and-count, throw and deadline isolation, grace on stop. */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { Scheduler, type Clock, type SchedulerEvent } from '../../../plugins-builtin/daemon/scheduler.js';

const clock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('Scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('runs at a fixed rate from the start, whatever each run takes', async () => {
    const starts: number[] = [];
    const s = new Scheduler(undefined, clock);
    s.add({
      id: 'j',
      plugin: 'p',
      intervalMs: 1000,
      deadlineMs: 900,
      run: async () => {
        starts.push(Date.now());
        await sleep(300);
      },
    });
    s.start();
    await vi.advanceTimersByTimeAsync(3500);
    expect(starts).toEqual([0, 1000, 2000, 3000]);
    expect(await s.stop(1000)).toBe(true);
  });

  test('a run still going at its next tick is not overlapped: the tick is skipped and counted', async () => {
    const events: SchedulerEvent[] = [];
    let running = 0;
    let most = 0;
    const s = new Scheduler((e) => events.push(e), clock);
    s.add({
      id: 'slow',
      plugin: 'p',
      intervalMs: 1000,
      deadlineMs: 5000,
      run: async () => {
        running++;
        most = Math.max(most, running);
        await sleep(2500);
        running--;
      },
    });
    s.start();
    await vi.advanceTimersByTimeAsync(6100);
    expect(most).toBe(1);
    const st = s.stats()[0]!;
    expect(st.skipped).toBe(4); // ticks 1, 2 (during run 0-2500), 4, 5 (during run 3000-5500)
    expect(st.runs).toBe(2);
    expect(events.filter((e) => e.type === 'job_skipped').map((e) => e.cycle)).toEqual([2, 3, 5, 6]);
    const stopped = s.stop(0);
    await vi.advanceTimersByTimeAsync(10);
    expect(await stopped).toBe(false);
  });

  test('a run that throws or hangs past its deadline is reported, and the next tick is on time', async () => {
    const events: SchedulerEvent[] = [];
    const s = new Scheduler((e) => events.push(e), clock);
    const starts: number[] = [];
    let n = 0;
    s.add({
      id: 'bad',
      plugin: 'flaky',
      intervalMs: 1000,
      deadlineMs: 500,
      run: async () => {
        starts.push(Date.now());
        n++;
        if (n === 1) throw new Error('boom');
        if (n === 2) await new Promise(() => undefined); // never settles
      },
    });
    s.start();
    await vi.advanceTimersByTimeAsync(2600);
    expect(starts).toEqual([0, 1000, 2000]);
    expect(events.filter((e) => e.type !== 'job_start')).toEqual([
      { type: 'job_failed', job: 'bad', plugin: 'flaky', cycle: 1, duration_ms: 0, error: 'boom' },
      { type: 'job_timeout', job: 'bad', plugin: 'flaky', cycle: 2, deadline_ms: 500 },
      { type: 'job_end', job: 'bad', plugin: 'flaky', cycle: 3, duration_ms: 0 },
    ]);
    expect(s.stats()[0]).toMatchObject({ runs: 3, failures: 1, timeouts: 1, skipped: 0, last_error: null });
    await s.stop(0);
  });

  test('a late timer (suspend, stopped process) skips the missed ticks instead of bursting', async () => {
    const starts: number[] = [];
    const s = new Scheduler(undefined, clock);
    s.add({
      id: 'j',
      plugin: 'p',
      intervalMs: 1000,
      deadlineMs: 900,
      run: async () => {
        starts.push(Date.now());
      },
    });
    s.start();
    await vi.advanceTimersByTimeAsync(10);
    vi.setSystemTime(5500); // the clock jumps: ticks 1000..5000 were missed
    await vi.advanceTimersByTimeAsync(1000);
    expect(starts.length).toBeLessThanOrEqual(3);
    expect(s.stats()[0]!.skipped).toBeGreaterThanOrEqual(3);
    await s.stop(0);
  });

  test('stop waits for in-flight runs up to the grace period', async () => {
    const s = new Scheduler(undefined, clock);
    s.add({ id: 'long', plugin: 'p', intervalMs: 10_000, deadlineMs: 60_000, run: () => sleep(5000) });
    s.start();
    await vi.advanceTimersByTimeAsync(10);
    const stopped = s.stop(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await stopped).toBe(false);
    const s2 = new Scheduler(undefined, clock);
    s2.add({ id: 'short', plugin: 'p', intervalMs: 10_000, deadlineMs: 60_000, run: () => sleep(500) });
    s2.start();
    await vi.advanceTimersByTimeAsync(10);
    const stopped2 = s2.stop(1000);
    await vi.advanceTimersByTimeAsync(600);
    expect(await stopped2).toBe(true);
  });
});
