/** The checks and receiver types the alerts tests read rules against. */
import type { ContributionInfo } from '../../../sdk/index.js';
import { alertmanagerReceiver } from '../../../plugins-builtin/alerts/receivers/alertmanager.js';
import { pagerDutyReceiver } from '../../../plugins-builtin/alerts/receivers/pagerduty.js';
import { slackReceiver } from '../../../plugins-builtin/alerts/receivers/slack.js';
import { webhookReceiver } from '../../../plugins-builtin/alerts/receivers/webhook.js';

export const CHECKS = new Map([
  ['disk_space', 'disk'],
  ['memory', 'memory'],
  ['cpu_load', 'performance'],
  ['systemd_failed', 'services'],
  ['network_connectivity', 'network'],
  ['dns_resolution', 'network'],
]);

export const TYPES: ContributionInfo[] = [webhookReceiver, slackReceiver, pagerDutyReceiver, alertmanagerReceiver].map(
  (c) => ({ kind: 'alert-receiver', id: c.id, plugin: 'alerts', tier: 'trusted', meta: c.meta }),
);
