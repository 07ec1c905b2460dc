/* Generated from schemas/alerts.schema.json by core/bin/gen-schema-types.js: edit the schema, not this file. */
/* schema-hash: aabded0add760ed4 */

/**
 * labels whose values make a group (default [alertname]; [...] groups by every label)
 */
export type GroupBy = string[];
/**
 * how long a new group waits for more alerts before its first notification (default 30s)
 */
export type GroupWait = string;
/**
 * how long a group waits before notifying about changes (default 5m)
 */
export type GroupInterval = string;
/**
 * how long before a notification is sent again for alerts still firing (default 4h)
 */
export type RepeatInterval = string;
/**
 * a daemon event type, <plugin>_<what> (heal_unmonitored, automation_task_failed)
 */
export type EventType = string;
/**
 * a duration: 500ms, 30s, 5m, 4h, 1d
 */
export type Duration = string;
export type Status = 'pass' | 'warn' | 'fail' | 'skip' | 'error' | 'PASS' | 'WARN' | 'FAIL' | 'SKIP' | 'ERROR';
/**
 * where a rule's notifications go: a receiver type with its settings inline (the seed's form; settings of a
 * receiver named like the type are the defaults), or a named receiver
 */
export type Action = {
  type?: string;
  receiver?: string;
  [k: string]: unknown;
} & Action1 & {
    type?: string;
    receiver?: string;
    [k: string]: unknown;
  } & Action1;
export type Action1 =
  | {
      type: unknown;
      [k: string]: unknown;
    }
  | {
      receiver: unknown;
      [k: string]: unknown;
    };

/**
 * Alert rules over check results or daemon events, the receivers they notify, routing defaults, inhibitions
 * and flapping damping. Each receiver's own settings are checked against the schema its receiver type
 * declares (cx-ops alerts list shows the types).
 */
export interface AlertsFile {
  /**
   * defaults for every rule's grouping (Alertmanager's: group_by [alertname], 30s, 5m, 4h)
   */
  route?: {
    group_by?: GroupBy;
    group_wait?: GroupWait;
    group_interval?: GroupInterval;
    repeat_interval?: RepeatInterval;
  };
  /**
   * an alert whose condition changes more than `changes` times in the last `cycles` cycles is held firing,
   * marked flapping, until it has not changed for `cycles` cycles
   */
  flapping?: {
    changes?: number;
    cycles?: number;
  };
  /**
   * named receivers: name -> { type, ...that type's settings }
   */
  receivers?: {
    [k: string]: {
      type: string;
      [k: string]: unknown;
    };
  };
  /**
   * while a source alert fires, target alerts with equal values of the `equal` labels are muted (a host-down
   * alert mutes its dependents)
   */
  inhibit?: {
    /**
     * the muting alert's name
     */
    source: string;
    /**
     * the names of the alerts it mutes
     *
     * @minItems 1
     */
    target: [string, ...string[]];
    equal?: string[];
  }[];
  alerts?:
    | {
        name: string;
        /**
         * the check id this alert watches
         */
        check?: string;
        /**
         * @minItems 1
         */
        checks?: [string, ...string[]];
        /**
         * every check of this category
         */
        category?: string;
        /**
         * an event rule: fires on each daemon event of this type (or these types) instead of on check results
         */
        event?: EventType | [EventType, ...EventType[]];
        /**
         * event rules: only events whose data has these values (e.g. { detector: service })
         */
        match?: {
          [k: string]: string | number | boolean;
        };
        /**
         * event rules: the event data fields that become labels and tell one alert from another (e.g. [task]:
         * one alert per task; default: one alert per rule)
         */
        by?: string[];
        /**
         * event rules: a later event of this type (or these types) with the same `by` values resolves the
         * alert (automation_task_success)
         */
        resolve_on?: EventType | [EventType, ...EventType[]];
        /**
         * event rules: the alert resolves when no matching event came for this long (default: never with
         * resolve_on, else 5m, Alertmanager's resolve_timeout); never: only resolve_on resolves it
         */
        resolve_after?: Duration | 'never';
        /**
         * the statuses that make the alert's condition true (default: fail and error)
         */
        status?: Status | [Status, ...Status[]];
        /**
         * cycles the condition must hold before the alert fires (default 1)
         */
        for?: number;
        labels?: Labels;
        /**
         * templates: {{check}}, {{name}}, {{status}}, {{message}}, {{host}}, {{value}}, {{alertname}},
         * {{labels.X}}; in an event rule {{event}}, {{plugin}}, {{level}}, {{message}}, {{host}},
         * {{alertname}}, {{data.X}} (a field of the event's data), {{labels.X}}
         */
        annotations?: {
          summary?: string;
          description?: string;
        };
        runbook?: string;
        group_by?: GroupBy;
        group_wait?: GroupWait;
        group_interval?: GroupInterval;
        repeat_interval?: RepeatInterval;
        /**
         * @minItems 1
         */
        actions: [Action, ...Action[]];
      }[]
    | null;
}
export interface Labels {
  [k: string]: string;
}
