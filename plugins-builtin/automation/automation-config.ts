/**
 * The `automation:` section of config.yaml turned into the tasks the scheduler runs. The kernel
 * has checked the section's shape (plugin.yaml's config_schema); this checks what a schema
 * cannot, all problems at once and each at its config.yaml line: a cron croner refuses (its
 * message), an unknown time zone, a task type no plugin contributes (the known ones listed), a
 * prerequisite that is no configured task, a cycle (the chain shown), a task config its type's
 * config_schema refuses, and a condition measuring a path that does not exist — at load, not at 3 a.m.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import {
  automationTaskKind,
  CxError,
  type ContributionInfo,
  type Json,
  type PluginContext,
  type TaskPriority,
} from 'cx-ops/sdk';
import { describeSchemaErrors, readYaml, type FieldPath, type YamlDocument } from 'cx-ops/sdk/host';
import { parseDuration } from '../daemon/duration.js';
import { conditionPaths } from './conditions.js';
import { parseSchedule, timezoneProblem, type Schedule } from './schedule.js';
import { findCycle } from './task-graph.js';

const require = createRequire(import.meta.url);

/** config.yaml's `automation:` (defaults applied by the kernel). */
export interface AutomationConfig {
  enabled: boolean;
  max_concurrent_tasks: number;
  task_timeout: string;
  retry_failed_tasks: boolean;
  max_retries: number;
  retry_backoff: string;
  retry_backoff_max: string;
  timezone?: string;
  host?: string;
  history_per_task: number;
  scheduling: {
    check_interval: string;
    max_queued_tasks: number;
    priority_scheduling: boolean;
    catch_up_stagger: string;
  };
  backup: {
    enabled: boolean;
    default_retention_days: number;
    compression: 'gzip' | 'zstd' | 'none';
    backup_location: string;
  };
  updates: {
    auto_security_updates: boolean;
    auto_reboot: boolean;
    backup_before_update: boolean;
    update_window?: string;
  };
  maintenance: { auto_cleanup: boolean; cleanup_schedule: string; cleanup_types: string[] };
  tasks: TaskConfig[];
}

export interface TaskConfig {
  id: string;
  type: string;
  schedule: string | { when: Record<string, Json> };
  enabled: boolean;
  description?: string;
  priority?: TaskPriority;
  prerequisites: string[];
  timezone?: string;
  persistent: boolean;
  catch_up: 'once' | 'all' | 'skip';
  catch_up_max: number;
  randomized_delay?: string;
  accuracy?: string;
  overlap: 'skip' | 'queue';
  update_window?: string;
  condition_cooldown: string;
  timeout?: string;
  max_retries?: number;
  config: Record<string, Json>;
}

/** A window of the day, in minutes from midnight (end < start: across midnight). */
export interface DayWindow {
  text: string;
  start: number;
  end: number;
}

/** A configured task, resolved against its type. */
export interface ResolvedTask {
  id: string;
  type: string;
  /** The plugin contributing the type. */
  plugin: string;
  name: string;
  description: string;
  task_type: string;
  priority: TaskPriority;
  prerequisites: string[];
  schedule: Schedule;
  enabled: boolean;
  timezone: string;
  persistent: boolean;
  catch_up: 'once' | 'all' | 'skip';
  catch_up_max: number;
  randomized_delay_ms: number;
  accuracy_ms: number;
  overlap: 'skip' | 'queue';
  window?: DayWindow;
  cooldown_ms: number;
  timeout_ms: number;
  max_retries: number;
  estimated_ms: number;
  config: Record<string, Json>;
}

/** Everything the scheduler and the commands need. */
export interface AutomationPlan {
  config: AutomationConfig;
  tasks: ResolvedTask[];
  /** The task types registered (automation-task contributions). */
  types: ContributionInfo[];
  configFile: string;
}

const ms = (v: string | undefined, fallback = 0) => (v === undefined ? fallback : (parseDuration(v) ?? fallback));

/** Parses HH:MM-HH:MM (the schema checked its form). */
export function parseWindow(text: string): DayWindow {
  const [a, b] = text.split('-').map((p) => p.split(':').map(Number));
  return { text, start: a![0]! * 60 + a![1]!, end: b![0]! * 60 + b![1]! };
}

