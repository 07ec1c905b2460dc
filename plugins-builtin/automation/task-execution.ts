/**
 * The seed's TaskExecution as cx-ops records it (one entry per attempt in the daemon's history
 * store), and the seed's AutomationReport over a list of them.
 */
import type { Json, SystemChange, TaskStatus, TriggerSource } from 'cx-ops/sdk';

export interface ResourcesUsed {
  /** CPU time of the run, ms: the task's programs (as wait4 measured them) + cx_ops_cpu_ms. */
  cpu_ms: number;
  /** CPU time of the cx-ops process during the run (user + system; other work of the process included), ms. */
  cx_ops_cpu_ms: number;
  /**
   * Peak resident set size, KiB: of the largest program the task ran (`max_rss_of: programs`), or,
   * when it ran no measured program (its work was done in the cx-ops process, e.g. a gzip backup),
   * the cx-ops process's peak (`max_rss_of: cx-ops`).
   */
  max_rss_kb: number;
  max_rss_of: 'programs' | 'cx-ops';
  /** How many of the task's programs are measured in cpu_ms and max_rss_kb (GNU time missing: 0). */
  programs_measured: number;
  disk_space_freed: number;
  files_backed_up: number;
  updates_installed: number;
}

export interface TaskExecution {
  execution_id: string;
  task_id: string;
  /** The automation-task type that ran it, and the seed's task_type. */
  type: string;
  task_type: string;
  trigger: TriggerSource;
  /** The scheduled time the run was for (catch-up: the missed one). */
  due_time: string | null;
  start_time: string;
  end_time: string | null;
  status: TaskStatus;
  /** 1 for the first attempt; retries count up. */
  attempt: number;
  output: string;
  error: string | null;
  duration_ms: number | null;
  resources_used: ResourcesUsed;
  changes_made: SystemChange[];
  /** What rollback said after a failure. */
  rollback: string | null;
  dry_run: boolean;
  /** The process that ran it (an execution still Running whose process is gone was interrupted). */
  pid: number;
  details: Record<string, Json>;
}

export interface AutomationReport {
  period: { name: string; from: string; to: string };
  total_tasks: number;
  successful_tasks: number;
  failed_tasks: number;
  skipped_tasks: number;
  interrupted_tasks: number;
  total_execution_time_ms: number;
  space_freed: number;
  files_backed_up: number;
  updates_installed: number;
  task_breakdown: Array<{ task_type: string; total: number; success: number; failed: number; time_ms: number }>;
  by_task: Array<{ task_id: string; total: number; success: number; failed: number; last_status: TaskStatus }>;
}

/** The report over `execs` (any order). */
export function buildReport(execs: TaskExecution[], period: AutomationReport['period']): AutomationReport {
  const count = (s: TaskStatus) => execs.filter((e) => e.status === s).length;
  const sum = (f: (e: TaskExecution) => number) => execs.reduce((a, e) => a + f(e), 0);
  const types = new Map<string, AutomationReport['task_breakdown'][number]>();
  const tasks = new Map<string, AutomationReport['by_task'][number] & { last: string }>();
  for (const e of execs) {
    const t = types.get(e.task_type) ?? { task_type: e.task_type, total: 0, success: 0, failed: 0, time_ms: 0 };
    t.total++;
    if (e.status === 'Success') t.success++;
    if (e.status === 'Failed') t.failed++;
    t.time_ms += e.duration_ms ?? 0;
    types.set(e.task_type, t);
    const k = tasks.get(e.task_id) ?? {
      task_id: e.task_id,
      total: 0,
      success: 0,
      failed: 0,
      last_status: e.status,
      last: '',
    };
    k.total++;
    if (e.status === 'Success') k.success++;
    if (e.status === 'Failed') k.failed++;
    if (e.start_time >= k.last) {
      k.last = e.start_time;
      k.last_status = e.status;
    }
    tasks.set(e.task_id, k);
  }
  return {
    period,
    total_tasks: execs.length,
    successful_tasks: count('Success'),
    failed_tasks: count('Failed'),
    skipped_tasks: count('Skipped'),
    interrupted_tasks: count('Interrupted'),
    total_execution_time_ms: sum((e) => e.duration_ms ?? 0),
    space_freed: sum((e) => e.resources_used.disk_space_freed),
    files_backed_up: sum((e) => e.resources_used.files_backed_up),
    updates_installed: sum((e) => e.resources_used.updates_installed),
    task_breakdown: [...types.values()].sort((a, b) => a.task_type.localeCompare(b.task_type)),
    by_task: [...tasks.values()].map(({ last: _, ...t }) => t).sort((a, b) => a.task_id.localeCompare(b.task_id)),
  };
}
