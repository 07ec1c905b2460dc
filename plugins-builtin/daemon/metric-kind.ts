/**
 * Plugins' own metrics in the daemon's one Prometheus registry, without a global registry and
 * without the kernel knowing about metrics:
 *
 * - A plugin declares each metric family it owns as a contribution of kind `daemon-metric`
 *   (`defineDaemonMetric`): id = the metric name, meta = { type, help, labels, buckets }. The
 *   daemon registers the families of the plugins loaded now, and again on reload (a family whose
 *   declaration is unchanged keeps its values; one whose plugin is gone leaves /metrics).
 * - Values arrive as samples ({ metric, labels, inc | set | observe }): returned by the plugin's
 *   own `daemon-job` runs (`JobOutput.metrics`, so sandboxed plugins can too), or sent by trusted
 *   code that runs outside a job (a hook tap, a service) with `recordMetrics`, which invokes the
 *   daemon's `daemon-metrics` contribution `record`. A plugin can only move the families it
 *   declared; a sample that does not fit its declaration is dropped and counted
 *   (cx_ops_daemon_metric_samples_rejected_total{plugin}).
 * - Each family keeps at most MAX_SERIES label combinations, so a plugin cannot grow the
 *   daemon's memory through label values.
 */
import { defineContribution, defineKind, type Contribution, type Json, type PluginContext } from 'cx-ops/sdk';
import type { PluginMetrics } from './plugin-metrics.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** What a `daemon-metric` contribution declares (its meta). */
export interface MetricDeclaration {
  type: MetricType;
  help: string;
  /** Label names, at most 8 (none: one series). */
  labels?: string[];
  /** Histogram bucket bounds, ascending (default: prom-client's). */
  buckets?: number[];
}

/** One change to a declared family: `inc` for counters (and gauges), `set` for gauges, `observe` for histograms. */
export interface MetricSample {
  metric: string;
  labels?: Record<string, string>;
  inc?: number;
  set?: number;
  observe?: number;
}

/** The most label combinations one family keeps; samples for more are rejected. */
export const MAX_SERIES = 1000;

export const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const METRIC_META_SCHEMA: Record<string, Json> = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'help'],
  properties: {
    type: { enum: ['counter', 'gauge', 'histogram'] },
    help: { type: 'string', minLength: 1, maxLength: 500 },
    labels: { type: 'array', maxItems: 8, uniqueItems: true, items: { type: 'string', pattern: LABEL_NAME.source } },
    buckets: { type: 'array', minItems: 1, maxItems: 30, items: { type: 'number' } },
  },
};

/** What the daemon's `record` sink is sent, and answers. */
export interface MetricsRecordInput {
  plugin: string;
  samples: MetricSample[];
}
export interface MetricsRecordOutput {
  accepted: number;
  rejected: number;
  /** False when no daemon runs in this process (the samples went nowhere). */
  daemon: boolean;
}

/** Kind `daemon-metric`: one contribution per metric family a plugin owns (id = metric name). */
export const daemonMetricKind = defineKind<null, null>('daemon-metric', {
  description:
    'A metric family of the plugin on the daemon /metrics: id = metric name, meta { type: counter|gauge|histogram, help, labels?, buckets? }',
  metaSchema: METRIC_META_SCHEMA,
});

/** Kind `daemon-metrics`: the daemon's sink (id `record`) for samples sent outside a job. */
export const daemonMetricsKind = defineKind<MetricsRecordInput, MetricsRecordOutput>('daemon-metrics', {
  description: "The daemon's sink for metric samples sent outside a job: id record, input { plugin, samples }",
});

/**
 * Declares a metric family of this plugin. Name it after the plugin (`cx_ops_<area>_…`); a
 * counter's name ends in `_total`, as Prometheus (and `promtool check metrics`) expects.
 * @public (for other plugins: import it from plugins-builtin/daemon/metric-kind.js)
 */
export function defineDaemonMetric(name: string, declaration: MetricDeclaration): Contribution<null, null> {
  const meta: Record<string, Json> = { type: declaration.type, help: declaration.help };
  if (declaration.labels) meta.labels = declaration.labels;
  if (declaration.buckets) meta.buckets = declaration.buckets;
  return defineContribution(daemonMetricKind, name, meta, async () => null);
}

/**
 * Sends samples of `plugin`'s own families to the running daemon (trusted plugins; a no-op when no daemon runs).
 * @public (for other plugins: import it from plugins-builtin/daemon/metric-kind.js)
 */
export async function recordMetrics(
  ctx: PluginContext<unknown>,
  samples: MetricSample[],
): Promise<{ accepted: number; rejected: number }> {
  const sinks = await ctx.registry.list(daemonMetricsKind).catch(() => []);
  if (!sinks.some((s) => s.id === 'record')) return { accepted: 0, rejected: 0 };
  const out = await ctx.registry.invoke(daemonMetricsKind, 'record', { plugin: ctx.plugin, samples });
  return { accepted: Number(out?.accepted ?? 0), rejected: Number(out?.rejected ?? 0) };
}

/** Why a declaration cannot be registered, or null. */
export function declarationProblem(name: string, d: MetricDeclaration): string | null {
  if (!METRIC_NAME.test(name)) return `'${name}' is not a Prometheus metric name`;
  if (d.type === 'counter' && !name.endsWith('_total')) return `counter '${name}' must end in _total`;
  if (d.type !== 'counter' && name.endsWith('_total'))
    return `${d.type} '${name}' must not end in _total (only counters do)`;
  if (d.buckets && d.buckets.some((b, i) => i > 0 && b <= d.buckets![i - 1]!))
    return `the buckets of '${name}' must ascend`;
  if ((d.labels ?? []).some((l) => !LABEL_NAME.test(l) || l.startsWith('__') || (d.type === 'histogram' && l === 'le')))
    return `a label name of '${name}' is reserved or invalid`;
  return null;
}

/** The declaration in a contribution's meta (validated by the kind's metaSchema at registration). */
export function declarationOf(meta: Record<string, Json>): MetricDeclaration {
  const labels = Array.isArray(meta.labels) ? meta.labels.map(String) : undefined;
  const buckets = Array.isArray(meta.buckets) ? meta.buckets.map(Number) : undefined;
  return {
    type: meta.type as MetricType,
    help: String(meta.help),
    ...(labels ? { labels } : {}),
    ...(buckets ? { buckets } : {}),
  };
}

let active: PluginMetrics | undefined;

/** Set by the running daemon (undefined when it stops). */
export function setActiveMetrics(m: PluginMetrics | undefined): void {
  active = m;
}

/** The daemon's sink for samples sent outside a job: `daemon-metrics` 'record', input { plugin, samples }. */
export const metricsRecord = defineContribution(
  daemonMetricsKind,
  'record',
  {
    description:
      "applies a plugin's samples to its own daemon-metric families: input { plugin, samples: [{ metric, labels?, inc | set | observe }] }",
  },
  async (_ctx, input) => {
    // Caller data: checked here, sample by sample in PluginMetrics.record.
    const o: unknown = input;
    const plugin = o && typeof o === 'object' ? (o as { plugin?: unknown }).plugin : undefined;
    if (!active || typeof plugin !== 'string') return { accepted: 0, rejected: 0, daemon: Boolean(active) };
    return { ...active.record(plugin, (o as { samples?: unknown }).samples), daemon: true };
  },
);
