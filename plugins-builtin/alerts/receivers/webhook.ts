/**
 * Receiver `webhook`: a JSON POST in Alertmanager's webhook format (version 4), so receivers
 * written for Alertmanager take cx-ops' notifications unchanged. Settings: url.
 */
import { defineContribution } from 'cx-ops/sdk';
import type { Notification } from '../alert-types.js';
import { alertReceiverKind } from '../receiver-kind.js';
import { postJson, URL_SETTINGS } from './http-post.js';

/** Alertmanager's "zero" time, which it sends as endsAt of a firing alert. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The Alertmanager webhook body (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export function alertmanagerWebhookBody(n: Notification) {
  return {
    version: '4',
    groupKey: n.group_key,
    truncatedAlerts: 0,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.group_labels,
    commonLabels: n.common_labels,
    commonAnnotations: n.common_annotations,
    externalURL: n.external_url,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.starts_at,
      endsAt: a.ends_at ?? ZERO_TIME,
      generatorURL: n.external_url,
      fingerprint: a.fingerprint,
    })),
  };
}

export const webhookReceiver = defineContribution(
  alertReceiverKind,
  'webhook',
  {
    description: "a JSON POST in Alertmanager's webhook format (version 4) to url",
    settings_schema: URL_SETTINGS,
  },
  async (ctx, input) => {
    const url = String(input.settings.url ?? '');
    return postJson(ctx.net, url, alertmanagerWebhookBody(input.notification));
  },
);
