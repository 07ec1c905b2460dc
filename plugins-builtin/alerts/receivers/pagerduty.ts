/**
 * Receiver `pagerduty`: Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
 * one `trigger` per firing alert and one `resolve` per resolved one, each with the alert's
 * fingerprint as dedup_key (the same across daemon restarts, so PagerDuty keeps one incident).
 * The routing key is a secret: routing_key_file (0600) or routing_key_env. Settings: severity
 * (critical, error, warning, info; default from the alert's severity label, else error), url
 * (default PagerDuty's), component, group, class.
 */
import { defineContribution } from 'cx-ops/sdk';
import type { NotifiedAlert } from '../alert-types.js';
import { alertReceiverKind, type ReceiverOutput } from '../receiver-kind.js';
import { postJson } from './http-post.js';

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const FROM_CHECK: Record<string, string> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

export interface PagerDutySettings {
  routing_key: string;
  severity?: string;
  url?: string;
  component?: string;
  group?: string;
  class?: string;
}

/** The Events API v2 event of one alert. */
export function pagerDutyEvent(a: NotifiedAlert, host: string, s: PagerDutySettings) {
  if (a.status === 'resolved') return { routing_key: s.routing_key, event_action: 'resolve', dedup_key: a.fingerprint };
  const labelled = a.labels.severity;
  const severity =
    s.severity ?? (labelled && SEVERITIES.includes(labelled) ? labelled : (FROM_CHECK[labelled ?? ''] ?? 'error'));
  return {
    routing_key: s.routing_key,
    event_action: 'trigger',
    dedup_key: a.fingerprint,
    payload: {
      summary: (a.annotations.summary ?? `${a.labels.alertname}: ${a.message}`).slice(0, 1024),
      source: a.labels.host ?? host,
      severity,
      component: s.component ?? a.check,
      ...(s.group ? { group: s.group } : {}),
      ...(s.class ? { class: s.class } : {}),
      timestamp: a.starts_at,
      custom_details: {
        check: a.check,
        status: a.check_status,
        message: a.message,
        value: a.value,
        labels: a.labels,
        ...(a.annotations.description ? { description: a.annotations.description } : {}),
        flapping: a.flapping,
      },
    },
    ...(a.annotations.runbook_url ? { links: [{ href: a.annotations.runbook_url, text: 'Runbook' }] } : {}),
  };
}

export const pagerDutyReceiver = defineContribution(
  alertReceiverKind,
  'pagerduty',
  {
    description: 'PagerDuty Events API v2: trigger and resolve per alert, dedup_key = the alert fingerprint',
    secrets: ['routing_key'],
    settings_schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        severity: { enum: SEVERITIES },
        url: { type: 'string', pattern: '^https?://' },
        component: { type: 'string' },
        group: { type: 'string' },
        class: { type: 'string' },
      },
    },
  },
  async (ctx, input): Promise<ReceiverOutput> => {
    const s = input.settings as unknown as PagerDutySettings;
    if (!s.routing_key) return { ok: false, detail: 'no routing key: give routing_key_file or routing_key_env' };
    const url = s.url ?? 'https://events.pagerduty.com/v2/enqueue';
    // One event per alert; a failure stops here and the whole notification is retried (PagerDuty dedups).
    for (const a of input.notification.alerts) {
      const r = await postJson(ctx.net, url, pagerDutyEvent(a, input.notification.host, s), {
        okStatuses: [200, 201, 202],
      });
      if (!r.ok) return r;
    }
    return { ok: true, status: 202, detail: `${input.notification.alerts.length} event(s) accepted` };
  },
);
