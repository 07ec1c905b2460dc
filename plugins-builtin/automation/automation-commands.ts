/**
 * `cx-ops automation list | run | status | next | history | report`. `run` works without the
 * daemon: the task (with its prerequisites) runs in the foreground through the same runner and
 * is recorded the same way. Every command takes --json; an error under --json is the kernel's
 * JSON error object.
 */
import { closest, CxError, defineCommand, type CommandInput, type PluginContext, type TaskStatus } from 'cx-ops/sdk';
import { formatDuration } from '../daemon/duration.js';
import { loadPlan, type AutomationConfig, type AutomationPlan, type ResolvedTask } from './automation-config.js';
import { hostName, makeRunner, runningAutomation } from './automation-runtime.js';
import { automationErrors } from './errors.js';
import { loadExecutions, loadTaskStates, markInterrupted } from './execution-store.js';
import { readBackupManifest, restoreBackup } from './tasks/config-backup.js';
import { buildReport, type AutomationReport, type TaskExecution } from './task-execution.js';
import { previewStarts, type TaskRunState } from './task-scheduler.js';

type Ctx = PluginContext<AutomationConfig>;
const JSON_OPTION = { flags: '--json', description: 'print the result (or the error) as JSON' };
const print = (ctx: Ctx, v: unknown) => ctx.io.out(`${JSON.stringify(v, null, 2)}\n`);
const usage = (detail: string, hint: string) => new CxError('CX_ERR_USAGE', { detail, hint, plugin: 'automation' });

function taskNamed(plan: AutomationPlan, id: string): ResolvedTask {
  const t = plan.tasks.find((x) => x.id === id);
  if (t) return t;
  const known = plan.tasks.map((x) => x.id);
  throw automationErrors.CX_ERR_TASK_UNKNOWN({
    task: id,
    file: plan.configFile,
    known,
    suggestions: closest(id, known),
  });
}

const table = (rows: string[][]) => {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
};
const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const when = (s: string | null) => (s ? `${s.slice(0, 16).replace('T', ' ')} UTC` : '-');

function lastOf(execs: TaskExecution[], task: string): TaskExecution | undefined {
  for (let i = execs.length - 1; i >= 0; i--) if (execs[i]!.task_id === task) return execs[i];
  return undefined;
}

async function list(ctx: Ctx, input: CommandInput): Promise<number> {
  const plan = await loadPlan(ctx);
  await markInterrupted(ctx);
  if (input.options.types) {
    const types = plan.types.map((t) => ({
      type: t.id,
      plugin: t.plugin,
      tier: t.tier,
      name: t.meta.name,
      task_type: t.meta.task_type,
      priority: t.meta.priority,
      description: t.meta.description,
    }));
    if (input.options.json) print(ctx, { types });
    else
      ctx.io.out(
        table([
          ['TYPE', 'PLUGIN', 'KIND', 'DESCRIPTION'],
          ...types.map((t) => [t.type, t.plugin, String(t.task_type), String(t.description)]),
        ]),
      );
    return 0;
  }
  const [states, execs, host] = [await loadTaskStates(ctx), await loadExecutions(ctx), await hostName(ctx)];
  const now = Date.now();
  const tasks = plan.tasks.map((t) => {
    const last = lastOf(execs, t.id);
    return {
      id: t.id,
      type: t.type,
      task_type: t.task_type,
      schedule: t.schedule.text,
      enabled: t.enabled,
      priority: t.priority,
      prerequisites: t.prerequisites,
      next_run: t.enabled ? iso(previewStarts(t, host, now, 1, states.get(t.id))[0]) : null,
      last_status: last?.status ?? null,
      last_run: last?.start_time ?? null,
    };
  });
  if (input.options.json) {
    print(ctx, { enabled: plan.config.enabled, tasks });
    return 0;
  }
  if (!tasks.length) {
    ctx.io.out(
      `no tasks: add them under automation.tasks in ${plan.configFile} (cx-ops automation list --types shows the types)\n`,
    );
    return 0;
  }
  ctx.io.out(
    table([
      ['TASK', 'TYPE', 'SCHEDULE', 'NEXT', 'LAST'],
      ...tasks.map((t) => [
        t.id + (t.enabled ? '' : ' (disabled)'),
        t.type,
        t.schedule,
        when(t.next_run),
        t.last_status ? `${t.last_status} ${when(t.last_run)}` : 'never ran',
      ]),
    ]),
  );
  return 0;
}

