/**
 * The alerts plugin's data: rules as read from alerts.yaml (rules-file.ts), the state the rule
 * engine keeps between cycles (rule-engine.ts, persisted in the daemon's history store) and the
 * notification every receiver is handed (receiver-kind.ts).
 */
import type { CheckStatus, Json } from 'cx-ops/sdk';
import type { LabelMatcher } from './label-matchers.js';

/** How a rule's notifications are grouped and timed (Alertmanager's route settings). */
export interface Grouping {
  group_by: string[];
  group_wait_ms: number;
  group_interval_ms: number;
  repeat_interval_ms: number;
}

/** What an event rule fires on, and how its alerts resolve. */
export interface EventSelector {
  /** The daemon event types that fire it (`<plugin>_<what>`). */
  types: string[];
  /** Values the event's data must have (compared as text). */
  match: Record<string, string>;
  /** Data fields that become labels and tell one alert from another. */
  by: string[];
  /** Event types that resolve the alert with the same `by` values. */
  resolve_on: string[];
  /** The alert resolves this long after its last event; null: only resolve_on resolves it. */
  resolve_after_ms: number | null;
}

/** One rule of alerts.yaml, resolved. */
export interface AlertRule {
  name: string;
  /** An event rule: fires on daemon events (checks, category and statuses are then unused). */
  events?: EventSelector;
  /** The checks it watches (check / checks); undefined: any check (of `category` when set). */
  checks?: string[];
  category?: string;
  statuses: CheckStatus[];
  /** Cycles the condition must hold before the alert fires. */
  for: number;
  labels: Record<string, string>;
  annotations: { summary?: string; description?: string };
  runbook?: string;
  grouping: Grouping;
  /** Names of the receivers it notifies. */
  receivers: string[];
}

/** A receiver as alerts.yaml configures it: its type (an `alert-receiver` contribution) and settings. */
export interface ReceiverConfig {
  name: string;
  type: string;
  settings: Record<string, Json>;
}

export interface InhibitRule {
  source: string;
  target: string[];
  equal: string[];
}

/** alerts.yaml, read and resolved. */
export interface RuleSet {
  file: string;
  rules: AlertRule[];
  receivers: Record<string, ReceiverConfig>;
  inhibit: InhibitRule[];
  flapping: { changes: number; cycles: number };
}

/**
 * One alert: a rule over one check (or, for an event rule, one set of `by` values; `check` is
 * then the event type), identified by its labels' fingerprint.
 */
export interface AlertInstance {
  fingerprint: string;
  rule: string;
  check: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'resolved';
  /** Consecutive cycles the condition held (counted up to the rule's `for`). */
  active_cycles: number;
  /** When it started firing (epoch ms). */
  starts_at: number;
  /** When it resolved (epoch ms); null while pending or firing. */
  ends_at: number | null;
  /** The raw condition in the last cycle it was seen. */
  active: boolean;
  /** Cycles in which the raw condition changed, within the flapping window. */
  flips: number[];
  flapping: boolean;
  /** Resolved, and every receiver told (kept only while its flips still count for flapping). */
  told: boolean;
  /** The last result it saw. */
  status: CheckStatus;
  message: string;
  value: string;
  /** An event rule's alert: when it resolves unless another event comes (epoch ms; null: never). */
  resolve_at?: number | null;
}

/** A group of alerts notified together to one receiver. */
export interface GroupState {
  key: string;
  receiver: string;
  labels: Record<string, string>;
  created: number;
  next_flush: number;
  last_notified: number | null;
  group_interval_ms: number;
  repeat_interval_ms: number;
  /** What the last notification said of each alert (firing ones only; resolved ones leave the group). */
  notified: Record<string, 'firing'>;
}

/** What the rule engine keeps between cycles. */
export interface EngineState {
  cycle: number;
  alerts: Record<string, AlertInstance>;
  groups: Record<string, GroupState>;
}

/** A silence: alerts whose labels satisfy every matcher (Alertmanager's) are not notified until `ends_at`. */
export interface Silence {
  id: string;
  matchers: LabelMatcher[];
  starts_at: number;
  ends_at: number;
  comment: string;
  created_by: string;
}

/** One alert as a notification carries it. */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** ISO times; ends_at null while firing. */
  starts_at: string;
  ends_at: string | null;
  check: string;
  check_status: CheckStatus;
  message: string;
  value: string;
  flapping: boolean;
}

/** What a receiver is asked to deliver: one group's alerts (Alertmanager's notification, neutral form). */
export interface Notification {
  receiver: string;
  status: 'firing' | 'resolved';
  group_key: string;
  group_labels: Record<string, string>;
  common_labels: Record<string, string>;
  common_annotations: Record<string, string>;
  host: string;
  external_url: string;
  alerts: NotifiedAlert[];
  /** True for `cx-ops alerts test`. */
  test: boolean;
}
