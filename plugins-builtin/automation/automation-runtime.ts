/**
 * The automation plugin put together for one process: the runner over the configured tasks
 * (each phase invoked as its `automation-task` contribution, so a third party's task runs in
 * its sandbox), recording into the history store and moving the daemon's metrics; and, inside
 * cx-ops daemon, the scheduler as a `daemon-service` (started when the daemon starts, stopped
 * when it stops or reloads; OnShutdown tasks are `cx-ops automation shutdown`'s, run by
 * cx-ops-shutdown.service).
 */
import { automationTaskKind, CxError, defineContribution, type PluginContext } from 'cx-ops/sdk';
import { realClock, type Clock } from '../daemon/scheduler.js';
import { parseDuration } from '../daemon/duration.js';
import { recordMetrics, type MetricSample } from '../daemon/metric-kind.js';
import { loadPlan, type AutomationConfig, type AutomationPlan } from './automation-config.js';
import { hostProbe } from './conditions.js';
import { loadTaskStates, markInterrupted, saveTaskState, storeRecorder } from './execution-store.js';
import type { TaskExecution } from './task-execution.js';
import { TaskRunner } from './task-runner.js';
import { TaskScheduler } from './task-scheduler.js';

export const METRICS = {
  executions: 'cx_ops_automation_executions_total',
  duration: 'cx_ops_automation_duration_seconds',
  spaceFreed: 'cx_ops_automation_space_freed_bytes_total',
  filesBackedUp: 'cx_ops_automation_files_backed_up_total',
  updatesInstalled: 'cx_ops_automation_updates_installed_total',
} as const;

/** The metric samples of one finished execution. */
export function executionSamples(e: TaskExecution): MetricSample[] {
  const task = { task: e.task_id };
  const out: MetricSample[] = [{ metric: METRICS.executions, labels: { ...task, status: e.status }, inc: 1 }];
  if (e.duration_ms !== null) out.push({ metric: METRICS.duration, labels: task, observe: e.duration_ms / 1000 });
  const r = e.resources_used;
  if (r.disk_space_freed) out.push({ metric: METRICS.spaceFreed, labels: task, inc: r.disk_space_freed });
  if (r.files_backed_up) out.push({ metric: METRICS.filesBackedUp, labels: task, inc: r.files_backed_up });
  if (r.updates_installed) out.push({ metric: METRICS.updatesInstalled, labels: task, inc: r.updates_installed });
  return out;
}

/** The host name the randomized delay derives from. */
export async function hostName(ctx: PluginContext<AutomationConfig>): Promise<string> {
  if (ctx.config.host) return ctx.config.host;
  return (await ctx.fs.readFile('/proc/sys/kernel/hostname').catch(() => 'localhost')).trim() || 'localhost';
}

/** A runner for `plan` in this process, recording into the history store. */
export function makeRunner(
  ctx: PluginContext<AutomationConfig>,
  plan: AutomationPlan,
  o: {
    clock?: Clock;
    onFinish?: (e: TaskExecution) => void;
    onStarted?: (e: TaskExecution, latencyMs: number | null) => void;
  } = {},
): TaskRunner {
  const c = plan.config;
  return new TaskRunner({
    clock: o.clock ?? realClock,
    tasks: plan.tasks,
    maxConcurrent: c.max_concurrent_tasks,
    maxQueued: c.scheduling.max_queued_tasks,
    priorityScheduling: c.scheduling.priority_scheduling,
    backoffMs: parseDuration(c.retry_backoff) ?? 30_000,
    backoffMaxMs: parseDuration(c.retry_backoff_max) ?? 1_800_000,
    invoke: (task, input, timeoutMs) =>
      ctx.registry.invoke(automationTaskKind, task.type, input, { timeoutMs: timeoutMs + 1000, dryRun: input.dry_run }),
    recorder: storeRecorder(ctx, c.history_per_task, (e) => {
      void recordMetrics(ctx, executionSamples(e)).catch(() => undefined);
      o.onFinish?.(e);
    }),
    onStarted: o.onStarted,
    // One run of a task per host, across processes (the daemon and automation run).
    exclusive: async (task) => {
      try {
        const lock = await ctx.lock(`automation-${task.id}`, { what: `automation task ${task.id}` });
        return () => lock.release();
      } catch (e) {
        if (e instanceof CxError && e.code === 'CX_ERR_STATE_LOCKED')
          return `it is running in another process (pid ${String(e.params.pid)}${e.params.command ? `, ${String(e.params.command)}` : ''})`;
        throw e;
      }
    },
  });
}

