/**
 * Kind `alert-receiver`: where notifications go. The alerts plugin declares it; each receiver
 * type (webhook, slack, pagerduty, alertmanager, email, or a third party's: ntfy, Matrix, a ticket
 * system) is one contribution whose id is the type alerts.yaml names. A sandboxed receiver needs
 * nothing but a `net` grant to its service.
 *
 * meta: { description, settings_schema (JSON Schema of its settings in alerts.yaml, checked when the
 * file is read), secrets?: settings that are secrets (given as NAME_file: a 0600 file, or NAME_env:
 * an environment variable; never in clear), delivery?: 'grouped' (default: one notification per
 * group) | 'every_cycle' (every firing alert every cycle, as Prometheus sends to Alertmanager) }.
 * Input: { receiver, settings (secrets resolved), notification }. Output: { ok, status?, detail? }:
 * not ok is retried with backoff; `detail` is shown and logged with the secrets taken out.
 */
import { defineKind, type Json } from 'cx-ops/sdk';
import type { Notification } from './alert-types.js';

export interface ReceiverInput {
  receiver: string;
  settings: Record<string, Json>;
  notification: Notification;
}

export interface ReceiverOutput {
  ok: boolean;
  /** The service's HTTP status (or SMTP code). */
  status?: number;
  detail?: string;
}

export const alertReceiverKind = defineKind<ReceiverInput, ReceiverOutput>('alert-receiver', {
  description:
    'A notification receiver of the alerts plugin: id = the type alerts.yaml names; meta { description, settings_schema, secrets?, delivery? }; input { receiver, settings, notification }; returns { ok, status?, detail? }',
  metaSchema: {
    type: 'object',
    required: ['description', 'settings_schema'],
    properties: {
      description: { type: 'string' },
      settings_schema: { type: 'object' },
      secrets: { type: 'array', items: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' } },
      delivery: { enum: ['grouped', 'every_cycle'] },
    },
  },
});
