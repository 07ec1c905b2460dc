// Automation benchmark (imported by test/bench/run.js as `automation`; runnable alone: node test/bench/automation.bench.js).
// Next-run computation for 10,000 schedules (cron 5/6 fields, nicknames, the seed's daily:/weekly:/
// monthly:, intervals; UTC and two DST zones; a randomized delay and an update window on some),
// beside croner alone computing nextRun on the same expressions (both pre-parsed). Dispatch
// latency: 1,000 interval tasks scheduled on the real clock, their due times spread over 2 s; the
// time from each start time to the runner starting the task, p99, beside the lateness of bare
// setTimeout timers armed for the same instants in the same run.
import { fileURLToPath } from 'node:url';

const dist = (p) => new URL(`../../dist/${p}`, import.meta.url).href;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];
const hr = () => Number(process.hrtime.bigint()) / 1e6;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York'];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** The i-th of 10,000 schedules: mostly distinct expressions. */
function scheduleText(i) {
  const m = i % 60;
  const h = Math.floor(i / 60) % 24;
  switch (i % 8) {
    case 0:
      return `${m} ${h} * * *`;
    case 1:
      return `${m} */${1 + (i % 6)} * * 1-5`;
    case 2:
      return `${i % 60} ${m} ${h} * * *`; // 6 fields
    case 3:
      return `daily:${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
    case 4:
      return `weekly:${DAYS[i % 7]}:${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
    case 5:
      return `monthly:${1 + (i % 28)}:${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
    case 6:
      return ['@hourly', '@daily', '@weekly', '@monthly'][i % 4];
    default:
      return `every:${1 + (i % 48)}h`;
  }
}

function resolved(i, parseSchedule, parseWindow, schedule) {
  return {
    id: `task-${i}`,
    type: 'command',
    plugin: 'automation',
    name: `task-${i}`,
    description: '',
    task_type: 'maintenance',
    priority: 'medium',
    prerequisites: [],
    schedule: schedule ?? parseSchedule(scheduleText(i), ZONES[i % 3]),
    enabled: true,
    timezone: ZONES[i % 3],
    persistent: true,
    catch_up: 'once',
    catch_up_max: 10,
    randomized_delay_ms: i % 3 === 0 ? 600_000 : 0,
    accuracy_ms: 0,
    overlap: 'skip',
    ...(i % 10 === 0 ? { window: parseWindow('02:00-04:00') } : {}),
    cooldown_ms: 3_600_000,
    timeout_ms: 3_600_000,
    max_retries: 0,
    estimated_ms: 1000,
    config: {},
  };
}

export async function benchAutomation() {
  const { parseSchedule } = await import(dist('plugins-builtin/automation/schedule.js'));
  const { parseWindow } = await import(dist('plugins-builtin/automation/automation-config.js'));
  const { previewStarts, TaskScheduler } = await import(dist('plugins-builtin/automation/task-scheduler.js'));
  const { TaskRunner } = await import(dist('plugins-builtin/automation/task-runner.js'));
  const { realClock } = await import(dist('plugins-builtin/daemon/scheduler.js'));
  const { Cron } = await import('croner');
  const N = 10_000;
  const from = Date.parse('2026-06-10T12:00:00Z');

  // Once, cold: parseSchedule keeps one croner calendar per expression and zone, so a second pass would be cached.
  const p0 = hr();
  const tasks = Array.from({ length: N }, (_, i) => resolved(i, parseSchedule, parseWindow));
  const parsed = hr() - p0;
  // croner alone on the same calendars (intervals are arithmetic: croner has none, so they are left out there).
  const crons = tasks
    .filter((t) => t.schedule.kind === 'cron')
    .map((t) => new Cron(t.schedule.expression, { timezone: t.timezone, paused: true }));
  const ours = [];
  const bare = [];
  // Each pass from another instant (a day later), so no pass reuses the answers of the one before.
  for (let k = 0; k < 7; k++) {
    const at = from + k * 86_400_000;
    let t0 = hr();
    for (const c of crons) c.nextRun(new Date(at));
    bare.push(hr() - t0);
    t0 = hr();
    for (const t of tasks) previewStarts(t, 'bench-host', at, 1);
    ours.push(hr() - t0);
  }

  // Dispatch latency: 1,000 tasks every 2 s, due times spread 2 ms apart; ~3 s of runs.
  const M = 1000;
  const now = Date.now();
  const spread = Array.from({ length: M }, (_, i) => ({
    ...resolved(i, parseSchedule, parseWindow, parseSchedule('every:2s', 'UTC')),
    randomized_delay_ms: 0,
    window: undefined,
  }));
  const states = new Map(spread.map((t, i) => [t.id, { first_seen: now - 2000 + 500 + i * 2 }]));
  const latencies = [];
  const runner = new TaskRunner({
    clock: realClock,
    tasks: spread,
    maxConcurrent: 64,
    maxQueued: 100_000,
    priorityScheduling: true,
    backoffMs: 1000,
    backoffMaxMs: 1000,
    invoke: async (_t, input) => (input.phase === 'can_execute' ? { ok: true } : { status: 'Success', output: '' }),
    recorder: { start: async () => undefined, finish: async () => undefined },
    onStarted: (_e, latency) => latency !== null && latencies.push(latency),
  });
  const scheduler = new TaskScheduler({
    clock: realClock,
    tasks: spread,
    host: 'bench-host',
    states,
    staggerMs: 0,
    checkIntervalMs: 60_000,
    dispatch: (p) => void runner.submit({ task: p.task, trigger: p.trigger, due: p.due, planned: p.start }),
    save: () => undefined,
  });
  // Baseline: bare timers for the same instants, in the same run.
  const timerLate = [];
  for (let i = 0; i < M; i++) {
    const at = now - 2000 + 500 + i * 2 + 2000;
    setTimeout(() => timerLate.push(Date.now() - at), at - Date.now());
  }
  scheduler.start();
  await new Promise((r) => setTimeout(r, 3500));
  scheduler.stop();
  const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').trim();
  const next = median(ours);
  const dispatch = p99(latencies);
  return [
    {
      name: `automation: next run of ${N.toLocaleString('en')} schedules (delay, window applied)${next > 100 ? ' — TARGET MISSED' : ''}`,
      median: next,
      unit: 'ms',
      baseline: { name: `croner alone, ${crons.length.toLocaleString('en')} nextRun`, value: median(bare) },
      target: '≤ 100 ms',
    },
    {
      name: `  parsing the ${N.toLocaleString('en')} schedules once (${new Set(tasks.map((t) => `${t.timezone} ${t.schedule.expression}`)).size} croner calendars built)`,
      median: parsed,
      unit: 'ms',
    },
    {
      name: `automation: dispatch latency due → start, p99, ${M} tasks scheduled (${latencies.length} starts)${dispatch > 50 ? ' — TARGET MISSED' : ''}`,
      median: dispatch,
      unit: 'ms',
      baseline: { name: 'bare setTimeout lateness p99', value: p99(timerLate) },
      target: '≤ 50 ms',
    },
    { name: '  dispatch latency, median', median: median(latencies), unit: 'ms' },
    { name: `  load average after the run: ${load}`, median: NaN, unit: '' },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await benchAutomation())
    process.stdout.write(
      `${r.name}: ${Number.isFinite(r.median) ? r.median.toFixed(3) : '-'} ${r.unit}${r.baseline ? ` (baseline ${r.baseline.name}: ${r.baseline.value.toFixed(3)})` : ''}${r.target ? ` (target ${r.target})` : ''}\n`,
    );
  process.exit(0);
}
