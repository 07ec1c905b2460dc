/**
 * Runs tasks: a request for task T runs T's prerequisites first (the DAG, fan-in: a task waits for
 * all of its prerequisites), at most max_concurrent_tasks at once, ready tasks ordered by
 * priority (critical … background) then by arrival, at most max_queued_tasks waiting. Each run
 * asks `can_execute` (false: Skipped with the reason), then `execute` under the task's timeout
 * (a run past it is Failed and stopped: the task gets its deadline for the programs it starts,
 * a sandboxed call is killed by the kernel), then `rollback` after a failure. A failure is
 * retried max_retries times with exponential backoff (doubling, capped); when a prerequisite
 * does not succeed, its dependents are Skipped saying which and why. A task still running when
 * it is due again is Skipped and recorded (overlap: skip) or waits (overlap: queue). Every
 * attempt is recorded as the seed's TaskExecution when it starts (Running) and when it ends.
 * Time comes from the given clock, so tests drive timeouts and backoff without sleeping.
 */
import type { SystemChange, TaskAnswer, TaskInput, TaskOutcome, TaskStatus, TriggerSource } from 'cx-ops/sdk';
import { TASK_PRIORITIES } from 'cx-ops/sdk';
import type { Clock } from '../daemon/scheduler.js';
import { formatDuration } from '../daemon/duration.js';
import type { ResolvedTask } from './automation-config.js';
import { closureOf } from './task-graph.js';
import type { TaskExecution } from './task-execution.js';

export interface RunRequest {
  task: string;
  trigger: TriggerSource;
  /** The scheduled time this run is for. */
  due?: number;
  /** When the scheduler meant it to start (for the dispatch latency). */
  planned?: number;
  /** Run the prerequisites first (default true). */
  withPrerequisites?: boolean;
  dryRun?: boolean;
}

export interface ExecutionRecorder {
  start(e: TaskExecution): Promise<void>;
  finish(e: TaskExecution): Promise<void>;
}

export interface RunnerOptions {
  clock: Clock;
  tasks: ResolvedTask[];
  maxConcurrent: number;
  maxQueued: number;
  priorityScheduling: boolean;
  backoffMs: number;
  backoffMaxMs: number;
  /** Calls one phase of the task's contribution. */
  invoke(task: ResolvedTask, input: TaskInput, timeoutMs: number): Promise<TaskAnswer>;
  recorder: ExecutionRecorder;
  /**
   * Takes a task's cross-process lock before a run (another process — the daemon, `automation
   * run` — running the same task): resolves a release, or a string saying who holds it.
   */
  exclusive?(task: ResolvedTask): Promise<(() => Promise<void>) | string>;
  /** After a run started: how late it started against its planned time. */
  onStarted?(e: TaskExecution, latencyMs: number | null): void;
}

interface Node {
  task: ResolvedTask;
  group: Group;
  waitingFor: Set<string>;
  state: 'waiting' | 'ready' | 'running' | 'retry' | 'done';
  attempt: number;
  seq: number;
  result?: TaskExecution;
}

interface Group {
  req: RunRequest;
  nodes: Map<string, Node>;
  done: (execs: TaskExecution[]) => void;
  execs: TaskExecution[];
}

const RANK = new Map<string, number>(TASK_PRIORITIES.map((p, i) => [p, i]));
let counter = 0;

/** The task runs in another process (its lock is held): the run is Skipped, as an overlap. */
class OverlapError extends Error {}

/** A new execution id: time, task, and enough randomness to be unique across processes. */
export function executionId(task: string, now: number): string {
  counter = (counter + 1) % 1296;
  return `${now.toString(36)}-${counter.toString(36).padStart(2, '0')}${Math.random().toString(36).slice(2, 6)}-${task}`;
}

const isOutcome = (a: unknown): a is TaskOutcome =>
  Boolean(a) && typeof a === 'object' && ['Success', 'Failed', 'Skipped'].includes((a as TaskOutcome).status);

