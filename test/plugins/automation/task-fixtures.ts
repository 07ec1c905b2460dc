/** Resolved tasks for the scheduler and runner tests, and the clock over vitest's fake timers. */
import type { ResolvedTask } from '../../../plugins-builtin/automation/automation-config.js';
import type { Clock } from '../../../plugins-builtin/daemon/scheduler.js';
import { parseSchedule } from '../../../plugins-builtin/automation/schedule.js';

/** Date.now and setTimeout as vi.useFakeTimers drives them. */
export const fakeClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A configured task with the defaults of plugin.yaml; `schedule` is parsed in `timezone` (UTC by default). */
export function task(
  id: string,
  o: Partial<Omit<ResolvedTask, 'schedule'>> & { schedule?: unknown } = {},
): ResolvedTask {
  const timezone = o.timezone ?? 'UTC';
  const { schedule, ...rest } = o;
  return {
    id,
    type: 'command',
    plugin: 'automation',
    name: id,
    description: id,
    task_type: 'maintenance',
    priority: 'medium',
    prerequisites: [],
    enabled: true,
    timezone,
    persistent: true,
    catch_up: 'once',
    catch_up_max: 10,
    randomized_delay_ms: 0,
    accuracy_ms: 0,
    overlap: 'skip',
    cooldown_ms: 3_600_000,
    timeout_ms: 3_600_000,
    max_retries: 0,
    estimated_ms: 1000,
    config: {},
    ...rest,
    schedule: parseSchedule(schedule ?? 'manual', timezone),
  };
}

export const iso = (ms: number) => new Date(ms).toISOString();
