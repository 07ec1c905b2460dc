/**
 * The automation scheduler under a controllable clock (vitest's fake timers; nothing sleeps):
 * schedule forms and croner's errors, DST in Europe/Berlin, catch-up policies across a simulated
 * outage with staggering, the randomized delay stable across restarts, update windows, interval
 * anchoring, OnBoot once per boot, and conditions on their rising edge with a cooldown — on a
 * fake probe and on a fixture /proc tree.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { hostProbe, parseCondition, type Probe } from '../../../plugins-builtin/automation/conditions.js';
import { parseSchedule } from '../../../plugins-builtin/automation/schedule.js';
import { fixedDelay, startTime } from '../../../plugins-builtin/automation/start-times.js';
import { parseWindow } from '../../../plugins-builtin/automation/automation-config.js';
import {
  TaskScheduler,
  previewStarts,
  type PlannedStart,
  type TaskRunState,
} from '../../../plugins-builtin/automation/task-scheduler.js';
import type { ResolvedTask } from '../../../plugins-builtin/automation/automation-config.js';
import type { PluginContext } from '../../../sdk/types.js';
import { fakeClock, iso, task } from './task-fixtures.js';

const T = (s: string) => Date.parse(s);

function scheduler(
  tasks: ResolvedTask[],
  states = new Map<string, TaskRunState>(),
  extra: { probe?: Probe; bootId?: string } = {},
) {
  const dispatched: PlannedStart[] = [];
  const missed: Array<{ task: string; missed: string[]; policy: string }> = [];
  const s = new TaskScheduler({
    clock: fakeClock,
    tasks,
    host: 'host-a',
    states,
    staggerMs: 30_000,
    checkIntervalMs: 60_000,
    dispatch: (p) => dispatched.push({ ...p }),
    save: () => undefined,
    onMissed: (t, m, policy) => missed.push({ task: t, missed: m.map(iso), policy }),
    ...extra,
  });
  return { s, dispatched, missed, states };
}
const starts = (d: PlannedStart[]) =>
  d.map((p) => ({ task: p.task, due: iso(p.due), at: iso(p.start), trigger: p.trigger.type }));

describe('schedules', () => {
  test("every form of the seed parses; croner's message comes back for a bad cron", () => {
    const at = T('2026-06-10T12:00:00Z');
    const next = (text: unknown, tz = 'UTC') => {
      const s = parseSchedule(text, tz);
      return s.kind === 'cron' ? iso(s.cron.nextRun(new Date(at))!.getTime()) : s.kind;
    };
    expect(next('daily:02:00')).toBe('2026-06-11T02:00:00.000Z');
    expect(next('weekly:sunday:03:00')).toBe('2026-06-14T03:00:00.000Z');
    expect(next('weekly:Mon:03:00')).toBe('2026-06-15T03:00:00.000Z');
    expect(next('monthly:1:04:00')).toBe('2026-07-01T04:00:00.000Z');
    expect(next('0 2 * * 1-5')).toBe('2026-06-11T02:00:00.000Z');
    expect(next('30 0 2 * * *')).toBe('2026-06-11T02:00:30.000Z'); // 6 fields: seconds first
    expect(next('@daily')).toBe('2026-06-11T00:00:00.000Z');
    expect(next('weekly')).toBe('2026-06-14T00:00:00.000Z');
    expect(next('@hourly', 'Asia/Kolkata')).toBe('2026-06-10T12:30:00.000Z'); // whole hours of +05:30
    expect(next('OnBoot')).toBe('boot');
    expect(next('OnShutdown')).toBe('shutdown');
    expect(parseSchedule('every:6h', 'UTC')).toMatchObject({ kind: 'interval', ms: 21_600_000 });
    expect(parseSchedule('condition:disk_usage:/var:90', 'UTC')).toMatchObject({
      kind: 'condition',
      condition: { type: 'disk_usage', path: '/var', percent: 90 },
    });
    expect(parseSchedule({ when: { and: [{ load: 4 }, { service: 'nginx' }] } }, 'UTC')).toMatchObject({
      kind: 'condition',
      condition: {
        type: 'and',
        all: [
          { type: 'load', above: 4 },
          { type: 'service', name: 'nginx' },
        ],
      },
    });
    const bad = (text: unknown, tz = 'UTC') => {
      try {
        parseSchedule(text, tz);
      } catch (e) {
        return (e as Error).message;
      }
      return 'parsed';
    };
    expect(bad('61 * * * *')).toBe('CronPattern: Invalid value for minute: 61');
    expect(bad('* * *')).toMatch(/^CronPattern: invalid configuration format \('\* \* \*'\), exactly five, six/);
    expect(bad('0 0 0 1 1 * 2030')).toMatch(/CronPattern/); // 7 fields: not a cron this accepts
    expect(bad('weekly:funday:03:00')).toBe(
      "'weekly:funday:03:00': 'funday' is not a day of the week (sunday ... saturday)",
    );
    expect(bad('daily:25:00')).toBe("'daily:25:00': the time must be HH:MM (00:00 to 23:59)");
    expect(bad('every:0s')).toBe("'every:0s': the interval must be a duration of at least 1s (e.g. 6h)");
    expect(bad('@daily', 'Mars/Base')).toBe("'Mars/Base' is not an IANA time zone (e.g. Europe/Berlin, UTC)");
    expect(bad('condition:disk_usage:/var:190')).toBe(
      "'condition:disk_usage:/var:190': the percentage is a percentage, 0 to 100 (found: 190)",
    );
    expect(bad('condition:cpu:9')).toBe(
      "'condition:cpu:9': unknown condition 'cpu' (known: load, disk_usage, memory, process, file_exists, service, and, or)",
    );
  });

  test('DST in Europe/Berlin: a time the spring change skips runs at 03:00, one the autumn change repeats runs once', () => {
    const t = task('nightly', { schedule: 'daily:02:30', timezone: 'Europe/Berlin' });
    expect(previewStarts(t, 'h', T('2026-03-27T12:00:00Z'), 3).map(iso)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    expect(previewStarts(t, 'h', T('2026-10-23T12:00:00Z'), 3).map(iso)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 of the repeated hour only
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });
});

describe('start times', () => {
  test('the randomized delay is fixed per host and task: the same after a restart, another for another host', () => {
    const a = fixedDelay('host-a', 'daily-backup', 600_000);
    expect(fixedDelay('host-a', 'daily-backup', 600_000)).toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(600_000);
    expect(a % 1000).toBe(0);
    expect(fixedDelay('host-b', 'daily-backup', 600_000)).not.toBe(a);
    expect(fixedDelay('host-a', 'weekly-updates', 600_000)).not.toBe(a);
    const t = task('daily-backup', { schedule: 'daily:02:00', randomized_delay_ms: 600_000 });
    const first = previewStarts(t, 'host-a', T('2026-06-10T12:00:00Z'), 2);
    expect(first.map(iso)).toEqual([iso(T('2026-06-11T02:00:00Z') + a), iso(T('2026-06-12T02:00:00Z') + a)]);
  });

  test('an update window moves a start to its next opening, in the task time zone (also across midnight)', () => {
    const w = task('upd', { schedule: '30 5 * * *', timezone: 'Europe/Berlin', window: parseWindow('02:00-04:00') });
    // 05:30 Berlin is outside 02:00-04:00: the next opening is 02:00 Berlin the day after.
    expect(iso(startTime(w, T('2026-06-10T03:30:00Z'), 'h'))).toBe('2026-06-11T00:00:00.000Z');
    expect(iso(startTime(w, T('2026-06-10T01:00:00Z'), 'h'))).toBe('2026-06-10T01:00:00.000Z'); // 03:00 Berlin: inside
    const night = task('n', { schedule: '@hourly', window: parseWindow('23:00-01:00') });
    expect(iso(startTime(night, T('2026-06-10T00:30:00Z'), 'h'))).toBe('2026-06-10T00:30:00.000Z');
    expect(iso(startTime(night, T('2026-06-10T01:00:00Z'), 'h'))).toBe('2026-06-10T23:00:00.000Z');
    const acc = task('a', { schedule: '@hourly', accuracy_ms: 15 * 60_000, randomized_delay_ms: 600_000 });
    expect(startTime(acc, T('2026-06-10T01:00:00Z'), 'host-a') % (15 * 60_000)).toBe(0);
  });
});

describe('TaskScheduler', () => {
  beforeEach(() => vi.useFakeTimers({ now: T('2026-01-05T12:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  const downSince = (last: string) => new Map<string, TaskRunState>([['b', { last_due: T(last) }]]);

  test('catch_up once: after four missed days one run, for the newest missed time, then the calendar', async () => {
    const { s, dispatched, missed } = scheduler(
      [task('b', { schedule: 'daily:02:00' })],
      downSince('2026-01-01T02:00:00Z'),
    );
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts(dispatched)).toEqual([
      { task: 'b', due: '2026-01-05T02:00:00.000Z', at: '2026-01-05T12:00:00.000Z', trigger: 'Scheduled' },
    ]);
    expect(missed).toEqual([
      {
        task: 'b',
        missed: ['2026-01-02T02:00:00.000Z', '2026-01-03T02:00:00.000Z', '2026-01-04T02:00:00.000Z'],
        policy: 'once',
      },
    ]);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(starts(dispatched).at(-1)).toEqual({
      task: 'b',
      due: '2026-01-06T02:00:00.000Z',
      at: '2026-01-06T02:00:00.000Z',
      trigger: 'Scheduled',
    });
    expect(dispatched).toHaveLength(2);
    s.stop();
  });

  test('catch_up all is capped and staggered; skip runs none and says what it dropped; a task never run catches up from when it was first seen', async () => {
    const states = new Map<string, TaskRunState>([
      ['all', { last_due: T('2026-01-01T02:00:00Z') }],
      ['skip', { last_due: T('2026-01-01T02:00:00Z') }],
      ['fresh', { first_seen: T('2026-01-04T12:00:00Z') }],
      ['volatile', { last_due: T('2026-01-01T02:00:00Z') }],
    ]);
    const { s, dispatched, missed } = scheduler(
      [
        task('all', { schedule: 'daily:02:00', catch_up: 'all', catch_up_max: 3 }),
        task('skip', { schedule: 'daily:02:00', catch_up: 'skip' }),
        task('fresh', { schedule: 'daily:03:00' }),
        task('volatile', { schedule: 'daily:02:00', persistent: false }),
      ],
      states,
    );
    s.start();
    await vi.advanceTimersByTimeAsync(61_000);
    expect(starts(dispatched)).toEqual([
      { task: 'all', due: '2026-01-03T02:00:00.000Z', at: '2026-01-05T12:00:00.000Z', trigger: 'Scheduled' },
      { task: 'all', due: '2026-01-04T02:00:00.000Z', at: '2026-01-05T12:00:30.000Z', trigger: 'Scheduled' },
      { task: 'all', due: '2026-01-05T02:00:00.000Z', at: '2026-01-05T12:01:00.000Z', trigger: 'Scheduled' },
    ]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(starts(dispatched).at(-1)).toEqual({
      task: 'fresh',
      due: '2026-01-05T03:00:00.000Z',
      at: '2026-01-05T12:01:30.000Z',
      trigger: 'Scheduled',
    });
    expect(missed).toEqual([
      { task: 'all', missed: ['2026-01-02T02:00:00.000Z'], policy: 'all' },
      {
        task: 'skip',
        missed: [
          '2026-01-02T02:00:00.000Z',
          '2026-01-03T02:00:00.000Z',
          '2026-01-04T02:00:00.000Z',
          '2026-01-05T02:00:00.000Z',
        ],
        policy: 'skip',
      },
    ]);
    expect(dispatched.filter((d) => d.task === 'volatile' || d.task === 'skip')).toEqual([]);
    expect(s.upcoming().map((p) => [p.task, iso(p.start)])).toEqual([
      ['all', '2026-01-06T02:00:00.000Z'],
      ['skip', '2026-01-06T02:00:00.000Z'],
      ['volatile', '2026-01-06T02:00:00.000Z'],
      ['fresh', '2026-01-06T03:00:00.000Z'],
    ]);
    s.stop();
  });

  test('a restart plans the same delayed start; intervals count from the last due time; OnBoot runs once per boot', async () => {
    const t = task('backup', { schedule: 'daily:02:00', randomized_delay_ms: 3_600_000 });
    const one = scheduler([t]);
    one.s.start();
    const planned = one.s.upcoming()[0]!.start;
    one.s.stop();
    const two = scheduler([t]);
    two.s.start();
    expect(two.s.upcoming()[0]!.start).toBe(planned);
    expect(planned - T('2026-01-06T02:00:00Z')).toBe(fixedDelay('host-a', 'backup', 3_600_000));
    two.s.stop();

    const iv = scheduler(
      [task('iv', { schedule: 'every:6h', persistent: false })],
      new Map([['iv', { last_due: T('2026-01-05T10:00:00Z') }]]),
    );
    iv.s.start();
    expect(iv.s.upcoming().map((p) => iso(p.due))).toEqual(['2026-01-05T16:00:00.000Z']);
    iv.s.stop();

    const boot = task('on-boot', { schedule: 'OnBoot' });
    const states = new Map<string, TaskRunState>();
    const b1 = scheduler([boot], states, { bootId: 'boot-1' });
    b1.s.start();
    const b2 = scheduler([boot], states, { bootId: 'boot-1' });
    b2.s.start();
    const b3 = scheduler([boot], states, { bootId: 'boot-2' });
    b3.s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect([b1, b2, b3].map((x) => starts(x.dispatched).map((d) => d.trigger))).toEqual([['Event'], [], ['Event']]);
    for (const x of [b1, b2, b3]) x.s.stop();
  });

  test('a condition fires on its rising edge, not while it holds, and not again within its cooldown', async () => {
    let usage = 80;
    const probe: Probe = {
      load: async () => 0,
      diskUsage: async () => usage,
      memoryUsage: async () => 0,
      processExists: async () => false,
      fileExists: async () => false,
      serviceRunning: async () => false,
    };
    const t = task('emergency-cleanup', { schedule: 'condition:disk_usage:/var:90', cooldown_ms: 3_600_000 });
    const { s, dispatched } = scheduler([t], new Map(), { probe });
    s.start();
    const minute = async (u: number) => {
      usage = u;
      await vi.advanceTimersByTimeAsync(60_000);
    };
    await minute(95); // rises
    await minute(96); // holds
    await minute(80); // falls
    await minute(95); // rises again 3 min after the first: within the cooldown
    await minute(80);
    await vi.advanceTimersByTimeAsync(3_600_000);
    await minute(92); // after the cooldown
    expect(starts(dispatched)).toEqual([
      {
        task: 'emergency-cleanup',
        due: '2026-01-05T12:01:00.000Z',
        at: '2026-01-05T12:01:00.000Z',
        trigger: 'Condition',
      },
      {
        task: 'emergency-cleanup',
        due: '2026-01-05T13:06:00.000Z',
        at: '2026-01-05T13:06:00.000Z',
        trigger: 'Condition',
      },
    ]);
    expect(dispatched[0]!.trigger.detail).toBe('condition:disk_usage:/var:90');
    s.stop();
  });
});

describe('conditions on a fixture /proc tree', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cx-auto-proc-'));
    await mkdir(join(root, 'proc/412'), { recursive: true });
    await writeFile(join(root, 'proc/loadavg'), '3.50 2.00 1.00 2/300 999\n');
    await writeFile(
      join(root, 'proc/meminfo'),
      'MemTotal:       1000000 kB\nMemFree:  50000 kB\nMemAvailable:    100000 kB\n',
    );
    await writeFile(join(root, 'proc/412/comm'), 'nginx\n');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  test('load, memory, process and file_exists read the tree; and/or combine', async () => {
    const { readFile, readdir, lstat } = await import('node:fs/promises');
    const fs = {
      readFile: (p: string) => readFile(join(root, p), 'utf8'),
      readDir: async (p: string) =>
        (await readdir(join(root, p))).map((name) => ({ name, type: 'directory' as const })),
      lstat: async (p: string) => ((await lstat(join(root, p)).catch(() => null)) ? { path: p } : null),
    };
    const ctx = { fs, exec: { run: async () => ({ exitCode: 3 }) } } as unknown as PluginContext<unknown>;
    const probe = hostProbe(ctx);
    const { evaluateCondition } = await import('../../../plugins-builtin/automation/conditions.js');
    const holds = (c: unknown) => evaluateCondition(parseCondition(c), probe);
    expect(await holds('condition:load:3')).toBe(true);
    expect(await holds('load:4')).toBe(false);
    expect(await holds({ memory: 90 })).toBe(true);
    expect(await holds({ memory: 95 })).toBe(false);
    expect(await holds({ process: 'nginx' })).toBe(true);
    expect(await holds({ process: 'apache2' })).toBe(false);
    expect(await holds({ file_exists: '/proc/loadavg' })).toBe(true);
    expect(await holds({ and: [{ load: 3 }, { service: 'nginx' }] })).toBe(false); // systemctl says inactive
    expect(await holds({ or: [{ load: 9 }, { process: 'nginx' }] })).toBe(true);
  });
});