function say(e: TaskExecution): string {
  const took = e.duration_ms === null ? '' : ` in ${formatDuration(e.duration_ms)}`;
  const retry = e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
  return `${e.task_id}: ${e.status}${retry}${took}${e.error ? `: ${e.error}` : ''}${e.output && e.status === 'Success' ? `\n  ${e.output.split('\n').join('\n  ')}` : ''}\n`;
}

async function run(ctx: Ctx, input: CommandInput): Promise<number> {
  const plan = await loadPlan(ctx);
  const task = taskNamed(plan, String(input.args.task));
  // The seed's `automation run system-update --type security --backup`.
  if (input.options.type !== undefined) task.config = { ...task.config, update_type: String(input.options.type) };
  if (input.options.backup) task.config = { ...task.config, backup_before_update: true };
  await markInterrupted(ctx);
  const runner = makeRunner(ctx, plan, {
    onFinish: (e) => {
      if (!input.options.json) ctx.io.out(say(e));
    },
  });
  const execs = await runner.submit({
    task: task.id,
    trigger: { type: 'Manual', detail: 'cx-ops automation run' },
    withPrerequisites: !input.options.noDeps && input.options.deps !== false,
    dryRun: ctx.env.dryRun,
  });
  if (input.options.json) print(ctx, { executions: execs });
  const final = execs.filter((e) => e.task_id === task.id).at(-1);
  return final?.status === 'Success' ? 0 : 1;
}

/** The OnShutdown tasks, run in the foreground: what cx-ops-shutdown.service's ExecStop runs as the host goes down. */
async function shutdown(ctx: Ctx, input: CommandInput): Promise<number> {
  const plan = await loadPlan(ctx);
  const tasks = plan.tasks.filter((t) => t.enabled && t.schedule.kind === 'shutdown');
  await markInterrupted(ctx);
  const runner = makeRunner(ctx, plan, {
    onFinish: (e) => {
      if (!input.options.json) ctx.io.out(say(e));
    },
  });
  const execs = (
    await Promise.all(
      tasks.map((t) =>
        runner.submit({ task: t.id, trigger: { type: 'Event', detail: 'OnShutdown' }, dryRun: ctx.env.dryRun }),
      ),
    )
  ).flat();
  if (input.options.json) print(ctx, { executions: execs });
  else if (!tasks.length) ctx.io.out('no enabled task has schedule OnShutdown\n');
  return execs.every((e) => e.status === 'Success') ? 0 : 1;
}

async function status(ctx: Ctx, input: CommandInput): Promise<number> {
  const plan = await loadPlan(ctx);
  const t = taskNamed(plan, String(input.args.task));
  await markInterrupted(ctx);
  const states = await loadTaskStates(ctx);
  const st: TaskRunState = states.get(t.id) ?? {};
  const execs = (await loadExecutions(ctx, t.id)).reverse();
  const next = t.enabled ? previewStarts(t, await hostName(ctx), Date.now(), 1, st)[0] : undefined;
  const live = runningAutomation();
  const body = {
    id: t.id,
    type: t.type,
    name: t.name,
    description: t.description,
    task_type: t.task_type,
    schedule: t.schedule.text,
    timezone: t.timezone,
    enabled: t.enabled,
    priority: t.priority,
    prerequisites: t.prerequisites,
    running: execs.some((e) => e.status === 'Running') || Boolean(live?.runner.runningNow().includes(t.id)),
    next_run: iso(next),
    last_due: iso(st.last_due),
    last_status: execs[0]?.status ?? null,
    executions: execs.slice(0, Number(input.options.limit ?? 5)),
  };
  if (input.options.json) {
    print(ctx, body);
    return 0;
  }
  const lines = [
    `${t.id} (${t.type}: ${t.name})${t.enabled ? '' : ' disabled'}`,
    `  ${t.description}`,
    `  schedule: ${t.schedule.text} (${t.timezone}); next: ${when(body.next_run)}`,
    `  priority: ${t.priority}${t.prerequisites.length ? `; after: ${t.prerequisites.join(', ')}` : ''}`,
    `  running now: ${body.running ? 'yes' : 'no'}`,
    ...(body.executions.length ? ['  last runs:'] : ['  never ran']),
    ...body.executions.map(
      (e) =>
        `    ${when(e.start_time)}  ${e.status.padEnd(11)} ${e.trigger.type.padEnd(9)} ${e.error ?? e.output.split('\n')[0] ?? ''}`,
    ),
  ];
  ctx.io.out(`${lines.join('\n')}\n`);
  return 0;
}

