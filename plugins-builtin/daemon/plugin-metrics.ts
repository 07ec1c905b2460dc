/**
 * The plugins' metric families in the daemon's registry (see metric-kind.ts for the contract):
 * registered from the `daemon-metric` contributions of the kernel in use, re-synced on reload,
 * moved only by samples of the plugin that declared them.
 */
import { Counter, Gauge, Histogram, type Registry } from './prom-classes.js';
import type { ContributionInfo } from 'cx-ops/sdk';
import { declarationOf, declarationProblem, MAX_SERIES, type MetricDeclaration } from './metric-kind.js';

interface Family {
  plugin: string;
  signature: string;
  declaration: MetricDeclaration;
  metric: Counter | Gauge | Histogram;
  series: Set<string>;
}

export class PluginMetrics {
  private readonly families = new Map<string, Family>();

  /** @param reserved the daemon's own metric names (a plugin cannot declare them). */
  constructor(
    private readonly registry: Registry,
    private readonly reserved: () => Set<string>,
    private readonly onReject: (plugin: string, why: string) => void,
  ) {}

  /** Registers the families declared now; drops those no longer declared. Returns the problems, one per refused family. */
  sync(declared: ContributionInfo[]): Array<{ plugin: string; metric: string; problem: string }> {
    const problems: Array<{ plugin: string; metric: string; problem: string }> = [];
    const keep = new Set<string>();
    for (const c of declared) {
      const d = declarationOf(c.meta);
      const problem =
        declarationProblem(c.id, d) ??
        (this.reserved().has(c.id) && !this.families.has(c.id) ? `'${c.id}' is one of the daemon's own metrics` : null);
      if (problem) {
        problems.push({ plugin: c.plugin, metric: c.id, problem });
        continue;
      }
      keep.add(c.id);
      const signature = JSON.stringify([c.plugin, d]);
      const had = this.families.get(c.id);
      if (had?.signature === signature) continue;
      if (had) this.registry.removeSingleMetric(c.id);
      const common = { name: c.id, help: d.help, labelNames: d.labels ?? [], registers: [this.registry] };
      const metric =
        d.type === 'counter'
          ? new Counter(common)
          : d.type === 'gauge'
            ? new Gauge(common)
            : new Histogram({ ...common, ...(d.buckets ? { buckets: d.buckets } : {}) });
      this.families.set(c.id, { plugin: c.plugin, signature, declaration: d, metric, series: new Set() });
    }
    for (const [name] of this.families) {
      if (keep.has(name)) continue;
      this.registry.removeSingleMetric(name);
      this.families.delete(name);
    }
    return problems;
  }

  /** Applies `plugin`'s samples (plugin data: each is checked); returns how many were taken and dropped. */
  record(plugin: string, samples: unknown): { accepted: number; rejected: number } {
    let accepted = 0;
    let rejected = 0;
    const list = Array.isArray(samples) ? samples.slice(0, 10_000) : [];
    for (const s of list) {
      const why = this.apply(plugin, s);
      if (why === null) accepted++;
      else {
        rejected++;
        this.onReject(plugin, why);
      }
    }
    return { accepted, rejected };
  }

  /** The family names registered now. */
  names(): string[] {
    return [...this.families.keys()];
  }

  private apply(plugin: string, s: unknown): string | null {
    if (!s || typeof s !== 'object') return 'a sample is not an object';
    const {
      metric,
      labels = {},
      inc,
      set,
      observe,
    } = s as Partial<Record<'metric' | 'labels' | 'inc' | 'set' | 'observe', unknown>>;
    const f = typeof metric === 'string' ? this.families.get(metric) : undefined;
    if (!f) return `no metric '${String(metric)}' is declared (declare it with defineDaemonMetric)`;
    if (f.plugin !== plugin) return `metric '${String(metric)}' belongs to plugin '${f.plugin}'`;
    if (!labels || typeof labels !== 'object' || Array.isArray(labels))
      return `the labels of a '${String(metric)}' sample are not an object`;
    const names = f.declaration.labels ?? [];
    const given = Object.entries(labels as Record<string, unknown>);
    if (
      given.length !== names.length ||
      given.some(([k, v]) => !names.includes(k) || typeof v !== 'string' || v.length > 200)
    ) {
      return `a '${String(metric)}' sample must carry exactly the labels ${names.join(', ') || '(none)'}, as strings`;
    }
    const l = labels as Record<string, string>;
    const key = names.map((n) => l[n]).join('\u0000');
    if (!f.series.has(key) && f.series.size >= MAX_SERIES)
      return `'${String(metric)}' already has ${MAX_SERIES} label combinations`;
    const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    const t = f.declaration.type;
    if (t === 'counter' && num(inc) && (inc as number) >= 0 && set === undefined && observe === undefined)
      (f.metric as Counter).inc(l, inc as number);
    else if (t === 'gauge' && num(set) && inc === undefined && observe === undefined)
      (f.metric as Gauge).set(l, set as number);
    else if (t === 'gauge' && num(inc) && set === undefined && observe === undefined)
      (f.metric as Gauge).inc(l, inc as number);
    else if (t === 'histogram' && num(observe) && inc === undefined && set === undefined)
      (f.metric as Histogram).observe(l, observe as number);
    else
      return `a ${t} sample of '${String(metric)}' needs ${t === 'counter' ? 'inc (≥ 0)' : t === 'gauge' ? 'set or inc' : 'observe'}, a finite number, and nothing else`;
    f.series.add(key);
    return null;
  }
}