interface Running {
  scheduler: TaskScheduler;
  runner: TaskRunner;
  plan: AutomationPlan;
}
let running: Running | undefined;

/** What the scheduler in this process is doing (the dashboard panel), or undefined outside the daemon. */
export function runningAutomation(): Running | undefined {
  return running;
}

async function bootId(ctx: PluginContext<unknown>): Promise<string | undefined> {
  return (await ctx.fs.readFile('/proc/sys/kernel/random/boot_id').catch(() => '')).trim() || undefined;
}

async function startScheduler(ctx: PluginContext<AutomationConfig>): Promise<string[]> {
  const plan = await loadPlan(ctx);
  const said: string[] = [];
  const interrupted = await markInterrupted(ctx);
  for (const e of interrupted)
    said.push(`${e.task_id}: execution ${e.execution_id} was interrupted; its run is caught up by its policy`);
  if (!ctx.config.enabled) return [...said, 'automation.enabled is false: no task is scheduled'];
  const runner = makeRunner(ctx, plan);
  const states = await loadTaskStates(ctx);
  const scheduler = new TaskScheduler({
    clock: realClock,
    tasks: plan.tasks,
    host: await hostName(ctx),
    states,
    staggerMs: parseDuration(plan.config.scheduling.catch_up_stagger) ?? 30_000,
    checkIntervalMs: parseDuration(plan.config.scheduling.check_interval) ?? 60_000,
    probe: hostProbe(ctx),
    bootId: await bootId(ctx),
    dispatch: (p) =>
      void runner
        .submit({ task: p.task, trigger: p.trigger, due: p.due, planned: p.start })
        .catch((e: unknown) =>
          ctx.log.error(`task '${p.task}' could not run: ${e instanceof Error ? e.message : String(e)}`),
        ),
    save: (task, patch) => void saveTaskState(ctx, task, patch).catch(() => undefined),
    onMissed: (task, missed, policy) =>
      ctx.log.info(`${task}: ${missed.length} missed run(s) not caught up (catch_up: ${policy})`, {
        task,
        missed: missed.map((m) => new Date(m).toISOString()),
      }),
    onConditionError: (task, message) => ctx.log.warn(`${task}: its condition could not be evaluated: ${message}`),
  });
  scheduler.start();
  running = { scheduler, runner, plan };
  return [...said, `${plan.tasks.filter((t) => t.enabled).length} task(s) scheduled`];
}

function stopScheduler(): string[] {
  const r = running;
  running = undefined;
  if (!r) return [];
  // OnShutdown tasks are not run here: the daemon's unit keeps the system read-only, and a
  // daemon restart is no shutdown — cx-ops-shutdown.service runs `cx-ops automation shutdown`.
  r.scheduler.stop();
  return [];
}

/** Kind daemon-service: the scheduler inside cx-ops daemon. */
export const schedulerService = defineContribution(
  'daemon-service',
  'automation-scheduler',
  { description: 'schedules the tasks of config.yaml automation.tasks' },
  async (ctx, input) => {
    const c = ctx as PluginContext<AutomationConfig>;
    const stop = Boolean(input && typeof input === 'object' && !Array.isArray(input) && input.stop);
    const said = stop ? stopScheduler() : await startScheduler(c);
    return { events: said.map((message) => ({ level: 'info', message })) };
  },
);