async function next(ctx: Ctx, input: CommandInput): Promise<number> {
  const plan = await loadPlan(ctx);
  const count = Number(input.options.count ?? (input.args.task ? 5 : 1));
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw usage(
      `--count must be a whole number from 1 to 1000 (found: ${String(input.options.count)})`,
      'cx-ops automation next daily-backup --count 5',
    );
  const tasks = input.args.task ? [taskNamed(plan, String(input.args.task))] : plan.tasks.filter((t) => t.enabled);
  const [states, host] = [await loadTaskStates(ctx), await hostName(ctx)];
  const now = Date.now();
  const rows = tasks.map((t) => ({
    task: t.id,
    schedule: t.schedule.text,
    timezone: t.timezone,
    runs: previewStarts(t, host, now, count, states.get(t.id)).map((ms) => new Date(ms).toISOString()),
    ...(t.schedule.kind === 'condition' ||
    t.schedule.kind === 'boot' ||
    t.schedule.kind === 'shutdown' ||
    t.schedule.kind === 'manual'
      ? { note: t.schedule.kind === 'condition' ? 'runs when its condition turns true' : `runs ${t.schedule.text}` }
      : {}),
  }));
  if (input.options.json) {
    print(ctx, { from: new Date(now).toISOString(), tasks: rows });
    return 0;
  }
  const local = (ms: string, tz: string) =>
    new Intl.DateTimeFormat('sv-SE', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
    }).format(new Date(ms));
  for (const r of rows) {
    ctx.io.out(`${r.task}  (${r.schedule})\n`);
    if (r.note) ctx.io.out(`  ${r.note}\n`);
    for (const [i, ms] of r.runs.entries())
      ctx.io.out(`  ${r.runs.length > 1 ? `${i + 1}. ` : ''}${local(ms, r.timezone)}  (${ms})\n`);
  }
  return 0;
}

async function history(ctx: Ctx, input: CommandInput): Promise<number> {
  const task = input.args.task ? String(input.args.task) : undefined;
  if (task) taskNamed(await loadPlan(ctx), task);
  await markInterrupted(ctx);
  const limit = Number(input.options.limit ?? 20);
  const wanted = input.options.status ? String(input.options.status).toLowerCase() : undefined;
  const execs = (await loadExecutions(ctx, task))
    .reverse()
    .filter((e) => !wanted || e.status.toLowerCase() === wanted)
    .slice(0, limit);
  if (input.options.json) {
    print(ctx, { executions: execs });
    return 0;
  }
  if (!execs.length) {
    ctx.io.out('no executions recorded\n');
    return 0;
  }
  ctx.io.out(
    table([
      ['STARTED', 'TASK', 'STATUS', 'TRIGGER', 'TOOK', 'RESULT'],
      ...execs.map((e) => [
        when(e.start_time),
        e.task_id,
        e.status + (e.attempt > 1 ? ` #${e.attempt}` : ''),
        e.trigger.type,
        e.duration_ms === null ? '-' : formatDuration(e.duration_ms),
        (e.error ?? e.output).split('\n')[0] ?? '',
      ]),
    ]),
  );
  return 0;
}

const PERIODS: Record<string, number> = { 'last-day': 1, 'last-week': 7, 'last-month': 30 };

function periodOf(text: string, now: number): AutomationReport['period'] {
  const days = PERIODS[text] ?? (/^([0-9]+)d$/.exec(text) ? Number(text.slice(0, -1)) : undefined);
  if (!days)
    throw usage(
      `--period must be last-day, last-week, last-month or a number of days like 14d (found: '${text}')`,
      'cx-ops automation report --period last-week',
    );
  return { name: text, from: new Date(now - days * 86_400_000).toISOString(), to: new Date(now).toISOString() };
}

