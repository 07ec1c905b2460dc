/**
 * The contribution kinds the daemon declares, for other plugins to fill:
 *
 * - `daemon-job`: periodic work. meta: { description, interval?: "5m" | seconds | null (null:
 *   daemon.interval) | "ask" (the job is invoked once with { schedule: true } when the daemon
 *   starts or reloads and answers { interval }: a setting of its own plugin, e.g. heal.interval),
 *   deadline_seconds?: number, health?: boolean, history?: { since, check?,
 *   limit? } }. Input: JobInput (with `history`: the stored results the meta asked for — how a
 *   sandboxed job, which cannot invoke `history-query`, reads the store). Output
 *   (optional): JobOutput — its `results` go to the history store and the metrics, its `events`
 *   to the event log (rate-limited per plugin) and the history store. A job may be trusted or
 *   sandboxed; a sandboxed plugin reaches the history store only this way.
 * - `daemon-service`: event-driven work, started once when the daemon starts (input
 *   { interval_ms }) and called again with { stop: true } when it stops or reloads.
 * - `dashboard-panel`: a panel of the dashboard. meta: { title }. Called after each checks cycle
 *   (input null) and returns PanelOutput.
 * - `history-query`: the daemon contributes `results` and `events` of this kind, so trusted
 *   plugins read the one history store through ctx.registry.invoke('history-query', …).
 * - `daemon-metric`: a metric family a plugin adds to /metrics; `daemon-metrics`: the daemon's
 *   `record` sink for samples sent outside a job (metric-kind.ts).
 */
import { defineKind, type CheckResult, type ContributionKindDefinition, type Json } from 'cx-ops/sdk';
import type { StoredResult } from './history-store.js';
import { daemonMetricKind, daemonMetricsKind, type MetricSample } from './metric-kind.js';

export interface JobInput {
  /** This job's run count, from 1. */
  cycle: number;
  interval_ms: number;
  deadline_ms: number;
  /** The stored check results the job's meta `history` asked for, newest first (absent when it asked for none). */
  history?: { results: StoredResult[] };
  /** Meta interval 'ask': this call only asks for the interval ({ interval } answers; cycle is 0). */
  schedule?: true;
}

export interface JobEvent {
  level?: 'info' | 'warn' | 'error';
  /**
   * The event's type in the log and the history store: `<plugin>_<what>` (the plugin's name with
   * `-` as `_`, e.g. `heal_unmonitored`), so a consumer (an alert rule) can select it; any other
   * value, or none, is `plugin_event`. A plugin cannot pass off an event as the daemon's own.
   */
  type?: string;
  message: string;
  data?: Record<string, Json>;
}

/** The type an event of `plugin` is logged under (see JobEvent.type). */
export function jobEventType(plugin: string, type: unknown): string {
  const prefix = `${plugin.replace(/-/g, '_')}_`;
  return typeof type === 'string' &&
    type.length <= 64 &&
    type.startsWith(prefix) &&
    /^[a-z][a-z0-9_]*[a-z0-9]$/.test(type)
    ? type
    : 'plugin_event';
}

export interface JobOutput {
  results?: CheckResult[];
  checks?: Record<string, { category: string; severity: string; plugin: string }>;
  events?: JobEvent[];
  /** Samples of this plugin's own `daemon-metric` families. */
  metrics?: MetricSample[];
}

export interface PanelOutput {
  title?: string;
  items: Array<{ label: string; value: string | number; status?: string }>;
}

/** Kind `daemon-job`: a periodic job; its input and output are typed (plugins' jobs answer plain JSON across the sandbox). */
export const daemonJobKind = defineKind<JobInput, unknown>('daemon-job', {
  description:
    'A periodic job of cx-ops daemon: meta { interval (e.g. "5m"; null = daemon.interval), deadline_seconds, health }; returns { results?, events? }',
  metaSchema: {
    type: 'object',
    properties: {
      description: { type: 'string' },
      interval: {
        oneOf: [
          { type: 'null' },
          { const: 'ask' },
          { type: 'number', exclusiveMinimum: 0 },
          { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)?$' },
        ],
      },
      deadline_seconds: { type: 'number', exclusiveMinimum: 0 },
      health: { type: 'boolean' },
      history: {
        type: 'object',
        additionalProperties: false,
        required: ['since'],
        properties: {
          since: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$' },
          check: { type: 'string' },
          limit: { type: 'integer', minimum: 1, maximum: 1000 },
        },
      },
    },
  },
});

export const DAEMON_KINDS: ContributionKindDefinition[] = [
  daemonJobKind,
  {
    kind: 'daemon-service',
    description:
      'An event-driven service of cx-ops daemon: started with { interval_ms } when the daemon starts, called with { stop: true } when it stops',
  },
  {
    kind: 'dashboard-panel',
    description:
      'A panel of the cx-ops dashboard: meta { title }; returns { items: [{ label, value, status? }] } after each cycle',
  },
  {
    kind: 'history-query',
    description:
      'Reads the daemon history store: ids results ({ check?, since_ms?, limit? }) and events ({ since_ms?, limit? })',
  },
  daemonMetricKind,
  daemonMetricsKind,
];

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** A job's answer as the daemon reads it (plugin data: each field is checked where it is used). */
export function jobOutputOf(v: unknown): JobOutput | null {
  const o: unknown = v;
  return isObject(o) ? (o as JobOutput) : null;
}

/** A panel's answer, or null when it is not { items: [...] }. */
export function panelOutputOf(v: Json): PanelOutput | null {
  const o: unknown = v;
  if (!isObject(o) || !Array.isArray(o.items)) return null;
  const items = o.items.filter(isObject).map((i) => ({
    label: String(i.label ?? ''),
    value: typeof i.value === 'number' ? i.value : String(i.value ?? ''),
    ...(i.status !== undefined ? { status: String(i.status) } : {}),
  }));
  return { title: typeof o.title === 'string' ? o.title : undefined, items };
}
