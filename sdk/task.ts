/**
 * Automation tasks (the seed's `AutomationTask`), for plugin authors: `defineTask` makes one
 * contribution of kind `automation-task`, which the built-in `automation` plugin declares and
 * schedules (plugins-builtin/automation). A task is plain data plus three async phases —
 * `can_execute`, `execute`, `rollback` — so a third party's task runs sandboxed like any other
 * contribution, with only the capabilities the operator granted. Types only and one function:
 * this file is bundled into sandboxed plugins.
 */
import { defineKind } from './tokens.js';
import type { Contribution, Json, PluginContext } from './types.js';

/** The seed's TaskType (a custom type is any other lower-case word). */
export type TaskType = 'maintenance' | 'backup' | 'update' | 'security' | 'optimization' | 'monitoring' | string;

/** The seed's TaskPriority: lower runs first. */
export const TASK_PRIORITIES = ['critical', 'high', 'medium', 'low', 'background'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

/** The seed's TaskStatus, plus Interrupted: a run the process died in (kill -9, power loss). */
export const TASK_STATUSES = [
  'Pending',
  'Running',
  'Success',
  'Failed',
  'Cancelled',
  'Skipped',
  'Interrupted',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The seed's TriggerSource: what started a run (`detail` names the event or condition). */
export interface TriggerSource {
  type: 'Scheduled' | 'Manual' | 'Event' | 'Condition';
  detail?: string;
}

/** The seed's SystemChange: one thing a task changed on the host. */
export interface SystemChange {
  type:
    | 'file_created'
    | 'file_modified'
    | 'file_deleted'
    | 'directory_deleted'
    | 'package_updated'
    | 'service_restarted'
    | 'command_run'
    | 'reboot_scheduled';
  /** The path, package, service or command. */
  target: string;
  detail?: string;
}

/** The seed's ResourceUsage, as far as a task measures it (the scheduler adds CPU time and RSS). */
export interface TaskResources {
  /** CPU time of the programs the task ran, ms (their `ExecResult.usage`; run them with `usage: true`). */
  programs_cpu_ms?: number;
  /** Peak RSS of the largest program the task ran, KiB (`ExecResult.usage.maxRssKb`). */
  programs_max_rss_kb?: number;
  /** How many of its programs' usage the two figures above hold. */
  programs_measured?: number;
  disk_space_freed?: number;
  files_backed_up?: number;
  updates_installed?: number;
}

/** What the scheduler hands each phase. */
export interface TaskInput {
  phase: 'can_execute' | 'execute' | 'rollback';
  /** This task's id in config.yaml (one task contribution may back several configured tasks). */
  task_id: string;
  execution_id: string;
  trigger: TriggerSource;
  /** The task's `config:` from config.yaml, checked against the task's `config_schema`. */
  config: Record<string, Json>;
  /** Report what would change, change nothing. */
  dry_run: boolean;
  /** Epoch ms by which this phase must end: give the programs it runs the time left (ExecOptions.timeoutMs). */
  deadline_ms: number;
  /** For rollback: what execute reported having changed. */
  changes?: SystemChange[];
}

/** What `execute` answers (the scheduler fills in ids, times and its own measurements). */
export interface TaskOutcome {
  status: 'Success' | 'Failed' | 'Skipped';
  output: string;
  error?: string;
  changes_made?: SystemChange[];
  resources?: TaskResources;
  /** Task-specific data shown by `automation status` (e.g. the backup's directory). */
  details?: Record<string, Json>;
}

/** The answer of each phase: can_execute { ok, reason? }, execute TaskOutcome, rollback { ok, output }. */
export type TaskAnswer = TaskOutcome | { ok: boolean; reason?: string; output?: string };

/** Kind `automation-task` (declared by the automation plugin; this token types its contributions). */
export const automationTaskKind = defineKind<TaskInput, TaskAnswer>('automation-task', {
  description:
    'A task the automation plugin schedules: id = the type config.yaml names; meta { name, description, task_type, priority, estimated_duration_seconds, prerequisites, config_schema }; input { phase: can_execute|execute|rollback, task_id, execution_id, trigger, config, dry_run }',
  metaSchema: {
    type: 'object',
    required: ['name', 'description', 'task_type', 'priority', 'estimated_duration_seconds', 'config_schema'],
    properties: {
      name: { type: 'string', minLength: 1 },
      description: { type: 'string' },
      task_type: { type: 'string', pattern: '^[a-z][a-z0-9_-]*$' },
      priority: { enum: [...TASK_PRIORITIES] },
      estimated_duration_seconds: { type: 'number', minimum: 0 },
      prerequisites: { type: 'array', items: { type: 'string' } },
      config_schema: { type: 'object' },
    },
  },
});

export interface TaskDefinition<Config = Record<string, Json>> {
  /** The type config.yaml's `tasks[].type` names (kebab- or snake-case). */
  id: string;
  name: string;
  description: string;
  task_type: TaskType;
  priority?: TaskPriority;
  /** Seconds a run usually takes (shown by `automation list`; the scheduler staggers by it). */
  estimated_duration_seconds?: number;
  /** Configured task ids that must have succeeded first in the same run (config.yaml may add more). */
  prerequisites?: string[];
  /** JSON Schema of the task's `config:` (checked when config.yaml is read). */
  config_schema?: Record<string, Json>;
  /** Whether the task can run now: true, or false / a string saying why not (recorded Skipped). Default: yes. */
  can_execute?(ctx: PluginContext<unknown>, input: TaskInput & { config: Config }): Promise<boolean | string>;
  execute(ctx: PluginContext<unknown>, input: TaskInput & { config: Config }): Promise<TaskOutcome>;
  /** Undoes what a failed execute changed (given its changes); default: nothing to undo. */
  rollback?(ctx: PluginContext<unknown>, input: TaskInput & { config: Config }): Promise<string>;
}

/** Declares an automation task (contribution kind `automation-task`). */
export function defineTask<Config = Record<string, Json>>(
  def: TaskDefinition<Config>,
): Contribution<TaskInput, TaskAnswer> {
  const meta: Record<string, Json> = {
    name: def.name,
    description: def.description,
    task_type: def.task_type,
    priority: def.priority ?? 'medium',
    estimated_duration_seconds: def.estimated_duration_seconds ?? 60,
    prerequisites: def.prerequisites ?? [],
    config_schema: def.config_schema ?? { type: 'object' },
  };
  return {
    kind: automationTaskKind.kind,
    id: def.id,
    meta,
    async run(ctx, input) {
      // The scheduler checked input.config against config_schema: it is this task's Config.
      const typed = input as TaskInput & { config: Config };
      if (input.phase === 'can_execute') {
        const ok = def.can_execute ? await def.can_execute(ctx, typed) : true;
        return typeof ok === 'string' ? { ok: false, reason: ok } : { ok };
      }
      if (input.phase === 'rollback')
        return { ok: true, output: def.rollback ? await def.rollback(ctx, typed) : 'nothing to undo' };
      return def.execute(ctx, typed);
    },
  };
}
