/**
 * What the HTTP face answers, from the daemon's state: /health, /metrics and /api/v1/… (each
 * response has its JSON Schema in schemas/daemon-api-*.schema.json). Nothing here runs a check.
 */
import type { DaemonMetrics } from './daemon-metrics.js';
import type { DaemonState, Health } from './daemon-state.js';
import { parseDuration } from './duration.js';
import type { EventLog } from './event-log.js';
import type { HistoryStore } from './history-store.js';
import type { HttpRoutes } from './http-server.js';
import type { PanelOutput } from './job-kind.js';
import type { JobStats } from './scheduler.js';

export interface ApiSources {
  state: DaemonState;
  metrics: DaemonMetrics;
  log: EventLog;
  history(): HistoryStore | undefined;
  jobs(): JobStats[];
  panels(): Array<PanelOutput & { id: string; plugin: string }>;
  info(): Record<string, unknown>;
}

export const API_ENDPOINTS = [
  {
    path: '/health',
    description: "the seed's health JSON from the last completed cycle (200 healthy, 503 otherwise)",
    schema: 'daemon-health.schema.json',
  },
  { path: '/metrics', description: 'Prometheus exposition', schema: null },
  {
    path: '/api/v1/checks',
    description: 'the last completed cycle: every check with status, message, category',
    schema: 'daemon-api-checks.schema.json',
  },
  {
    path: '/api/v1/history?check=ID&since=1h&limit=N',
    description: 'stored check results, newest first',
    schema: 'daemon-api-history.schema.json',
  },
  {
    path: '/api/v1/events?since=1h&limit=N',
    description: 'daemon events, newest first',
    schema: 'daemon-api-events.schema.json',
  },
  {
    path: '/api/v1/status',
    description: 'the daemon: version, jobs and their counters',
    schema: 'daemon-api-status.schema.json',
  },
  {
    path: '/api/v1/panels',
    description: 'dashboard panels other plugins contribute',
    schema: 'daemon-api-panels.schema.json',
  },
  { path: '/api/v1/stream', description: 'Server-Sent Events: cycle, event, panels', schema: null },
];

/**
 * How long one rendering of /metrics is served again. Prometheus scrapes every 15-60 s; a flood
 * of scrapers (or 50 at once) then costs one rendering a second instead of one each.
 */
export const METRICS_REUSE_MS = 1000;

export function apiRoutes(src: ApiSources): { routes: HttpRoutes; checksBody(): Record<string, unknown> } {
  let rendered: { at: number; body: Promise<Buffer> } | undefined;
  const exposition = (): Promise<Buffer> => {
    const now = Date.now();
    if (!rendered || now - rendered.at >= METRICS_REUSE_MS) {
      const body = src.metrics.exposition().then((text) => Buffer.from(text));
      rendered = { at: now, body };
      body.catch(() => {
        if (rendered?.body === body) rendered = undefined;
      });
    }
    return rendered.body;
  };
  const checksBody = () => {
    const last = src.state.last;
    const health: Health = src.state.health();
    return {
      cycle: last?.cycle ?? null,
      timestamp: last ? new Date(last.ended_at).toISOString() : null,
      age_seconds: health.age_seconds,
      duration_ms: last ? Math.round(last.duration_ms) : null,
      health,
      results: (last?.results ?? []).map((r) => ({
        check_id: r.check_id,
        name: r.name,
        status: r.status,
        message: r.message,
        duration_ms: r.duration_ms,
        fix_id: r.fix_id,
        category: last?.checks[r.check_id]?.category ?? 'other',
        severity: last?.checks[r.check_id]?.severity ?? 'medium',
        plugin: last?.checks[r.check_id]?.plugin ?? null,
      })),
    };
  };
  const sinceOf = (q: URLSearchParams): number | undefined | { status: number; error: string } => {
    const v = q.get('since');
    if (v === null) return undefined;
    const ms = parseDuration(v);
    return ms === undefined
      ? { status: 400, error: `since=${v} is not a duration (e.g. 30m, 1h, 7d)` }
      : Date.now() - ms;
  };
  const limitOf = (q: URLSearchParams, dflt: number, max: number) => {
    const n = Number(q.get('limit') ?? dflt);
    return Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), max) : dflt;
  };
  // /health as text, made again only when what it says changes: another cycle, another interval,
  // or its age in the tenths of a second it is given in (a flood of probes costs one rendering a
  // tenth of a second, not one each).
  let healthText: { last: unknown; intervalMs: number; tenth: number; code: number; body: Buffer } | undefined;
  const routes: HttpRoutes = {
    health: () => {
      const now = Date.now();
      const last = src.state.last;
      const tenth = last ? Math.round(Math.max(0, now - last.ended_at) / 100) : -1;
      const c = healthText;
      if (c && c.last === last && c.intervalMs === src.state.intervalMs && c.tenth === tenth)
        return { code: c.code, body: c.body };
      const h = src.state.health(now);
      const code = h.status === 'healthy' ? 200 : 503;
      healthText = {
        last,
        intervalMs: src.state.intervalMs,
        tenth,
        code,
        body: Buffer.from(`${JSON.stringify(h, null, 2)}\n`),
      };
      return { code, body: healthText.body };
    },
    metrics: async () => ({ contentType: src.metrics.contentType, body: await exposition() }),
    count: (route, code) => src.metrics.countRequest(route, code),
    stream: (send) => {
      send('cycle', checksBody());
      return src.state.subscribe(send);
    },
    api: async (path, q) => {
      switch (path) {
        case '':
          return { endpoints: API_ENDPOINTS };
        case 'checks':
          return checksBody();
        case 'history': {
          const since = sinceOf(q);
          if (since && typeof since === 'object') return since;
          const h = src.history();
          return {
            available: Boolean(h),
            results: h ? h.results({ check: q.get('check') ?? undefined, since, limit: limitOf(q, 500, 5000) }) : [],
          };
        }
        case 'events': {
          const since = sinceOf(q);
          if (since && typeof since === 'object') return since;
          const h = src.history();
          const limit = limitOf(q, 100, 1000);
          const events = h
            ? h.events({ since, limit })
            : [...src.log.recent]
                .reverse()
                .filter((e) => since === undefined || Date.parse(e.ts) >= since)
                .slice(0, limit);
          return { events: events.map((e) => ({ ...e, data: e.data ?? null })) };
        }
        case 'status':
          return {
            ...src.info(),
            jobs: src.jobs(),
            log_suppressed: src.log.suppressed(),
            live_clients: src.state.subscribers,
            history_rows: src.history()?.counts() ?? null,
          };
        case 'panels':
          return { panels: src.panels() };
        default:
          return undefined;
      }
    },
  };
  return { routes, checksBody };
}