function markdown(r: AutomationReport): string {
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  return [
    `# Automation report: ${r.period.name}`,
    '',
    `${r.period.from} to ${r.period.to}`,
    '',
    '| total | success | failed | skipped | interrupted | time | space freed | files backed up | updates installed |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${r.total_tasks} | ${r.successful_tasks} | ${r.failed_tasks} | ${r.skipped_tasks} | ${r.interrupted_tasks} | ${formatDuration(r.total_execution_time_ms)} | ${mb(r.space_freed)} | ${r.files_backed_up} | ${r.updates_installed} |`,
    '',
    '## By type',
    '',
    '| type | runs | success | failed | time |',
    '|---|---|---|---|---|',
    ...r.task_breakdown.map(
      (t) => `| ${t.task_type} | ${t.total} | ${t.success} | ${t.failed} | ${formatDuration(t.time_ms)} |`,
    ),
    '',
    '## By task',
    '',
    '| task | runs | success | failed | last |',
    '|---|---|---|---|---|',
    ...r.by_task.map((t) => `| ${t.task_id} | ${t.total} | ${t.success} | ${t.failed} | ${t.last_status} |`),
    '',
  ].join('\n');
}

async function report(ctx: Ctx, input: CommandInput): Promise<number> {
  const now = Date.now();
  const period = periodOf(String(input.options.period ?? 'last-week'), now);
  const format = input.options.json ? 'json' : String(input.options.format ?? 'text');
  if (!['text', 'json', 'markdown'].includes(format))
    throw usage(
      `--format must be text, json or markdown (found: '${format}')`,
      'cx-ops automation report --format markdown',
    );
  const execs = (await loadExecutions(ctx)).filter((e) => e.start_time >= period.from && e.status !== 'Running');
  const r = buildReport(execs, period);
  if (format === 'json') print(ctx, r);
  else if (format === 'markdown') ctx.io.out(markdown(r));
  else {
    const statuses: TaskStatus[] = ['Success', 'Failed', 'Skipped', 'Interrupted'];
    ctx.io.out(
      [
        `Automation report, ${period.name} (${when(period.from)} to ${when(period.to)})`,
        `  runs: ${r.total_tasks} (${statuses.map((s) => `${execs.filter((e) => e.status === s).length} ${s.toLowerCase()}`).join(', ')})`,
        `  time: ${formatDuration(r.total_execution_time_ms)}; space freed: ${r.space_freed} bytes; files backed up: ${r.files_backed_up}; updates installed: ${r.updates_installed}`,
        ...(r.task_breakdown.length ? ['  by type:'] : []),
        ...r.task_breakdown.map(
          (t) =>
            `    ${t.task_type}: ${t.total} run(s), ${t.success} ok, ${t.failed} failed, ${formatDuration(t.time_ms)}`,
        ),
        '',
      ].join('\n'),
    );
  }
  return 0;
}

async function restore(ctx: Ctx, input: CommandInput): Promise<number> {
  const dir = String(input.args.backup).replace(/\/+$/, '');
  if (!(await ctx.localFs.stat(`${dir}/manifest.json`)))
    throw usage(
      `${dir} is not a backup of config-backup (it has no manifest.json)`,
      'cx-ops automation history daily-backup   (its output names the backup directory)',
    );
  const only = Array.isArray(input.options.only) ? input.options.only.map(String) : [];
  if (ctx.env.dryRun) {
    const m = await readBackupManifest(ctx, dir);
    const paths = m.files
      .filter((f) => f.type !== 'dir' && (!only.length || only.some((o) => f.path === o || f.path.startsWith(`${o}/`))))
      .map((f) => f.path);
    if (input.options.json) print(ctx, { dry_run: true, would_restore: paths });
    else ctx.io.out(`would restore ${paths.length} path(s):\n${paths.map((p) => `  ${p}\n`).join('')}`);
    return 0;
  }
  const r = await restoreBackup(ctx, dir, only);
  if (input.options.json) print(ctx, r);
  else
    ctx.io.out(
      `restored ${r.restored.length} path(s) from ${dir}${r.skipped.length ? `; not restored: ${r.skipped.join(', ')}` : ''}\n`,
    );
  return 0;
}

const TASK_ARG = { name: 'task', description: 'a task id of automation.tasks (cx-ops automation list)' };

