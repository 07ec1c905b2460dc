/**
 * The dashboard's tasks panel (kind `dashboard-panel`): what runs now, each task's next run and
 * its last result, read from the scheduler of this daemon and the history store.
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import type { PanelOutput } from '../daemon/job-kind.js';
import { runningAutomation } from './automation-runtime.js';
import { loadExecutions } from './execution-store.js';
import type { TaskExecution } from './task-execution.js';

type Item = PanelOutput['items'][number];
const hhmm = (iso: string) => `${iso.slice(5, 10)} ${iso.slice(11, 16)} UTC`;
const STATUS: Record<string, string> = {
  Success: 'PASS',
  Failed: 'FAIL',
  Interrupted: 'FAIL',
  Skipped: 'SKIP',
  Cancelled: 'WARN',
  Running: 'WARN',
};

export async function tasksPanel(ctx: PluginContext<unknown>): Promise<PanelOutput> {
  const live = runningAutomation();
  if (!live)
    return {
      title: 'Tasks',
      items: [
        {
          label: 'scheduler',
          value: 'not running (automation.enabled is false or its config did not load)',
          status: 'SKIP',
        },
      ],
    };
  const items: Item[] = [];
  const execs = await loadExecutions(ctx);
  const last = new Map<string, TaskExecution>();
  for (const e of execs) if (e.status !== 'Running') last.set(e.task_id, e);
  const now = live.runner.runningNow();
  items.push({
    label: 'running now',
    value: now.length ? now.join(', ') : 'nothing',
    status: now.length ? 'WARN' : 'PASS',
  });
  const next = new Map<string, number>();
  for (const p of live.scheduler.upcoming()) if (!next.has(p.task)) next.set(p.task, p.start);
  for (const t of live.plan.tasks) {
    const l = last.get(t.id);
    const n = next.get(t.id);
    const parts = [
      n !== undefined ? `next ${hhmm(new Date(n).toISOString())}` : t.enabled ? t.schedule.text : 'disabled',
      l ? `last ${l.status} ${hhmm(l.start_time)}${l.error ? `: ${l.error}` : ''}` : 'never ran',
    ];
    items.push({ label: t.id, value: parts.join('; '), ...(l ? { status: STATUS[l.status] ?? 'WARN' } : {}) });
  }
  return { title: 'Tasks', items };
}

export const tasksPanelContribution = defineContribution<null, PanelOutput>(
  'dashboard-panel',
  'automation-tasks',
  { title: 'Tasks' },
  (ctx) => tasksPanel(ctx),
);