export class TaskRunner {
  private readonly byId: Map<string, ResolvedTask>;
  private readonly ready: Node[] = [];
  private readonly running = new Map<string, Node>();
  private waiting = 0;
  private seq = 0;

  constructor(private readonly o: RunnerOptions) {
    this.byId = new Map(o.tasks.map((t) => [t.id, t]));
  }

  /** Task ids running now. */
  runningNow(): string[] {
    return [...this.running.keys()];
  }

  /** Tasks waiting (queued or for a prerequisite or a retry). */
  queued(): number {
    return this.waiting;
  }

  /** Runs the task (with its prerequisites); resolves with every execution recorded for the request. */
  submit(req: RunRequest): Promise<TaskExecution[]> {
    const root = this.byId.get(req.task);
    if (!root) return Promise.reject(new Error(`no configured task '${req.task}'`));
    const ids =
      req.withPrerequisites === false
        ? [root.id]
        : closureOf(root.id, new Map([...this.byId].map(([k, t]) => [k, t.prerequisites])));
    return new Promise((resolve) => {
      const group: Group = { req, nodes: new Map(), done: resolve, execs: [] };
      if (this.waiting + ids.length > this.o.maxQueued) {
        void this.skipNow(
          group,
          root,
          `the queue is full (${this.waiting} waiting, max_queued_tasks ${this.o.maxQueued})`,
        ).then(() => resolve(group.execs));
        return;
      }
      for (const id of ids) {
        const task = this.byId.get(id)!;
        const inGroup = new Set(ids);
        group.nodes.set(id, {
          task,
          group,
          waitingFor: new Set(req.withPrerequisites === false ? [] : task.prerequisites.filter((p) => inGroup.has(p))),
          state: 'waiting',
          attempt: 1,
          seq: this.seq++,
        });
        this.waiting++;
      }
      for (const n of group.nodes.values()) if (!n.waitingFor.size) this.makeReady(n);
      this.pump();
    });
  }

  private makeReady(n: Node): void {
    n.state = 'ready';
    this.ready.push(n);
  }

  private better(a: Node, b: Node): boolean {
    if (this.o.priorityScheduling) {
      const d = RANK.get(a.task.priority)! - RANK.get(b.task.priority)!;
      if (d) return d < 0;
    }
    return a.seq < b.seq;
  }

  /** Starts ready runs while slots are free. */
  private pump(): void {
    for (;;) {
      if (this.running.size >= this.o.maxConcurrent) {
        // A run that overlaps its own task is settled even when every slot is taken.
        const clash = this.ready.findIndex((n) => this.running.has(n.task.id) && n.task.overlap === 'skip');
        if (clash < 0) return;
        this.overlapSkip(this.ready.splice(clash, 1)[0]!);
        continue;
      }
      let best = -1;
      for (let i = 0; i < this.ready.length; i++) {
        const n = this.ready[i]!;
        if (this.running.has(n.task.id) && n.task.overlap === 'queue') continue;
        if (best < 0 || this.better(n, this.ready[best]!)) best = i;
      }
      if (best < 0) return;
      const n = this.ready.splice(best, 1)[0]!;
      if (this.running.has(n.task.id)) this.overlapSkip(n);
      else void this.run(n);
    }
  }

  private overlapSkip(n: Node): void {
    const other = this.running.get(n.task.id)!;
    void this.settle(
      n,
      this.skipped(n, `the previous run (${other.result?.execution_id ?? 'starting'}) is still going (overlap: skip)`),
    );
  }

