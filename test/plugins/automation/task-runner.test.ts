/**
 * The task runner under a controllable clock (fake timers; nothing sleeps): DAG fan-in,
 * priorities, max_concurrent_tasks, max_queued_tasks, task_timeout, retries with doubling capped
 * backoff, dependents Skipped with the reason, can_execute false, overlap skip and queue, and
 * what each recorded TaskExecution holds.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { TaskAnswer, TaskInput } from '../../../sdk/index.js';
import type { ResolvedTask } from '../../../plugins-builtin/automation/automation-config.js';
import type { TaskExecution } from '../../../plugins-builtin/automation/task-execution.js';
import { TaskRunner } from '../../../plugins-builtin/automation/task-runner.js';
import { fakeClock, task } from './task-fixtures.js';

type Behaviour = (input: TaskInput, attempt: number) => Promise<TaskAnswer>;
const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ok =
  (ms = 1000, output = 'done'): Behaviour =>
  async () => {
    await wait(ms);
    return { status: 'Success', output };
  };

function runner(
  tasks: ResolvedTask[],
  behave: Record<string, Behaviour>,
  o: { maxConcurrent?: number; maxQueued?: number } = {},
) {
  const log: string[] = [];
  const recorded: TaskExecution[] = [];
  const attempts = new Map<string, number>();
  const rolledBack: string[] = [];
  const r = new TaskRunner({
    clock: fakeClock,
    tasks,
    maxConcurrent: o.maxConcurrent ?? 3,
    maxQueued: o.maxQueued ?? 100,
    priorityScheduling: true,
    backoffMs: 10_000,
    backoffMaxMs: 25_000,
    invoke: async (t, input) => {
      if (input.phase === 'can_execute') return t.config.no ? { ok: false, reason: String(t.config.no) } : { ok: true };
      if (input.phase === 'rollback') {
        rolledBack.push(t.id);
        return { ok: true, output: `undid ${input.changes?.length ?? 0} change(s)` };
      }
      const n = (attempts.get(t.id) ?? 0) + 1;
      attempts.set(t.id, n);
      log.push(`${Date.now() - T0} start ${t.id}`);
      const out = await behave[t.id]!(input, n);
      log.push(`${Date.now() - T0} end ${t.id}`);
      return out;
    },
    recorder: {
      start: async () => undefined,
      finish: async (e) => void recorded.push(e),
    },
  });
  return { r, log, recorded, rolledBack };
}
const T0 = Date.parse('2026-01-05T12:00:00Z');
const summary = (execs: TaskExecution[]) =>
  execs.map((e) => `${e.task_id}:${e.status}${e.attempt > 1 ? `#${e.attempt}` : ''}${e.error ? ` (${e.error})` : ''}`);

describe('TaskRunner', () => {
  beforeEach(() => vi.useFakeTimers({ now: T0 }));
  afterEach(() => vi.useRealTimers());

  test("fan-in: the seed's final-report waits for backup, security-scan and cleanup; at most 2 at once, by priority", async () => {
    const tasks = [
      task('backup', { priority: 'high' }),
      task('security-scan', { priority: 'critical' }),
      task('cleanup', { priority: 'background' }),
      task('final-report', { prerequisites: ['backup', 'security-scan', 'cleanup'] }),
    ];
    const { r, log } = runner(
      tasks,
      { backup: ok(1000), 'security-scan': ok(2000), cleanup: ok(500), 'final-report': ok(100) },
      { maxConcurrent: 2 },
    );
    const done = r.submit({ task: 'final-report', trigger: { type: 'Manual' } });
    await vi.advanceTimersByTimeAsync(5000);
    const execs = await done;
    expect(log).toEqual([
      '0 start security-scan',
      '0 start backup',
      '1000 end backup',
      '1000 start cleanup',
      '1500 end cleanup',
      '2000 end security-scan',
      '2000 start final-report',
      '2100 end final-report',
    ]);
    expect(summary(execs)).toEqual([
      'backup:Success',
      'cleanup:Success',
      'security-scan:Success',
      'final-report:Success',
    ]);
    expect(execs.find((e) => e.task_id === 'backup')!.trigger).toEqual({
      type: 'Manual',
      detail: 'prerequisite of final-report',
    });
    expect(execs.at(-1)).toMatchObject({
      task_id: 'final-report',
      trigger: { type: 'Manual' },
      status: 'Success',
      attempt: 1,
      output: 'done',
      error: null,
      duration_ms: 100,
      start_time: '2026-01-05T12:00:02.000Z',
      end_time: '2026-01-05T12:00:02.100Z',
      changes_made: [],
      pid: process.pid,
      resources_used: { disk_space_freed: 0, files_backed_up: 0, updates_installed: 0 },
    });
  });

  test('a failing prerequisite is retried with doubling capped backoff, rolled back each time, and its dependents are Skipped with the reason', async () => {
    const tasks = [
      task('backup', { max_retries: 3 }),
      task('cleanup', { prerequisites: ['backup'] }),
      task('report', { prerequisites: ['cleanup'] }),
    ];
    const { r, log, rolledBack } = runner(tasks, {
      backup: async () => {
        await wait(100);
        return {
          status: 'Failed',
          output: '',
          error: 'disk full',
          changes_made: [{ type: 'file_created', target: '/var/backups/x' }],
        };
      },
      cleanup: ok(),
      report: ok(),
    });
    const done = r.submit({ task: 'report', trigger: { type: 'Scheduled' }, due: T0 });
    await vi.advanceTimersByTimeAsync(120_000);
    const execs = await done;
    // Attempts at 0, then 10 s, 20 s and 25 s (capped) after each failure ended.
    expect(log.filter((l) => l.includes('start'))).toEqual([
      '0 start backup',
      '10100 start backup',
      '30200 start backup',
      '55300 start backup',
    ]);
    expect(summary(execs)).toEqual([
      'backup:Failed (disk full)',
      'backup:Failed#2 (disk full)',
      'backup:Failed#3 (disk full)',
      'backup:Failed#4 (disk full)',
      "cleanup:Skipped (prerequisite 'backup' ended Failed: disk full)",
      "report:Skipped (prerequisite 'cleanup' ended Skipped: prerequisite 'backup' ended Failed: disk full)",
    ]);
    expect(rolledBack).toEqual(['backup', 'backup', 'backup', 'backup']);
    expect(execs[0]!.rollback).toBe('undid 1 change(s)');
  });

  test('task_timeout stops a run (Failed, said so); can_execute false is Skipped with its reason; a throw is Failed', async () => {
    const tasks = [
      task('slow', { timeout_ms: 5000 }),
      task('not-now', { config: { no: 'on battery' } }),
      task('broken'),
      task('garbage'),
    ];
    let deadline = 0;
    const { r } = runner(tasks, {
      slow: async (input) => {
        deadline = input.deadline_ms;
        await wait(60_000);
        return { status: 'Success', output: 'late' };
      },
      'not-now': ok(),
      broken: async () => {
        throw new Error('exploded');
      },
      garbage: async () => ({ ok: true }),
    });
    const all = Promise.all(
      ['slow', 'not-now', 'broken', 'garbage'].map((t) => r.submit({ task: t, trigger: { type: 'Manual' } })),
    );
    await vi.advanceTimersByTimeAsync(6000);
    const execs = (await all).flat();
    expect(summary(execs)).toEqual([
      'slow:Failed (stopped: it passed its timeout of 5s)',
      'not-now:Skipped (on battery)',
      'broken:Failed (exploded)',
      "garbage:Failed (task type 'command' answered no TaskOutcome ({ status: Success|Failed|Skipped, output }))",
    ]);
    expect(deadline).toBe(T0 + 5000);
    expect(execs[0]!.duration_ms).toBe(5000);
  });

  test('overlap: a run due while the last one goes is Skipped and recorded (skip) or waits for it (queue); a full queue refuses', async () => {
    const tasks = [task('skipper'), task('queuer', { overlap: 'queue' }), task('f1'), task('f2'), task('f3')];
    const { r, log, recorded } = runner(
      tasks,
      { skipper: ok(3000), queuer: ok(3000), f1: ok(10), f2: ok(10), f3: ok(10) },
      { maxConcurrent: 2, maxQueued: 3 },
    );
    const a = r.submit({ task: 'skipper', trigger: { type: 'Scheduled' } });
    const q1 = r.submit({ task: 'queuer', trigger: { type: 'Scheduled' } });
    await vi.advanceTimersByTimeAsync(1000);
    const b = r.submit({ task: 'skipper', trigger: { type: 'Scheduled' } });
    const q2 = r.submit({ task: 'queuer', trigger: { type: 'Scheduled' } });
    expect(r.queued()).toBe(1);
    const filler = [
      r.submit({ task: 'f1', trigger: { type: 'Manual' } }),
      r.submit({ task: 'f2', trigger: { type: 'Manual' } }),
    ];
    const refused = r.submit({ task: 'f3', trigger: { type: 'Manual' } });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(summary(await b)[0]).toMatch(
      /^skipper:Skipped \(the previous run \(.*-skipper\) is still going \(overlap: skip\)\)$/,
    );
    expect(summary(await refused)).toEqual(['f3:Skipped (the queue is full (3 waiting, max_queued_tasks 3))']);
    await Promise.all([a, q1, q2, ...filler]);
    expect(log.filter((l) => l.includes('queuer'))).toEqual([
      '0 start queuer',
      '3000 end queuer',
      '3000 start queuer',
      '6000 end queuer',
    ]);
    expect(recorded.filter((e) => e.status === 'Skipped')).toHaveLength(2);
  });
});
