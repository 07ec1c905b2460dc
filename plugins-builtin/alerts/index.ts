/**
 * alerts: alert rules over check results (alerts.yaml), evaluated every daemon cycle or once by
 * `doctor --alert`, with Alertmanager's lifecycle (for, grouping, repeat, resolved once), silences,
 * inhibition and flapping damping; state in the daemon's history store. It declares the kind
 * `alert-receiver` (receiver-kind.ts) and fills it with webhook, slack, pagerduty, alertmanager and
 * email; a third party adds a receiver the same way, sandboxed with a `net` grant.
 */
import { definePlugin } from 'cx-ops/sdk';
import { alertsCommands } from './alerts-commands.js';
import { alertsPanelContribution } from './alerts-panel.js';
import { cycleTap, deliveryJob, eventsTap, notificationsMetric } from './alerts-daemon.js';
import { alertsErrors } from './errors.js';
import { alertsCheckCommand, evaluateOnce } from './evaluate-once.js';
import { alertEvaluationKind } from './evaluation-kind.js';
import { alertReceiverKind } from './receiver-kind.js';
import { alertmanagerReceiver } from './receivers/alertmanager.js';
import { emailReceiver } from './receivers/email.js';
import { pagerDutyReceiver } from './receivers/pagerduty.js';
import { slackReceiver } from './receivers/slack.js';
import { webhookReceiver } from './receivers/webhook.js';

export default definePlugin({
  name: 'alerts',
  kinds: [alertReceiverKind, alertEvaluationKind],
  errors: alertsErrors,
  taps: [cycleTap, eventsTap],
  contributes: [
    ...alertsCommands,
    alertsCheckCommand,
    alertsPanelContribution,
    webhookReceiver,
    slackReceiver,
    pagerDutyReceiver,
    alertmanagerReceiver,
    emailReceiver,
    deliveryJob,
    notificationsMetric,
    evaluateOnce,
  ],
});