export const automationCommands = [
  defineCommand<AutomationConfig>({
    name: 'automation list',
    description: 'List the configured tasks: schedule, next run, last result (--types: the task types plugins offer)',
    options: [
      { flags: '--types', description: 'list the task types (automation-task contributions) instead' },
      JSON_OPTION,
    ],
    help: 'Tasks are configured under automation.tasks in config.yaml; see plugins-builtin/automation/README.md.',
    run: list,
  }),
  defineCommand<AutomationConfig>({
    name: 'automation run',
    dryRun: true,
    description:
      'Run a task now, in the foreground, with its prerequisites first (no daemon needed; recorded as a Manual run)',
    arguments: [{ ...TASK_ARG, required: true }],
    options: [
      { flags: '--no-deps', description: 'run only this task, not its prerequisites' },
      { flags: '--type <update-type>', description: "system update tasks: 'security' or 'all' for this run" },
      { flags: '--backup', description: 'system update tasks: take a snapshot first for this run' },
      { flags: '--dry-run', description: 'say what the task would change; change nothing' },
      JSON_OPTION,
    ],
    help: 'Exit codes: 0 the task succeeded, 1 it failed or was skipped, 2 bad usage or configuration.\nExample: cx-ops automation run daily-backup --dry-run',
    run,
  }),
  defineCommand<AutomationConfig>({
    name: 'automation shutdown',
    dryRun: true,
    description:
      'Run the OnShutdown tasks now, in the foreground (what cx-ops-shutdown.service runs as the host goes down)',
    options: [{ flags: '--dry-run', description: 'say what the tasks would change; change nothing' }, JSON_OPTION],
    help: 'Exit codes: 0 every OnShutdown task succeeded (or there is none), 1 one failed or was skipped, 2 bad configuration.\nInstall the unit that runs it: sudo install -m 0644 plugins-builtin/automation/cx-ops-shutdown.service /etc/systemd/system/ && sudo systemctl enable --now cx-ops-shutdown\nExample: cx-ops automation shutdown --dry-run',
    run: shutdown,
  }),
  defineCommand<AutomationConfig>({
    name: 'automation status',
    description: 'Show one task: its schedule, whether it runs now, its next run and its last runs',
    arguments: [{ ...TASK_ARG, required: true }],
    options: [{ flags: '--limit <n>', description: 'how many past runs to show (default 5)' }, JSON_OPTION],
    run: status,
  }),
  defineCommand<AutomationConfig>({
    name: 'automation next',
    description:
      'Preview the next runs (randomized delay and update window applied), like systemd-analyze calendar --iterations',
    arguments: [TASK_ARG],
    options: [
      { flags: '--count <n>', description: 'how many runs per task (default 1, or 5 for one task)' },
      JSON_OPTION,
    ],
    help: 'Example: cx-ops automation next weekly-updates --count 10',
    run: next,
  }),
  defineCommand<AutomationConfig>({
    name: 'automation history',
    description: 'The recorded executions, newest first',
    arguments: [TASK_ARG],
    options: [
      { flags: '--limit <n>', description: 'at most this many (default 20)' },
      { flags: '--status <status>', description: 'only these: success, failed, skipped, interrupted, running' },
      JSON_OPTION,
    ],
    run: history,
  }),
  defineCommand<AutomationConfig>({
    name: 'automation restore',
    dryRun: true,
    description: 'Put the files of a config-backup back (every sha256 checked first; owner and mode restored)',
    arguments: [
      { name: 'backup', description: 'the backup directory (config-backup-YYYYMMDD-HHMMSS)', required: true },
    ],
    options: [
      { flags: '--only <path...>', description: 'only these paths (and what is under them)' },
      { flags: '--dry-run', description: 'list what would be restored; change nothing' },
      JSON_OPTION,
    ],
    help: 'Example: cx-ops automation restore /var/backups/cx-ops/config-backup-20260105-020000 --only /etc/nginx',
    run: restore,
  }),
  defineCommand<AutomationConfig>({
    name: 'automation report',
    description: "The seed's AutomationReport: runs, successes, failures, time, space freed, by type",
    options: [
      { flags: '--period <period>', description: 'last-day, last-week (default), last-month or Nd' },
      { flags: '--format <format>', description: 'text (default), json or markdown' },
      JSON_OPTION,
    ],
    run: report,
  }),
];
