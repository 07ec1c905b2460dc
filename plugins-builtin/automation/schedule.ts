/**
 * A task's schedule as config.yaml writes it, parsed once, and its next occurrences. Every
 * calendar form goes through croner (cron with 5 or 6 fields, `@daily` and the other nicknames,
 * an IANA time zone, DST as cron does it: a time skipped by the spring change runs at the first
 * valid time after it, a time repeated in autumn runs once); the seed's `daily:02:00`,
 * `weekly:sunday:03:00` and `monthly:1:04:00` are written as the cron expressions they mean.
 * `every:6h` is an interval (from the last run's due time), `OnBoot` / `OnShutdown` are
 * events, `condition:…` / `{ when: … }` a condition (conditions.ts). Parsing is pure: nothing
 * here reads the clock.
 */
import { Cron } from 'croner';
import { parseDuration } from '../daemon/duration.js';
import { parseCondition, type Condition } from './conditions.js';

export type Schedule =
  | { kind: 'cron'; expression: string; timezone: string; cron: Cron; text: string }
  | { kind: 'interval'; ms: number; text: string }
  | { kind: 'boot'; text: string }
  | { kind: 'shutdown'; text: string }
  | { kind: 'manual'; text: string }
  | { kind: 'condition'; condition: Condition; text: string };

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const HHMM = /^([01]?[0-9]|2[0-3]):([0-5][0-9])$/;

/** Why a time zone name is not one this Node knows, or null. */
export function timezoneProblem(tz: string): string | null {
  // Building a formatter costs about a millisecond: each zone is checked once per process.
  if (knownZones.has(tz)) return null;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    knownZones.add(tz);
    return null;
  } catch {
    return `'${tz}' is not an IANA time zone (e.g. Europe/Berlin, UTC)`;
  }
}
const knownZones = new Set<string>();

/** A schedule problem; `message` is croner's own where it came from croner. */
export class ScheduleError extends Error {}

// One croner calendar per expression and zone: building one costs about a millisecond (more than
// a hundred nextRun calls), and many tasks share @daily or daily:02:00.
const calendars = new Map<string, Cron>();
const cronOf = (expression: string, timezone: string): Cron => {
  const key = `${timezone}\u0000${expression}`;
  const known = calendars.get(key);
  if (known) return known;
  try {
    // Without a function croner arms no timer: it is used here as the calendar only.
    const c = new Cron(expression, { timezone, mode: '5-or-6-parts', paused: true });
    if (calendars.size < 100_000) calendars.set(key, c);
    return c;
  } catch (e) {
    throw new ScheduleError(e instanceof Error ? e.message : String(e));
  }
};

/** The cron expression of the seed's daily:/weekly:/monthly: forms, or undefined for another text. */
function seedCalendar(text: string): string | undefined {
  const parts = text.split(':');
  const time = (h: string | undefined, m: string | undefined) => {
    const hm = HHMM.exec(`${h}:${m}`);
    if (!hm) throw new ScheduleError(`'${text}': the time must be HH:MM (00:00 to 23:59)`);
    return `${Number(hm[2])} ${Number(hm[1])}`;
  };
  if (parts[0] === 'daily' && parts.length === 3) return `${time(parts[1], parts[2])} * * *`;
  if (parts[0] === 'weekly' && parts.length === 4) {
    const d = DAYS.findIndex((x) => x === parts[1]!.toLowerCase() || x.slice(0, 3) === parts[1]!.toLowerCase());
    if (d < 0) throw new ScheduleError(`'${text}': '${parts[1]}' is not a day of the week (sunday ... saturday)`);
    return `${time(parts[2], parts[3])} * * ${d}`;
  }
  if (parts[0] === 'monthly' && parts.length === 4) {
    const d = Number(parts[1]);
    if (!Number.isInteger(d) || d < 1 || d > 31)
      throw new ScheduleError(`'${text}': the day of the month must be 1 to 31`);
    return `${time(parts[2], parts[3])} ${d} * *`;
  }
  if (['daily', 'weekly', 'monthly'].includes(parts[0]!) && parts.length > 1)
    throw new ScheduleError(`'${text}': expected daily:HH:MM, weekly:DAY:HH:MM or monthly:D:HH:MM`);
  return undefined;
}

/** Parses a schedule from config.yaml (a string, or { when: condition }); throws ScheduleError. */
export function parseSchedule(raw: unknown, timezone: string): Schedule {
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && 'when' in raw) {
    const condition = parseCondition((raw as { when: unknown }).when);
    return { kind: 'condition', condition, text: `when ${JSON.stringify((raw as { when: unknown }).when)}` };
  }
  if (typeof raw !== 'string' || !raw.trim()) throw new ScheduleError('a schedule is a non-empty string');
  const text = raw.trim();
  const lower = text.toLowerCase();
  if (lower === 'onboot' || lower === '@reboot') return { kind: 'boot', text };
  if (lower === 'onshutdown') return { kind: 'shutdown', text };
  if (lower === 'manual') return { kind: 'manual', text };
  if (lower.startsWith('condition:')) return { kind: 'condition', condition: parseCondition(text), text };
  const every = /^(?:every:|interval:)(.*)$/i.exec(text);
  if (every) {
    const ms = parseDuration(every[1]!.trim());
    if (!ms || ms < 1000)
      throw new ScheduleError(`'${text}': the interval must be a duration of at least 1s (e.g. 6h)`);
    return { kind: 'interval', ms, text };
  }
  const tz = timezoneProblem(timezone);
  if (tz) throw new ScheduleError(tz);
  const seed = seedCalendar(lower);
  const expression = seed ?? text.replace(/^cron:/i, '').trim();
  // The seed's nicknames: weekly/daily/monthly/hourly without the @.
  const nick = ['hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually'].includes(lower)
    ? `@${lower}`
    : expression;
  return { kind: 'cron', expression: nick, timezone, cron: cronOf(nick, timezone), text };
}

const lastAnswer = new WeakMap<Cron, { after: number; next: number }>();

/** The first occurrence of a calendar schedule strictly after `afterMs` (epoch ms), or null. */
export function nextOccurrence(s: Schedule, afterMs: number): number | null {
  if (s.kind === 'cron') {
    // The answer holds for any instant from the one asked up to it: tasks sharing a calendar
    // (and a scheduler planning them all at start) ask croner once.
    const hit = lastAnswer.get(s.cron);
    if (hit && afterMs >= hit.after && afterMs < hit.next) return hit.next;
    const next = s.cron.nextRun(new Date(afterMs))?.getTime() ?? null;
    if (next !== null) lastAnswer.set(s.cron, { after: afterMs, next });
    return next;
  }
  if (s.kind === 'interval') return afterMs + s.ms;
  return null;
}

/** The newest `max` occurrences in (fromMs, toMs], oldest first (for catch-up after an outage). */
export function occurrencesBetween(s: Schedule, fromMs: number, toMs: number, max: number): number[] {
  if (s.kind === 'cron')
    // croner walks back from the end: a long outage of a minutely task costs `max` steps, not the outage.
    return s.cron
      .previousRuns(max, new Date(toMs + 1))
      .map((d) => d.getTime())
      .filter((t) => t > fromMs)
      .reverse();
  if (s.kind !== 'interval' || toMs <= fromMs) return [];
  const n = Math.floor((toMs - fromMs) / s.ms);
  const out: number[] = [];
  for (let k = Math.max(1, n - max + 1); k <= n; k++) out.push(fromMs + k * s.ms);
  return out;
}
