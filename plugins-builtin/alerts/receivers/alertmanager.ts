/**
 * Receiver `alertmanager`: posts the alerts to a real Prometheus Alertmanager (POST
 * /api/v2/alerts), every cycle, as Prometheus does: firing alerts without endsAt (Alertmanager
 * ends them after its resolve_timeout unless they are sent again), resolved ones with their
 * endsAt. Grouping, silencing and routing across hosts are then Alertmanager's (the host label
 * tells the hosts apart). Settings: url (Alertmanager's base URL).
 */
import { defineContribution } from 'cx-ops/sdk';
import type { Notification } from '../alert-types.js';
import { alertReceiverKind } from '../receiver-kind.js';
import { postJson, URL_SETTINGS } from './http-post.js';

/** The postableAlerts body of Alertmanager's API v2. */
export function alertmanagerAlerts(n: Notification) {
  return n.alerts.map((a) => ({
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.starts_at,
    ...(a.ends_at ? { endsAt: a.ends_at } : {}),
    ...(n.external_url ? { generatorURL: n.external_url } : {}),
  }));
}

export const alertmanagerReceiver = defineContribution(
  alertReceiverKind,
  'alertmanager',
  {
    description: "a Prometheus Alertmanager's /api/v2/alerts, every cycle (it groups, silences and routes)",
    delivery: 'every_cycle',
    settings_schema: URL_SETTINGS,
  },
  async (ctx, input) => {
    const base = String(input.settings.url).replace(/\/+$/, '');
    return postJson(ctx.net, `${base}/api/v2/alerts`, alertmanagerAlerts(input.notification));
  },
);
