/**
 * The heal plugin's data: the seed's Issue, Severity and HealingResult, the config section as
 * the kernel hands it (validated against plugin.yaml's config_schema, defaults applied), and the
 * readings the detectors judge.
 */
import type { Json } from 'cx-ops/sdk';

/** The seed's IssueType. */
export type IssueType = 'RESOURCE' | 'SERVICE' | 'SYSTEM';

/** The seed's Severity, lowest first (LOW: monitor only; CRITICAL: healed first). */
export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The types of the events heal records (the daemon's `<plugin>_<what>`; an alert rule's `event:` names them). */
export const HEAL_EVENT_TYPES = [
  'heal_action',
  'heal_vetoed',
  'heal_unmonitored',
  'heal_resolver_error',
  'heal_replayed',
] as const;

/** What each detector watches. */
export type DetectorId = 'cpu' | 'memory' | 'disk' | 'load' | 'service';

/** The seed's Issue, plus the detector and where it came from. */
export interface Issue {
  type: IssueType;
  severity: Severity;
  description: string;
  /** `cpu`, `memory`, `load`, a mount point (`/var`), or a service name. */
  component: string;
  metric_value: number;
  threshold: number;
  /** ISO time of the cycle that judged it. */
  timestamp: string;
  detector: DetectorId;
  /** For a service: the service manager (systemd, supervisord). */
  manager?: string;
}

/** What a resolver answers: an action contribution's id and its parameters, or null (no action). */
export interface ActionPlan {
  action: string;
  parameters: Record<string, Json>;
}

/** The seed's HealingResult, plus the plan and what a dry run recorded instead of doing. */
export interface HealingResult {
  issue: Issue;
  /** The action's id, or null when none was taken (say why in `error` or `skipped`). */
  action_taken: string | null;
  success: boolean;
  error: string | null;
  duration_ms: number;
  timestamp: string;
  /** Who chose the action: the resolver contribution and its plugin. */
  resolver?: string;
  parameters?: Record<string, Json>;
  /** Why no action ran: monitor_only, backoff, unmonitored, vetoed, busy. */
  skipped?: string;
  /** Dry run / development mode: the exact commands and file changes the action would have made. */
  would_have_done?: string[];
  /** The heal log's id of this record (dry runs), for `heal replay`. */
  log_id?: string;
}

/** One detector's thresholds: trigger at or above `trigger`, clear below `clear`. */
export interface Threshold {
  trigger: number;
  clear: number;
  severity: Severity;
  /** At or above this the issue is CRITICAL. */
  critical?: number;
  /** Cycles the value must be at or above trigger (default: heal.for_cycles). */
  for_cycles?: number;
}

export interface HealConfig {
  interval: string | number;
  dry_run: boolean;
  for_cycles: number;
  reset_after_cycles: number;
  grace_cycles: number;
  max_parallel: number;
  thresholds: {
    cpu: Threshold;
    memory: Threshold;
    disk: Threshold;
    load: Threshold & { per_core: boolean };
  };
  /** Mount points to watch; empty: every real file system of /proc/mounts. */
  mounts: string[];
  services: { names: string[]; severity: Severity; for_cycles: number };
  budget: {
    max_actions: number;
    within_cycles: number;
    backoff_cycles: number;
    max_backoff_cycles: number;
  };
}

/** One value a detector read this cycle (null: could not be read, not judged). */
export interface Reading {
  detector: DetectorId;
  component: string;
  value: number | null;
  /** Words for the description ("FATAL Exited too quickly"). */
  detail?: string;
  manager?: string;
}