/** The host's time zone (the TZ environment, else the system's). */
export const hostTimezone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The seed's task types (its TaskType names) and the built-in task each means. */
const SEED_TYPES: Record<string, string> = {
  backup: 'config-backup',
  update: 'system-update',
  maintenance: 'system-cleanup',
};

/** The tasks the seed's switches add: updates.auto_security_updates, maintenance.auto_cleanup. */
function implicitTasks(c: AutomationConfig): Array<{ t: TaskConfig; origin: FieldPath }> {
  const base = {
    enabled: true,
    prerequisites: [],
    persistent: true,
    catch_up: 'once' as const,
    catch_up_max: 10,
    overlap: 'skip' as const,
    condition_cooldown: '1h',
  };
  const taken = new Set(c.tasks.map((t) => t.id));
  const out: Array<{ t: TaskConfig; origin: FieldPath }> = [];
  if (c.updates.auto_security_updates && !taken.has('security-updates'))
    out.push({
      origin: ['automation', 'updates', 'auto_security_updates'],
      t: {
        ...base,
        id: 'security-updates',
        type: 'system-update',
        schedule: `daily:${c.updates.update_window?.slice(0, 5) ?? '03:00'}`,
        config: { update_type: 'security' },
      },
    });
  if (c.maintenance.auto_cleanup && !taken.has('auto-cleanup'))
    out.push({
      origin: ['automation', 'maintenance', 'cleanup_schedule'],
      t: {
        ...base,
        id: 'auto-cleanup',
        type: 'system-cleanup',
        schedule: c.maintenance.cleanup_schedule,
        config: { cleanup_types: c.maintenance.cleanup_types },
      },
    });
  return out;
}

interface Problem {
  path: FieldPath;
  detail: string;
}

const validators = new Map<string, ValidateFunction | string>();
function configValidator(type: ContributionInfo): ValidateFunction | string {
  const key = `${type.plugin}/${type.id}`;
  let v = validators.get(key);
  if (!v) {
    try {
      const { Ajv } = require('ajv') as typeof import('ajv');
      v = new Ajv({ strict: true, allErrors: true, useDefaults: true, allowUnionTypes: true }).compile(
        type.meta.config_schema as object,
      );
    } catch (e) {
      v = `task type '${type.id}' of plugin '${type.plugin}' declares a config_schema that does not compile: ${e instanceof Error ? e.message : String(e)}`;
    }
    validators.set(key, v);
  }
  return v;
}