  private base(n: Node | { task: ResolvedTask; group: Group; attempt: number }, status: TaskStatus): TaskExecution {
    const now = this.o.clock.now();
    const isRoot = n.task.id === n.group.req.task;
    return {
      execution_id: executionId(n.task.id, now),
      task_id: n.task.id,
      type: n.task.type,
      task_type: n.task.task_type,
      trigger: isRoot
        ? n.group.req.trigger
        : { type: n.group.req.trigger.type, detail: `prerequisite of ${n.group.req.task}` },
      due_time: isRoot && n.group.req.due !== undefined ? new Date(n.group.req.due).toISOString() : null,
      start_time: new Date(now).toISOString(),
      end_time: null,
      status,
      attempt: n.attempt,
      output: '',
      error: null,
      duration_ms: null,
      resources_used: {
        cpu_ms: 0,
        cx_ops_cpu_ms: 0,
        max_rss_kb: 0,
        max_rss_of: 'cx-ops',
        programs_measured: 0,
        disk_space_freed: 0,
        files_backed_up: 0,
        updates_installed: 0,
      },
      changes_made: [],
      rollback: null,
      dry_run: Boolean(n.group.req.dryRun),
      pid: process.pid,
      details: {},
    };
  }

  private skipped(n: Node, why: string): TaskExecution {
    const e = this.base(n, 'Skipped');
    e.end_time = e.start_time;
    e.duration_ms = 0;
    e.output = `skipped: ${why}`;
    e.error = why;
    return e;
  }

  private async skipNow(group: Group, task: ResolvedTask, why: string): Promise<void> {
    const e = this.skipped({ task, group, attempt: 1, state: 'done', waitingFor: new Set(), seq: 0 }, why);
    group.execs.push(e);
    await this.o.recorder.start(e);
    await this.o.recorder.finish(e);
  }

