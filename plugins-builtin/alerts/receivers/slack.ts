/**
 * Receiver `slack`: an incoming-webhook message (https://api.slack.com/messaging/webhooks) with
 * blocks: a header, then per alert its check, status, message and host. The webhook URL holds
 * the token, so it is a secret: webhook_url_file (0600) or webhook_url_env. Settings: channel
 * (legacy webhooks honour it), username.
 */
import { defineContribution } from 'cx-ops/sdk';
import type { Notification } from '../alert-types.js';
import { alertReceiverKind } from '../receiver-kind.js';
import { postJson } from './http-post.js';

const text = (t: string) => ({ type: 'mrkdwn', text: t });

/** The Slack message of a notification. */
export function slackBody(n: Notification, settings: { channel?: string; username?: string }) {
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  const resolved = n.alerts.length - firing;
  const title = `${n.test ? '[TEST] ' : ''}[${n.status.toUpperCase()}${n.status === 'firing' ? `:${firing}` : ''}] ${
    n.group_labels.alertname ?? n.common_labels.alertname ?? 'cx-ops alerts'
  } on ${n.host}`;
  return {
    ...(settings.channel ? { channel: settings.channel } : {}),
    ...(settings.username ? { username: settings.username } : {}),
    text: title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      ...n.alerts.slice(0, 20).map((a) => ({
        type: 'section',
        text: text(
          `*${a.status === 'firing' ? ':red_circle:' : ':large_green_circle:'} ${a.annotations.summary ?? a.labels.alertname}*`,
        ),
        fields: [
          text(`*Check*\n${a.check}`),
          text(`*Status*\n${a.status === 'firing' ? a.check_status : 'RESOLVED'}`),
          text(`*Message*\n${a.message}`),
          text(`*Host*\n${a.labels.host ?? n.host}`),
        ],
      })),
      {
        type: 'context',
        elements: [
          text(
            `${firing} firing, ${resolved} resolved${n.alerts.length > 20 ? ` (${n.alerts.length - 20} more not shown)` : ''} · cx-ops`,
          ),
        ],
      },
    ],
  };
}

export const slackReceiver = defineContribution(
  alertReceiverKind,
  'slack',
  {
    description: 'a Slack incoming-webhook message with blocks (check, status, message, host)',
    secrets: ['webhook_url'],
    settings_schema: {
      type: 'object',
      additionalProperties: false,
      properties: { channel: { type: 'string', minLength: 1 }, username: { type: 'string', minLength: 1 } },
    },
  },
  async (ctx, input) => {
    const url = String(input.settings.webhook_url ?? '');
    if (!url) return { ok: false, detail: 'no webhook URL: give webhook_url_file or webhook_url_env' };
    const s = input.settings as { channel?: string; username?: string };
    return postJson(ctx.net, url, slackBody(input.notification, s));
  },
);