/** Resolves the configured tasks; throws CX_ERR_CONFIG_INVALID listing every problem with its line. */
export async function loadPlan(ctx: PluginContext<AutomationConfig>): Promise<AutomationPlan> {
  const config = ctx.config;
  const configFile = join(ctx.env.configDir, 'config.yaml');
  const types = await ctx.registry.list(automationTaskKind);
  const problems: Problem[] = [];
  const tasks: ResolvedTask[] = [];
  // Asked of ICU only when a task takes the default zone: the first Intl.DateTimeFormat maps several
  // MB of ICU data into the process for good, and a daemon without tasks never needs it.
  let defaultZone: string | undefined;
  const zone = () => (defaultZone ??= config.timezone ?? hostTimezone());
  if (config.timezone && timezoneProblem(config.timezone))
    problems.push({ path: ['automation', 'timezone'], detail: timezoneProblem(config.timezone)! });
  const entries = [
    ...config.tasks.map((t, i) => ({ t, origin: ['automation', 'tasks', i] as FieldPath })),
    ...implicitTasks(config),
  ];
  const ids = entries.map((e) => e.t.id);
  entries.forEach(({ t, origin }, i) => {
    const at = (...p: FieldPath): FieldPath => (origin.length === 3 ? [...origin, ...p] : origin);
    const say = (path: FieldPath, detail: string) => problems.push({ path, detail: `task '${t.id}': ${detail}` });
    if (ids.indexOf(t.id) !== i) say(at('id'), `the id is used twice (also tasks[${ids.indexOf(t.id)}])`);
    const type =
      types.find((x) => x.id === t.type) ?? types.find((x) => x.id === SEED_TYPES[t.type] && x.plugin === 'automation');
    if (!type) {
      say(
        at('type'),
        `unknown task type '${t.type}' (known: ${types.map((x) => x.id).join(', ') || 'none: no plugin contributes automation-task'})`,
      );
    }
    const timezone = t.timezone ?? zone();
    if (t.timezone && timezoneProblem(t.timezone)) say(at('timezone'), timezoneProblem(t.timezone)!);
    let schedule: Schedule | undefined;
    try {
      schedule = parseSchedule(t.schedule, timezone);
    } catch (e) {
      say(at('schedule'), `invalid schedule: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const p of t.prerequisites)
      if (!ids.includes(p))
        say(at('prerequisites'), `prerequisite '${p}' is no configured task (configured: ${ids.join(', ')})`);
    if (type) {
      const v = configValidator(type);
      if (typeof v === 'string') say(at('type'), v);
      else if (!v(t.config))
        for (const p of describeSchemaErrors(v.errors, t.config))
          say(at('config', ...p.path), `config.${p.field === '(root)' ? '' : p.field} ${p.detail}`.replace('. ', ' '));
    }
    if (!schedule || !type) return;
    const update = type.meta.task_type === 'update';
    const windowText = t.update_window ?? (update ? config.updates.update_window : undefined);
    tasks.push({
      id: t.id,
      type: type.id,
      plugin: type.plugin,
      name: String(type.meta.name),
      description: t.description ?? String(type.meta.description),
      task_type: String(type.meta.task_type),
      priority: t.priority ?? (type.meta.priority as TaskPriority),
      prerequisites: [
        ...new Set([...(type.meta.prerequisites as string[]).filter((p) => ids.includes(p)), ...t.prerequisites]),
      ],
      schedule,
      enabled: t.enabled && !(type.id === 'config-backup' && !config.backup.enabled),
      timezone,
      persistent: t.persistent,
      catch_up: t.catch_up,
      catch_up_max: t.catch_up_max,
      randomized_delay_ms: ms(t.randomized_delay),
      accuracy_ms: ms(t.accuracy),
      overlap: t.overlap,
      ...(windowText ? { window: parseWindow(windowText) } : {}),
      cooldown_ms: ms(t.condition_cooldown, 3_600_000),
      timeout_ms: ms(t.timeout ?? config.task_timeout, 3_600_000),
      max_retries: config.retry_failed_tasks ? (t.max_retries ?? config.max_retries) : 0,
      estimated_ms: Number(type.meta.estimated_duration_seconds) * 1000,
      config: t.config,
    });
  });
  const deps = new Map(tasks.map((t) => [t.id, t.prerequisites]));
  const cycle = findCycle(deps);
  if (cycle) {
    const at = entries.find((e) => e.t.id === cycle[0])!.origin;
    problems.push({
      path: at.length === 3 ? [...at, 'prerequisites'] : at,
      detail: `the prerequisites form a cycle: ${cycle.join(' -> ')}`,
    });
  }
  for (const t of tasks)
    if (t.schedule.kind === 'condition')
      for (const p of conditionPaths(t.schedule.condition))
        if (!(await ctx.fs.stat(p)))
          problems.push({
            path: [...entries.find((e) => e.t.id === t.id)!.origin, 'schedule'],
            detail: `task '${t.id}': the condition measures ${p}, which does not exist (${ctx.fs.diskPath(p)})`,
          });
  if (problems.length) throw await invalid(ctx, configFile, problems);
  return { config, tasks, types, configFile };
}

async function invalid(ctx: PluginContext<unknown>, file: string, problems: Problem[]): Promise<CxError> {
  let doc: YamlDocument | null = null;
  try {
    doc = await readYaml(ctx.localFs, file);
  } catch {
    /* the kernel read it already; without positions the problems are still named by field */
  }
  const field = (p: FieldPath) => p.map((x, i) => (typeof x === 'number' ? `[${x}]` : i ? `.${x}` : x)).join('');
  const listed = problems.map((p) => ({ field: field(p.path), detail: p.detail, line: doc?.lineOf(p.path) }));
  return new CxError('CX_ERR_CONFIG_INVALID', { ...listed[0], file, plugin: ctx.plugin, problems: listed });
}
