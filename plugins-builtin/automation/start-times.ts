/**
 * When a due run may start: the fixed randomized delay (systemd's FixedRandomDelay=: derived
 * from the host and the task, so it is the same after every restart), the accuracy (a start is
 * moved up to the next multiple of it, so tasks share a wake-up) and the update window (a start
 * outside HH:MM-HH:MM moves to the window's next opening, in the task's time zone). Pure
 * functions of their arguments; the window's opening is a croner calendar, not date arithmetic.
 */
import { Cron } from 'croner';
import type { DayWindow, ResolvedTask } from './automation-config.js';

/** 32-bit FNV-1a of a string. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The delay of `task` on `host`, in [0, maxMs): the same for the same host and task, always. */
export function fixedDelay(host: string, task: string, maxMs: number): number {
  if (maxMs <= 0) return 0;
  const d = (fnv1a(`${host}\u0000${task}`) / 2 ** 32) * maxMs;
  // Whole seconds, as systemd's: a preview reads 02:07:41, not 02:07:41.318.
  return maxMs >= 1000 ? Math.floor(d / 1000) * 1000 : Math.floor(d);
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Minutes since local midnight of `ms` in `timezone`. */
export function minuteOfDay(ms: number, timezone: string): number {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, f);
  }
  const [h, m] = f.format(new Date(ms)).split(':').map(Number);
  return h! * 60 + m!;
}

/** Whether `ms` lies inside the window (end exclusive; end before start: across midnight). */
export function inWindow(ms: number, w: DayWindow, timezone: string): boolean {
  const m = minuteOfDay(ms, timezone);
  return w.start <= w.end ? m >= w.start && m < w.end : m >= w.start || m < w.end;
}

const openings = new Map<string, Cron>();
/** `ms` when inside the window, else the window's next opening after it. */
export function windowStart(ms: number, w: DayWindow, timezone: string): number {
  if (inWindow(ms, w, timezone)) return ms;
  const key = `${w.start}|${timezone}`;
  let c = openings.get(key);
  if (!c) {
    c = new Cron(`${w.start % 60} ${Math.floor(w.start / 60)} * * *`, { timezone, paused: true });
    openings.set(key, c);
  }
  return c.nextRun(new Date(ms))?.getTime() ?? ms;
}

/** When a run due at `due` starts: delay, then accuracy, then the window. */
export function startTime(task: ResolvedTask, due: number, host: string): number {
  let t = due + fixedDelay(host, task.id, task.randomized_delay_ms);
  if (task.accuracy_ms > 0) t = Math.ceil(t / task.accuracy_ms) * task.accuracy_ms;
  return task.window ? windowStart(t, task.window, task.timezone) : t;
}
