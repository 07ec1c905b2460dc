/**
 * The heal plugin's metric families on the daemon's /metrics (kind `daemon-metric`), the seed's
 * seven under Prometheus naming (counters end in _total, durations are _seconds, a rate is a
 * 0-1 _ratio, a timestamp says so), plus open issues and unmonitored components.
 */
import { defineDaemonMetric, type MetricSample } from '../daemon/metric-kind.js';
import type { CycleOutcome } from './heal-engine.js';
import type { HealState } from './heal-store.js';
import { keyOf } from './judge.js';

const BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

const N = {
  detected: 'cx_ops_heal_issues_detected_total',
  resolved: 'cx_ops_heal_issues_resolved_total',
  failed: 'cx_ops_heal_issues_failed_total',
  last: 'cx_ops_heal_last_check_timestamp_seconds',
  ratio: 'cx_ops_heal_success_ratio',
  detection: 'cx_ops_heal_detection_duration_seconds',
  resolution: 'cx_ops_heal_resolution_duration_seconds',
  open: 'cx_ops_heal_open_issues',
  unmonitored: 'cx_ops_heal_unmonitored_components',
} as const;

export const METRICS = {
  families: [
    defineDaemonMetric(N.detected, {
      type: 'counter',
      help: 'Issues that opened (seed: healing_issues_detected), by detector and severity',
      labels: ['detector', 'severity'],
    }),
    defineDaemonMetric(N.resolved, {
      type: 'counter',
      help: 'Actions that succeeded (seed: healing_issues_resolved), by action',
      labels: ['action'],
    }),
    defineDaemonMetric(N.failed, {
      type: 'counter',
      help: 'Actions that failed (seed: healing_issues_failed), by action',
      labels: ['action'],
    }),
    defineDaemonMetric(N.last, {
      type: 'gauge',
      help: 'When the last heal cycle ended, Unix seconds (seed: healing_last_check)',
    }),
    defineDaemonMetric(N.ratio, {
      type: 'gauge',
      help: 'Succeeded actions over all actions performed, 0-1 (seed: healing_success_rate, a percentage)',
    }),
    defineDaemonMetric(N.detection, {
      type: 'histogram',
      help: 'Time to read the host for one cycle (seed: healing_detection_time_ms)',
      buckets: BUCKETS,
    }),
    defineDaemonMetric(N.resolution, {
      type: 'histogram',
      help: 'Time to resolve and act on one issue (seed: healing_resolution_time_ms)',
      buckets: BUCKETS,
    }),
    defineDaemonMetric(N.open, { type: 'gauge', help: 'Issues open after the last cycle' }),
    defineDaemonMetric(N.unmonitored, {
      type: 'gauge',
      help: 'Components left alone because their remediation budget is exhausted',
    }),
  ],
  /** One cycle's samples (dry runs count detections, not actions). */
  samples(outcome: CycleOutcome, state: HealState, detectionMs: number, dryRun: boolean): MetricSample[] {
    const s: MetricSample[] = [];
    for (const key of outcome.judgement.opened) {
      const i = outcome.judgement.issues.find((x) => keyOf(x) === key);
      if (i) s.push({ metric: N.detected, labels: { detector: i.detector, severity: i.severity }, inc: 1 });
    }
    for (const r of outcome.results) {
      if (!r.action_taken) continue;
      s.push({ metric: N.resolution, observe: r.duration_ms / 1000 });
      if (!dryRun) s.push({ metric: r.success ? N.resolved : N.failed, labels: { action: r.action_taken }, inc: 1 });
    }
    const { resolved, failed } = state.totals;
    if (resolved + failed) s.push({ metric: N.ratio, set: resolved / (resolved + failed) });
    s.push({ metric: N.last, set: (state.last_cycle ?? Date.now()) / 1000 });
    s.push({ metric: N.detection, observe: detectionMs / 1000 });
    s.push({ metric: N.open, set: outcome.judgement.issues.length });
    s.push({
      metric: N.unmonitored,
      set: Object.values(state.detector.components).filter((c) => c.budget?.unmonitored).length,
    });
    return s;
  },
};
