/**
 * The daemon's Prometheus registry (prom-client): the seed's cx_ops_* series, the daemon's own,
 * and the Node process metrics. One registry per daemon process (never prom-client's global one);
 * plugins' own families (kind `daemon-metric`, metric-kind.ts) join it through `plugins`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from './prom-classes.js';
import type { CheckResult } from 'cx-ops/sdk';
import { PluginMetrics } from './plugin-metrics.js';

export const STATUS_VALUE: Record<CheckResult['status'], number> = { PASS: 0, WARN: 1, FAIL: 2, ERROR: 3, SKIP: -1 };

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly checksTotal = new Counter({
    name: 'cx_ops_checks_total',
    help: 'Check results by check and status',
    labelNames: ['check', 'status'],
    registers: [this.registry],
  });
  readonly checkDuration = new Histogram({
    name: 'cx_ops_check_duration_seconds',
    help: 'How long each check took',
    labelNames: ['check'],
    registers: [this.registry],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  readonly checkStatus = new Gauge({
    name: 'cx_ops_check_status',
    help: 'Latest status of each check: 0 pass, 1 warn, 2 fail, 3 error, -1 skip',
    labelNames: ['check'],
    registers: [this.registry],
  });
  readonly repairsTotal = new Counter({
    name: 'cx_ops_repairs_total',
    help: 'Repairs performed by type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly updatesApplied = new Counter({
    name: 'cx_ops_updates_applied_total',
    help: 'Updates applied by type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly cycleDuration = new Histogram({
    name: 'cx_ops_daemon_cycle_duration_seconds',
    help: 'Duration of each job run',
    labelNames: ['job'],
    registers: [this.registry],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  });
  readonly cyclesTotal = new Counter({
    name: 'cx_ops_daemon_cycles_total',
    help: 'Job runs by outcome (ok, failed, timeout)',
    labelNames: ['job', 'outcome'],
    registers: [this.registry],
  });
  readonly cyclesSkipped = new Counter({
    name: 'cx_ops_daemon_cycles_skipped_total',
    help: 'Ticks skipped because the previous run of the job was still going',
    labelNames: ['job'],
    registers: [this.registry],
  });
  readonly lastCycle = new Gauge({
    name: 'cx_ops_daemon_last_cycle_timestamp_seconds',
    help: 'When the last run of each job ended (Unix time)',
    labelNames: ['job'],
    registers: [this.registry],
  });
  readonly pluginFailures = new Counter({
    name: 'cx_ops_daemon_plugin_failures_total',
    help: 'Errors, timeouts and crashes of plugin code, by plugin',
    labelNames: ['plugin'],
    registers: [this.registry],
  });
  readonly sandboxRestarts = new Counter({
    name: 'cx_ops_daemon_sandbox_restarts_total',
    help: 'Times the sandbox process died (it is restarted on the next call)',
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'cx_ops_daemon_reloads_total',
    help: 'SIGHUP reloads by outcome (ok, refused)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly logSuppressed = new Counter({
    name: 'cx_ops_daemon_log_lines_suppressed_total',
    help: 'Log lines dropped by the per-plugin rate limit',
    labelNames: ['plugin'],
    registers: [this.registry],
  });
  readonly historyErrors = new Counter({
    name: 'cx_ops_daemon_history_write_errors_total',
    help: 'Records the history store could not write (e.g. disk full)',
    registers: [this.registry],
  });
  /** Requests counted since the last scrape, by "route code" (moved into the counter when it is collected). */
  private readonly requestCounts = new Map<string, number>();
  readonly httpRequests = new Counter({
    name: 'cx_ops_daemon_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'code'],
    registers: [this.registry],
    collect: () => this.moveRequestCounts(),
  });
  readonly samplesRejected = new Counter({
    name: 'cx_ops_daemon_metric_samples_rejected_total',
    help: "Plugin metric samples dropped (undeclared family, another plugin's, wrong labels or value)",
    labelNames: ['plugin'],
    registers: [this.registry],
  });
  private readonly own: Set<string>;
  /** The plugins' families; `onReject` hears of each dropped sample (the daemon logs it, rate-limited). */
  readonly plugins: PluginMetrics;

  /**
   * Process metrics, read at scrape time. (prom-client's collectDefaultMetrics is not used: three
   * of its gauges end in _total, which `promtool check metrics` rejects.)
   */
  constructor(onReject: (plugin: string, why: string) => void = () => undefined) {
    const r = [this.registry];
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes',
      registers: r,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: 'process_heap_bytes',
      help: 'V8 heap in use, in bytes',
      registers: r,
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    new Counter({
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time spent, in seconds',
      registers: r,
      collect() {
        const u = process.cpuUsage();
        this.reset();
        this.inc((u.user + u.system) / 1e6);
      },
    });
    new Gauge({
      name: 'process_start_time_seconds',
      help: 'Start time of the process since the Unix epoch, in seconds',
      registers: r,
      collect() {
        this.set(Math.round(Date.now() / 1000 - process.uptime()));
      },
    });
    new Gauge({
      name: 'nodejs_eventloop_lag_p99_seconds',
      help: 'Event loop delay, 99th percentile since the last scrape, in seconds',
      registers: r,
      collect() {
        this.set(loop.percentile(99) / 1e9);
        loop.reset();
      },
    });
    this.own = new Set(this.registry.getMetricsAsArray().map((m) => m.name));
    this.plugins = new PluginMetrics(
      this.registry,
      () => this.own,
      (plugin, why) => {
        this.samplesRejected.inc({ plugin });
        onReject(plugin, why);
      },
    );
  }

  /**
   * Counts one HTTP request: a Map entry, not a labelled counter update, on the hot path of a
   * flood of scrapers; the counter catches up whenever it is read.
   */
  countRequest(route: string, code: number): void {
    const key = `${route} ${code}`;
    this.requestCounts.set(key, (this.requestCounts.get(key) ?? 0) + 1);
  }

  private moveRequestCounts(): void {
    for (const [key, n] of this.requestCounts) {
      const i = key.indexOf(' ');
      this.httpRequests.inc({ route: key.slice(0, i), code: key.slice(i + 1) }, n);
    }
    this.requestCounts.clear();
  }

  /** Counts one cycle's check results. */
  observeResults(results: CheckResult[]): void {
    for (const r of results) {
      this.checksTotal.inc({ check: r.check_id, status: r.status.toLowerCase() });
      this.checkDuration.observe({ check: r.check_id }, r.duration_ms / 1000);
      this.checkStatus.set({ check: r.check_id }, STATUS_VALUE[r.status]);
      const code = typeof r.details?.code === 'string' ? r.details.code : undefined;
      const plugin = typeof r.details?.plugin === 'string' ? r.details.plugin : undefined;
      if (r.status === 'ERROR' && plugin) this.pluginFailures.inc({ plugin });
      if (code === 'CX_ERR_SANDBOX_CRASHED' || code === 'CX_ERR_SANDBOX_MEMORY') this.sandboxRestarts.inc();
    }
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
