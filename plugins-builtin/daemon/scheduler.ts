/**
 * The daemon's scheduler: each job runs at a fixed rate (start + n × interval, like a systemd
 * timer with AccuracySec=0), under a deadline. A run still going when its next tick comes is
 * not overlapped: that tick is skipped and counted. A run that throws or passes its deadline is
 * reported and ends there; the next tick is on time regardless. The clock is injected, so tests
 * drive it with fake timers instead of racing the wall clock.
 */

/** Time and timers (the real ones by default). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** One periodic job. */
export interface JobSpec {
  id: string;
  plugin: string;
  intervalMs: number;
  deadlineMs: number;
  /** Does the work; `cycle` counts this job's runs from 1. */
  run(cycle: number): Promise<void>;
}

export interface JobStats {
  id: string;
  plugin: string;
  interval_ms: number;
  deadline_ms: number;
  runs: number;
  skipped: number;
  failures: number;
  timeouts: number;
  running: boolean;
  last_start: number | null;
  last_end: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
}

export type SchedulerEvent =
  | { type: 'job_start'; job: string; plugin: string; cycle: number }
  | { type: 'job_end'; job: string; plugin: string; cycle: number; duration_ms: number }
  | { type: 'job_failed'; job: string; plugin: string; cycle: number; duration_ms: number; error: string }
  | { type: 'job_timeout'; job: string; plugin: string; cycle: number; deadline_ms: number }
  | { type: 'job_skipped'; job: string; plugin: string; cycle: number; skipped: number };

interface JobState {
  spec: JobSpec;
  stats: JobStats;
  firstAt: number;
  tick: number;
  timer?: unknown;
  inFlight?: Promise<void>;
}

export class Scheduler {
  private readonly jobs = new Map<string, JobState>();
  private stopped = true;

  constructor(
    private readonly onEvent: (e: SchedulerEvent) => void = () => undefined,
    private readonly clock: Clock = realClock,
  ) {}

  /** Adds a job; it first runs at once when the scheduler is (or gets) started. */
  add(spec: JobSpec): void {
    if (this.jobs.has(spec.id)) throw new Error(`job '${spec.id}' is scheduled twice`);
    const stats: JobStats = {
      id: spec.id,
      plugin: spec.plugin,
      interval_ms: spec.intervalMs,
      deadline_ms: spec.deadlineMs,
      runs: 0,
      skipped: 0,
      failures: 0,
      timeouts: 0,
      running: false,
      last_start: null,
      last_end: null,
      last_duration_ms: null,
      last_error: null,
    };
    const st: JobState = { spec, stats, firstAt: 0, tick: 0 };
    this.jobs.set(spec.id, st);
    if (!this.stopped) this.begin(st);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const st of this.jobs.values()) this.begin(st);
  }

  stats(): JobStats[] {
    return [...this.jobs.values()].map((j) => ({ ...j.stats }));
  }

  /** Stops ticking; resolves once in-flight runs ended or `graceMs` passed (true: all ended). */
  async stop(graceMs: number): Promise<boolean> {
    this.stopped = true;
    for (const st of this.jobs.values()) if (st.timer !== undefined) this.clock.clearTimeout(st.timer);
    const flying = [...this.jobs.values()].map((j) => j.inFlight).filter((p): p is Promise<void> => Boolean(p));
    if (!flying.length) return true;
    let timer: unknown;
    const timedOut = new Promise<boolean>((r) => (timer = this.clock.setTimeout(() => r(false), graceMs)));
    const done = await Promise.race([Promise.all(flying).then(() => true), timedOut]);
    this.clock.clearTimeout(timer);
    return done;
  }

  /** Runs every job once, one after another, under its deadline (`cx-ops daemon --once`). */
  async runAllOnce(): Promise<void> {
    for (const st of this.jobs.values()) {
      st.tick++;
      await this.runOnce(st, st.tick);
    }
  }

  /** Waits for the runs in flight now (tests, reload). */
  async idle(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((j) => j.inFlight));
  }

  private begin(st: JobState): void {
    st.firstAt = this.clock.now();
    st.tick = 0;
    this.fire(st);
  }

  /** One tick: run (or skip), then arm the next tick at firstAt + n × interval. */
  private fire(st: JobState): void {
    if (this.stopped) return;
    const { spec, stats } = st;
    st.tick++;
    if (st.inFlight) {
      stats.skipped++;
      this.onEvent({ type: 'job_skipped', job: spec.id, plugin: spec.plugin, cycle: st.tick, skipped: stats.skipped });
    } else {
      st.inFlight = this.runOnce(st, st.tick).finally(() => {
        st.inFlight = undefined;
      });
    }
    // Ticks already in the past (the process was stopped, the machine suspended) are skipped
    // too, each counted: a late timer never makes a burst of runs.
    const now = this.clock.now();
    let next = st.firstAt + st.tick * spec.intervalMs;
    while (next <= now - spec.intervalMs) {
      st.tick++;
      stats.skipped++;
      this.onEvent({ type: 'job_skipped', job: spec.id, plugin: spec.plugin, cycle: st.tick, skipped: stats.skipped });
      next += spec.intervalMs;
    }
    st.timer = this.clock.setTimeout(() => this.fire(st), Math.max(0, next - now));
  }

  private async runOnce(st: JobState, cycle: number): Promise<void> {
    const { spec, stats } = st;
    const start = this.clock.now();
    stats.running = true;
    stats.last_start = start;
    this.onEvent({ type: 'job_start', job: spec.id, plugin: spec.plugin, cycle });
    let timer: unknown;
    const deadline = new Promise<'timeout'>(
      (r) => (timer = this.clock.setTimeout(() => r('timeout'), spec.deadlineMs)),
    );
    const work = (async () => spec.run(cycle))().then(
      () => ({ ok: true as const }),
      (e: unknown) => ({ ok: false as const, error: e instanceof Error ? e.message : String(e) }),
    );
    const outcome = await Promise.race([work, deadline]);
    this.clock.clearTimeout(timer);
    const end = this.clock.now();
    stats.running = false;
    stats.runs++;
    stats.last_end = end;
    stats.last_duration_ms = end - start;
    if (outcome === 'timeout') {
      stats.timeouts++;
      stats.last_error = `passed its deadline of ${spec.deadlineMs / 1000}s`;
      this.onEvent({ type: 'job_timeout', job: spec.id, plugin: spec.plugin, cycle, deadline_ms: spec.deadlineMs });
    } else if (!outcome.ok) {
      stats.failures++;
      stats.last_error = outcome.error;
      this.onEvent({
        type: 'job_failed',
        job: spec.id,
        plugin: spec.plugin,
        cycle,
        duration_ms: end - start,
        error: outcome.error,
      });
    } else {
      stats.last_error = null;
      this.onEvent({ type: 'job_end', job: spec.id, plugin: spec.plugin, cycle, duration_ms: end - start });
    }
  }
}
