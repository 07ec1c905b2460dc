/**
 * The automation scheduler: when each configured task is due, as a function of a clock it is
 * given (tests drive a fake one; no test sleeps). On start it plans the catch-up of runs missed
 * while cx-ops was down — per task `catch_up: once` (the newest missed run), `all` (up to
 * catch_up_max) or `skip` — from the due time of the last run that *finished* (a run killed
 * midway does not count), staggered `catch_up_stagger` apart so a long outage is not a burst.
 * Then one timer is armed for the earliest start (due + fixed delay, accuracy, update window).
 * Conditions are evaluated every check_interval and fire on their rising edge only, at most
 * once per condition_cooldown. What happens at a start (overlap, queueing, the DAG) is the
 * runner's (task-runner.ts): the scheduler only says "task X, due at T, start now".
 */
import type { TriggerSource } from 'cx-ops/sdk';
import type { Clock } from '../daemon/scheduler.js';
import type { ResolvedTask } from './automation-config.js';
import { evaluateCondition, type Probe } from './conditions.js';
import { nextOccurrence, occurrencesBetween } from './schedule.js';
import { startTime } from './start-times.js';

/** What the scheduler keeps of a task across restarts (the history store's `task/<id>` entry). */
export interface TaskRunState {
  /** The due time of the last run that finished (Success, Failed, Skipped, Cancelled). */
  last_due?: number;
  last_finished?: number;
  last_status?: string;
  /** When the scheduler first saw the task (the anchor of its first interval and catch-up). */
  first_seen?: number;
  /** The boot (boot_id) an OnBoot task last ran in. */
  boot_id?: string;
  /** Conditions: whether it held at the last evaluation, and when it last fired. */
  cond_held?: boolean;
  cond_fired?: number;
}

/** A start the scheduler planned. */
export interface PlannedStart {
  task: string;
  due: number;
  start: number;
  trigger: TriggerSource;
  catch_up?: boolean;
}

export interface SchedulerOptions {
  clock: Clock;
  tasks: ResolvedTask[];
  host: string;
  states: Map<string, TaskRunState>;
  staggerMs: number;
  checkIntervalMs: number;
  probe?: Probe;
  bootId?: string;
  /** Called at each start; the runner starts (or skips, or queues) the run. */
  dispatch(p: PlannedStart): void;
  /** Called when the scheduler changes a task's state (first_seen, condition edges, boot). */
  save(task: string, patch: Partial<TaskRunState>): void;
  /** Missed runs a `catch_up: skip` (or the cap) dropped, for the record. */
  onMissed?(task: string, missed: number[], policy: string): void;
  /** A condition that could not be evaluated (said once per change of message). */
  onConditionError?(task: string, message: string): void;
}

/** The first due time of `t` after `after`; intervals count from the last due time (or when first seen), not from now. */
function nextDue(t: ResolvedTask, after: number, st: TaskRunState | undefined): number | null {
  if (t.schedule.kind !== 'interval') return nextOccurrence(t.schedule, after);
  const anchor = st?.last_due ?? st?.first_seen ?? after;
  return anchor + Math.max(1, Math.floor((after - anchor) / t.schedule.ms) + 1) * t.schedule.ms;
}

/** The plain catch-up decision for one task: which missed due times run. */
export function catchUpDues(
  task: ResolvedTask,
  state: TaskRunState | undefined,
  now: number,
): { run: number[]; dropped: number[] } {
  const anchor = state?.last_due ?? state?.first_seen;
  if (!task.persistent || anchor === undefined || (task.schedule.kind !== 'cron' && task.schedule.kind !== 'interval'))
    return { run: [], dropped: [] };
  const cap = task.catch_up === 'all' ? task.catch_up_max : 1;
  // Up to one more than catch_up_max are looked at: enough to say what was dropped, never the whole outage.
  const missed = occurrencesBetween(task.schedule, anchor, now, task.catch_up_max + 1);
  if (task.catch_up === 'skip') return { run: [], dropped: missed };
  const run = missed.slice(-cap);
  return { run, dropped: missed.slice(0, missed.length - run.length) };
}

export class TaskScheduler {
  private readonly next = new Map<string, PlannedStart>();
  private readonly queue: PlannedStart[] = [];
  private timer: unknown;
  private condTimer: unknown;
  private armedAt = Infinity;
  private stopped = true;
  private readonly condErrors = new Map<string, string>();

  private readonly byId: Map<string, ResolvedTask>;

  constructor(private readonly o: SchedulerOptions) {
    this.byId = new Map(o.tasks.map((t) => [t.id, t]));
  }

