/**
 * What the daemon knows between cycles: the last completed checks cycle (the only source of
 * /health and /api/v1/checks — requests never run checks), and who listens for live updates.
 */
import type { CheckResult } from 'cx-ops/sdk';

export interface CompletedCycle {
  cycle: number;
  started_at: number;
  ended_at: number;
  duration_ms: number;
  results: CheckResult[];
  /** Category, severity and plugin per check id. */
  checks: Record<string, { category: string; severity: string; plugin: string }>;
}

export interface Health {
  /** healthy: no FAIL/ERROR; unhealthy: some; stale: the last cycle is older than 3 intervals; starting: none yet. */
  status: 'healthy' | 'unhealthy' | 'stale' | 'starting';
  checks: Record<string, 'pass' | 'warn' | 'fail' | 'skip' | 'error'>;
  timestamp: string | null;
  age_seconds: number | null;
  interval_seconds: number;
  cycle: number | null;
}

export class DaemonState {
  last?: CompletedCycle;
  private readonly listeners = new Set<(type: string, data: unknown) => void>();

  constructor(
    public intervalMs: number,
    readonly startedAt = Date.now(),
  ) {}

  health(now = Date.now()): Health {
    const last = this.last;
    const interval_seconds = this.intervalMs / 1000;
    if (!last)
      return { status: 'starting', checks: {}, timestamp: null, age_seconds: null, interval_seconds, cycle: null };
    const age = Math.max(0, now - last.ended_at);
    const checks = Object.fromEntries(
      last.results.map((r) => [r.check_id, r.status.toLowerCase()]),
    ) as Health['checks'];
    const bad = last.results.some((r) => r.status === 'FAIL' || r.status === 'ERROR');
    const stale = age > 3 * this.intervalMs;
    return {
      status: stale ? 'stale' : bad ? 'unhealthy' : 'healthy',
      checks,
      timestamp: new Date(last.ended_at).toISOString(),
      age_seconds: Math.round(age / 100) / 10,
      interval_seconds,
      cycle: last.cycle,
    };
  }

  subscribe(fn: (type: string, data: unknown) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  publish(type: string, data: unknown): void {
    for (const fn of this.listeners) {
      try {
        fn(type, data);
      } catch {
        /* a gone client is removed by its own close handler */
      }
    }
  }
}