  /** Waits `ms` on the runner's clock. */
  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.o.clock.setTimeout(r, ms));
  }

  /** One phase under a deadline on the runner's clock. */
  private async phase(
    n: Node,
    e: TaskExecution,
    input: Omit<TaskInput, 'task_id' | 'execution_id' | 'trigger' | 'config' | 'dry_run' | 'deadline_ms'>,
    ms: number,
  ) {
    let timer: unknown;
    const deadline = new Promise<'timeout'>((r) => (timer = this.o.clock.setTimeout(() => r('timeout'), ms)));
    const full: TaskInput = {
      ...input,
      task_id: n.task.id,
      execution_id: e.execution_id,
      trigger: e.trigger,
      config: n.task.config,
      dry_run: e.dry_run,
      deadline_ms: this.o.clock.now() + ms,
    };
    try {
      return await Promise.race([this.o.invoke(n.task, full, ms), deadline]);
    } finally {
      this.o.clock.clearTimeout(timer);
    }
  }

  private async run(n: Node): Promise<void> {
    n.state = 'running';
    this.running.set(n.task.id, n);
    this.waiting--;
    const e = this.base(n, 'Running');
    n.result = e;
    const started = this.o.clock.now();
    const cpu0 = process.cpuUsage();
    // Like finish below: a record that cannot be written does not stop the run (nor the process).
    await this.o.recorder.start(e).catch(() => undefined);
    const planned = n.task.id === n.group.req.task && n.attempt === 1 ? n.group.req.planned : undefined;
    this.o.onStarted?.(e, planned === undefined ? null : started - planned);
    const held =
      e.dry_run || !this.o.exclusive ? undefined : await this.o.exclusive(n.task).catch((x: unknown) => String(x));
    try {
      if (typeof held === 'string') throw new OverlapError(held);
      const can = await this.phase(n, e, { phase: 'can_execute' }, Math.min(60_000, n.task.timeout_ms));
      const answer = can as { ok?: unknown; reason?: unknown } | 'timeout';
      if (answer === 'timeout' || answer.ok !== true) {
        e.status = 'Skipped';
        e.error =
          answer === 'timeout' ? 'can_execute did not answer in time' : String(answer.reason ?? 'can_execute said no');
        e.output = `skipped: ${e.error}`;
      } else {
        const out = await this.phase(n, e, { phase: 'execute' }, n.task.timeout_ms);
        if (out === 'timeout') {
          e.status = 'Failed';
          e.error = `stopped: it passed its timeout of ${formatDuration(n.task.timeout_ms)}`;
        } else if (!isOutcome(out)) {
          e.status = 'Failed';
          e.error = `task type '${n.task.type}' answered no TaskOutcome ({ status: Success|Failed|Skipped, output })`;
        } else {
          e.status = out.status;
          e.output = String(out.output ?? '');
          e.error = out.error ?? null;
          e.changes_made = Array.isArray(out.changes_made) ? (out.changes_made as SystemChange[]) : [];
          e.details = out.details ?? {};
          const r = out.resources ?? {};
          e.resources_used.disk_space_freed = Number(r.disk_space_freed) || 0;
          e.resources_used.files_backed_up = Number(r.files_backed_up) || 0;
          e.resources_used.updates_installed = Number(r.updates_installed) || 0;
          e.resources_used.cpu_ms = Math.max(0, Number(r.programs_cpu_ms) || 0);
          e.resources_used.max_rss_kb = Math.max(0, Number(r.programs_max_rss_kb) || 0);
          e.resources_used.programs_measured = Math.max(0, Math.floor(Number(r.programs_measured) || 0));
        }
      }
    } catch (err) {
      e.status = err instanceof OverlapError ? 'Skipped' : 'Failed';
      e.error = err instanceof Error ? err.message : String(err);
      if (err instanceof OverlapError) e.output = `skipped: ${e.error}`;
    } finally {
      if (typeof held === 'function') await held().catch(() => undefined);
    }
    if (e.status === 'Failed') {
      try {
        const rb = await this.phase(
          n,
          e,
          { phase: 'rollback', changes: e.changes_made },
          Math.min(300_000, n.task.timeout_ms),
        );
        e.rollback =
          rb === 'timeout' ? 'rollback did not finish in time' : String((rb as { output?: unknown }).output ?? '');
      } catch (err) {
        e.rollback = `rollback failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    const cpu = process.cpuUsage(cpu0);
    e.resources_used.cx_ops_cpu_ms = Math.round((cpu.user + cpu.system) / 1000);
    e.resources_used.cpu_ms += e.resources_used.cx_ops_cpu_ms;
    if (e.resources_used.programs_measured > 0) e.resources_used.max_rss_of = 'programs';
    else e.resources_used.max_rss_kb = process.resourceUsage().maxRSS;
    const ended = this.o.clock.now();
    e.end_time = new Date(ended).toISOString();
    e.duration_ms = ended - started;
    this.running.delete(n.task.id);
    await this.o.recorder.finish(e).catch(() => undefined);
    n.group.execs.push(e);
    if (e.status === 'Failed' && n.attempt <= n.task.max_retries) {
      n.state = 'retry';
      this.waiting++;
      this.pump();
      await this.sleep(Math.min(this.o.backoffMs * 2 ** (n.attempt - 1), this.o.backoffMaxMs));
      n.attempt++;
      this.makeReady(n);
      this.pump();
      return;
    }
    await this.settle(n, e);
  }

  /** A node's final result: dependents become ready, or are Skipped when it did not succeed. */
  private async settle(n: Node, e: TaskExecution): Promise<void> {
    if (n.state !== 'running' && n.state !== 'retry') {
      // Settled without running (overlap skip): it was counted as waiting.
      if (n.state !== 'done') this.waiting--;
      if (!n.group.execs.includes(e)) {
        n.group.execs.push(e);
        await this.o.recorder.start(e);
        await this.o.recorder.finish(e);
      }
    } else if (n.state === 'retry') this.waiting--;
    n.state = 'done';
    n.result = e;
    for (const d of n.group.nodes.values()) {
      if (d.state !== 'waiting' || !d.waitingFor.has(n.task.id)) continue;
      if (e.status === 'Success') {
        d.waitingFor.delete(n.task.id);
        if (!d.waitingFor.size) this.makeReady(d);
      } else {
        await this.settle(
          d,
          this.skipped(d, `prerequisite '${n.task.id}' ended ${e.status}${e.error ? `: ${e.error}` : ''}`),
        );
      }
    }
    if ([...n.group.nodes.values()].every((x) => x.state === 'done')) n.group.done(n.group.execs);
    this.pump();
  }
}
