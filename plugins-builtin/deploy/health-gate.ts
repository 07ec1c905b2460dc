/**
 * The health gate of one service in a rollout: compose's probe timing (interval, timeout,
 * retries, start_period during which failures do not count, start_interval) with the first
 * probe at once, and Nomad's gate (healthy continuously for min_healthy_time, before
 * healthy_deadline). The clock is a parameter, so tests drive it without waiting.
 */
import type { ProbeTiming } from './health-check-form.js';
import type { HealthProbe } from './health-check-kind.js';

/** Time as the gate sees it. */
export type Clock = { now(): number; sleep(ms: number): Promise<void> };

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export type GateSettings = { timing: ProbeTiming; minHealthyMs: number; deadlineMs: number };

export type GateProbe = { atMs: number; state: HealthProbe['state']; detail: string; counted: boolean };

export type GateResult = { ok: boolean; reason: string; probes: GateProbe[] };

/** Probes until the service passes or fails its gate. Degraded counts as up (Consul's warning). */
export async function healthGate(
  probe: () => Promise<HealthProbe>,
  s: GateSettings,
  clock: Clock,
): Promise<GateResult> {
  const start = clock.now();
  const probes: GateProbe[] = [];
  let upSince: number | null = null;
  let failures = 0;
  for (;;) {
    const p = await probe();
    const now = clock.now();
    const elapsed = now - start;
    const starting = elapsed < s.timing.startPeriodMs;
    const up = p.state !== 'unhealthy';
    probes.push({ atMs: elapsed, state: p.state, detail: p.detail, counted: !up && !starting });
    if (up) {
      upSince ??= now;
      failures = 0;
      if (now - upSince >= s.minHealthyMs)
        return {
          ok: true,
          reason: `${p.state} (${p.detail})${s.minHealthyMs ? ` for ${s.minHealthyMs / 1000}s` : ''}`,
          probes,
        };
    } else {
      upSince = null;
      if (!starting && ++failures >= s.timing.retries)
        return {
          ok: false,
          reason: `unhealthy: ${failures} failed probe${failures === 1 ? '' : 's'} in a row (retries ${s.timing.retries}); last: ${p.detail}`,
          probes,
        };
    }
    if (elapsed >= s.deadlineMs)
      return {
        ok: false,
        reason: `not healthy for ${s.minHealthyMs / 1000}s within healthy_deadline ${s.deadlineMs / 1000}s; last: ${p.state} (${p.detail})`,
        probes,
      };
    let wait = starting && upSince === null ? s.timing.startIntervalMs : s.timing.intervalMs;
    if (upSince !== null) wait = Math.min(wait, upSince + s.minHealthyMs - now);
    wait = Math.max(0, Math.min(wait, s.deadlineMs - elapsed));
    await clock.sleep(wait);
  }
}

/** What a completion probe saw: still running, or done with an exit code (null: unknown). */
export type CompletionProbe = { done: boolean; exit_code: number | null; detail: string };

/**
 * The gate of a run-once service that a dependent needs `service_completed_successfully` of
 * (compose): polled at once and then every `intervalMs` until it has run to its end; exit 0
 * passes, anything else fails, and still running at `deadlineMs` fails.
 */
export async function completionGate(
  probe: () => Promise<CompletionProbe>,
  s: { intervalMs: number; deadlineMs: number },
  clock: Clock,
): Promise<GateResult> {
  const start = clock.now();
  const probes: GateProbe[] = [];
  for (;;) {
    const p = await probe();
    const elapsed = clock.now() - start;
    const state = !p.done ? 'degraded' : p.exit_code === 0 ? 'healthy' : 'unhealthy';
    probes.push({ atMs: elapsed, state, detail: p.detail, counted: p.done });
    if (p.done)
      return p.exit_code === 0
        ? { ok: true, reason: `completed successfully (${p.detail})`, probes }
        : {
            ok: false,
            reason: `did not complete successfully: ${p.exit_code === null ? 'its exit status is unknown' : `exit ${p.exit_code}`} (${p.detail})`,
            probes,
          };
    if (elapsed >= s.deadlineMs)
      return {
        ok: false,
        reason: `still running at healthy_deadline ${s.deadlineMs / 1000}s; service_completed_successfully needs it to run to its end (${p.detail})`,
        probes,
      };
    await clock.sleep(Math.max(0, Math.min(s.intervalMs, s.deadlineMs - elapsed)));
  }
}