  /** Plans catch-up and the next runs, runs OnBoot tasks of a new boot, arms the timers. */
  start(): void {
    this.stopped = false;
    const now = this.o.clock.now();
    const catchUps: PlannedStart[] = [];
    for (const t of this.o.tasks) {
      if (!t.enabled) continue;
      const st = this.o.states.get(t.id);
      if (st?.first_seen === undefined && st?.last_due === undefined) this.patch(t.id, { first_seen: now });
      if (t.schedule.kind === 'boot' && this.o.bootId && st?.boot_id !== this.o.bootId) {
        this.patch(t.id, { boot_id: this.o.bootId });
        catchUps.push({ task: t.id, due: now, start: now, trigger: { type: 'Event', detail: 'OnBoot' } });
      }
      const { run, dropped } = catchUpDues(t, st, now);
      if (dropped.length) this.o.onMissed?.(t.id, dropped, t.catch_up);
      for (const due of run)
        catchUps.push({
          task: t.id,
          due,
          start: now,
          trigger: { type: 'Scheduled', detail: 'catch-up' },
          catch_up: true,
        });
      this.plan(t, Math.max(now, run.at(-1) ?? now));
    }
    // Oldest missed first, each stagger after the one before.
    catchUps.sort((a, b) => a.due - b.due || a.task.localeCompare(b.task));
    catchUps.forEach((c, i) => (c.start = now + i * this.o.staggerMs));
    this.queue.push(...catchUps);
    this.arm();
    if (this.o.probe && this.o.tasks.some((t) => t.enabled && t.schedule.kind === 'condition'))
      void this.checkConditions();
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    this.o.clock.clearTimeout(this.condTimer);
    this.armedAt = Infinity;
  }

  /** The next planned start of each task (catch-up runs included), soonest first. */
  upcoming(): PlannedStart[] {
    return [...this.queue, ...this.next.values()].sort((a, b) => a.start - b.start);
  }

  /** Evaluates every condition once (also armed every check_interval); rising edges dispatch. */
  async checkConditions(): Promise<void> {
    const probe = this.o.probe;
    if (!probe || this.stopped) return;
    this.o.clock.clearTimeout(this.condTimer);
    for (const t of this.o.tasks) {
      if (!t.enabled || t.schedule.kind !== 'condition') continue;
      let held: boolean;
      try {
        held = await evaluateCondition(t.schedule.condition, probe);
        this.condErrors.delete(t.id);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (this.condErrors.get(t.id) !== msg) this.o.onConditionError?.(t.id, msg);
        this.condErrors.set(t.id, msg);
        continue;
      }
      const st = this.o.states.get(t.id) ?? {};
      const now = this.o.clock.now();
      const rising = held && !st.cond_held;
      const cooled = st.cond_fired === undefined || now - st.cond_fired >= t.cooldown_ms;
      if (rising && cooled) {
        this.patch(t.id, { cond_held: true, cond_fired: now });
        this.o.dispatch({ task: t.id, due: now, start: now, trigger: { type: 'Condition', detail: t.schedule.text } });
      } else if (held !== Boolean(st.cond_held) && !(rising && !cooled)) this.patch(t.id, { cond_held: held });
    }
    if (!this.stopped)
      this.condTimer = this.o.clock.setTimeout(() => void this.checkConditions(), this.o.checkIntervalMs);
  }

  private patch(id: string, p: Partial<TaskRunState>): void {
    this.o.states.set(id, { ...this.o.states.get(id), ...p });
    this.o.save(id, p);
  }

  /** Plans the first occurrence of `t` after `after`. */
  private plan(t: ResolvedTask, after: number): void {
    const due = nextDue(t, after, this.o.states.get(t.id));
    if (due === null) this.next.delete(t.id);
    else
      this.next.set(t.id, { task: t.id, due, start: startTime(t, due, this.o.host), trigger: { type: 'Scheduled' } });
  }

  private arm(): void {
    if (this.stopped) return;
    let soonest = Infinity;
    for (const p of this.queue) soonest = Math.min(soonest, p.start);
    for (const p of this.next.values()) soonest = Math.min(soonest, p.start);
    if (soonest === this.armedAt) return;
    this.o.clock.clearTimeout(this.timer);
    this.armedAt = soonest;
    if (soonest === Infinity) return;
    // setTimeout holds at most 2^31-1 ms (24.8 days); a later start re-arms on the way.
    const wait = Math.min(Math.max(0, soonest - this.o.clock.now()), 2 ** 31 - 1);
    this.timer = this.o.clock.setTimeout(() => this.fire(), wait);
  }

  /** Dispatches everything whose start has come, plans each task's next run, re-arms. */
  private fire(): void {
    this.armedAt = Infinity;
    if (this.stopped) return;
    const now = this.o.clock.now();
    const due: PlannedStart[] = [];
    for (let i = this.queue.length - 1; i >= 0; i--)
      if (this.queue[i]!.start <= now) due.push(...this.queue.splice(i, 1));
    const replan: PlannedStart[] = [];
    for (const p of this.next.values()) if (p.start <= now) replan.push(p);
    due.push(...replan);
    due.sort((a, b) => a.start - b.start || a.task.localeCompare(b.task));
    // Everything due starts before the next occurrences are computed (croner's calendar walk is the slow part).
    for (const p of due) this.o.dispatch(p);
    for (const p of replan) this.plan(this.byId.get(p.task)!, p.due);
    this.arm();
  }
}

/** The next `count` starts of a task from `from` (automation next; the delay and window applied). */
export function previewStarts(t: ResolvedTask, host: string, from: number, count: number, st?: TaskRunState): number[] {
  const out: number[] = [];
  let after = from;
  for (let i = 0; i < count; i++) {
    const due = nextDue(t, after, st);
    if (due === null) break;
    out.push(startTime(t, due, host));
    after = due;
  }
  return out;
}
