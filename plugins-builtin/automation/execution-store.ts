/**
 * The automation plugin's records in the daemon's one history store (kind `history-state`):
 * each attempt as `exec/<task>/<start ms>-<execution id>` (written Running when it starts,
 * rewritten when it ends; the newest history_per_task kept), each task's scheduling state as
 * `task/<id>`, and an event per finished run (`automation_task_success`, `_failed`, `_skipped`,
 * `_interrupted`, the daemon's `<plugin>_<what>` types: what `cx-ops history` and a rule over
 * events see). An execution left Running by
 * a process that is gone (kill -9, power loss) is marked Interrupted by the next process that
 * looks (`markInterrupted`), and its due time does not count as done, so the catch-up policy
 * runs it again.
 */
import { TASK_STATUSES, type Json, type PluginContext } from 'cx-ops/sdk';
import { historyStateKind, type StateInput } from '../daemon/state-kind.js';
import type { TaskExecution } from './task-execution.js';
import type { ExecutionRecorder } from './task-runner.js';
import type { TaskRunState } from './task-scheduler.js';

type StateEvent = NonNullable<StateInput['events']>[number];

/** The types of the events automation records, one per finished status (an alert rule's `event:` names them). */
export const AUTOMATION_EVENT_TYPES = TASK_STATUSES.filter((s) => s !== 'Pending' && s !== 'Running').map(
  (s) => `automation_task_${s.toLowerCase()}`,
);

const execKey = (e: TaskExecution) =>
  `exec/${e.task_id}/${String(Date.parse(e.start_time)).padStart(15, '0')}-${e.execution_id}`;

async function state(ctx: PluginContext<unknown>, input: Omit<StateInput, 'plugin'>) {
  return ctx.registry.invoke(historyStateKind, 'state', { plugin: ctx.plugin, ...input });
}

/** Every recorded execution (of `task`, or all), oldest first. */
export async function loadExecutions(ctx: PluginContext<unknown>, task?: string): Promise<TaskExecution[]> {
  const out = await state(ctx, { get: task ? `exec/${task}/` : 'exec/' });
  return out.entries
    .map((e) => e.value as unknown as TaskExecution)
    .sort((a, b) => a.start_time.localeCompare(b.start_time) || a.execution_id.localeCompare(b.execution_id));
}

/** Each task's scheduling state. */
export async function loadTaskStates(ctx: PluginContext<unknown>): Promise<Map<string, TaskRunState>> {
  const out = await state(ctx, { get: 'task/' });
  return new Map(out.entries.map((e) => [e.key.slice(5), e.value as unknown as TaskRunState]));
}

/** Merges `patch` into a task's state. */
export async function saveTaskState(
  ctx: PluginContext<unknown>,
  task: string,
  patch: Partial<TaskRunState>,
): Promise<void> {
  const cur = (await loadTaskStates(ctx)).get(task) ?? {};
  await state(ctx, { put: [{ key: `task/${task}`, value: { ...cur, ...patch } as unknown as Json }] });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const finishedEvent = (e: TaskExecution): StateEvent => ({
  level: e.status === 'Failed' || e.status === 'Interrupted' ? 'error' : e.status === 'Skipped' ? 'warn' : 'info',
  type: `automation_task_${e.status.toLowerCase()}`,
  message: `${e.task_id}: ${e.status}${e.error ? `: ${e.error}` : e.output ? `: ${e.output.split('\n')[0]}` : ''}`,
  data: {
    task: e.task_id,
    type: e.type,
    status: e.status,
    execution_id: e.execution_id,
    trigger: e.trigger.type,
    attempt: e.attempt,
    duration_ms: e.duration_ms,
    ...(e.error ? { error: e.error } : {}),
  },
});

/**
 * Marks executions left Running by a dead process as Interrupted (recorded, with an event).
 * Returns them.
 */
export async function markInterrupted(ctx: PluginContext<unknown>, now = Date.now()): Promise<TaskExecution[]> {
  const gone = (await loadExecutions(ctx)).filter(
    (e) => e.status === 'Running' && e.pid !== process.pid && !alive(e.pid),
  );
  if (!gone.length || ctx.env.dryRun) return [];
  const fixed = gone.map((e) => ({
    ...e,
    status: 'Interrupted' as const,
    end_time: new Date(now).toISOString(),
    error: `interrupted: process ${e.pid} ended while the task ran (killed, crashed or the host went down)`,
  }));
  await state(ctx, {
    put: fixed.map((e) => ({ key: execKey(e), value: e as unknown as Json })),
    events: fixed.map(finishedEvent),
  });
  return fixed;
}

/**
 * Records into the history store; keeps the newest `keep` executions of each task. A dry run's
 * executions are not written (a dry run changes nothing, the history store included).
 */
export function storeRecorder(
  ctx: PluginContext<unknown>,
  keep: number,
  onFinish?: (e: TaskExecution) => void,
): ExecutionRecorder {
  return {
    async start(e) {
      if (e.dry_run) return;
      await state(ctx, { put: [{ key: execKey(e), value: e as unknown as Json }] });
    },
    async finish(e) {
      if (e.dry_run) return onFinish?.(e);
      const put: StateInput['put'] = [{ key: execKey(e), value: e as unknown as Json }];
      // A run counts as done when it ended (not when it started): the catch-up anchor moves now.
      if (e.status !== 'Interrupted' && !e.dry_run && e.due_time && e.trigger.type === 'Scheduled') {
        const cur = (await loadTaskStates(ctx)).get(e.task_id) ?? {};
        const due = Date.parse(e.due_time);
        put.push({
          key: `task/${e.task_id}`,
          value: {
            ...cur,
            last_due: Math.max(due, cur.last_due ?? 0),
            last_finished: Date.parse(e.end_time ?? e.start_time),
            last_status: e.status,
          } as unknown as Json,
        });
      }
      const keys = (await state(ctx, { get: `exec/${e.task_id}/` })).entries.map((x) => x.key);
      for (const k of keys.slice(0, Math.max(0, keys.length + 1 - keep)))
        if (k !== put[0]!.key) put.push({ key: k, value: null });
      await state(ctx, { put, events: [finishedEvent(e)] });
      onFinish?.(e);
    },
  };
}
