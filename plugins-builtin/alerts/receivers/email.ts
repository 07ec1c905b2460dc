/**
 * Receiver `email`: one message per notification through SMTP (nodemailer), with a plain-text and
 * an HTML part. Settings: to (one address or a list), from, subject_prefix, smtp { host, port,
 * secure (TLS from the first byte, port 465), starttls (refuse a server without STARTTLS),
 * username, tls_ca_file, reject_unauthorized }; the password is a secret: password_file (0600) or
 * password_env.
 *
 * Certificates are verified (TLS and STARTTLS alike): the server's must chain to a CA the system
 * trusts, or to the PEM certificates of smtp.tls_ca_file (a private CA, a self-signed server), and
 * name smtp.host (DNS or IP subjectAltName). reject_unauthorized: false turns the check off (a
 * test bench only: anyone on the path can then read the mail and the password). A failed check
 * says which of the two to give. SMTP needs its own socket, so this trusted receiver does not go through ctx.net
 * (a sandboxed receiver could not send mail).
 */
import { defineContribution, messageOf } from 'cx-ops/sdk';
import type { Notification } from '../alert-types.js';
import { alertReceiverKind, type ReceiverOutput } from '../receiver-kind.js';

interface EmailSettings {
  to: string | string[];
  from?: string;
  subject_prefix?: string;
  smtp?: {
    host?: string;
    port?: number;
    secure?: boolean;
    starttls?: boolean;
    username?: string;
    tls_ca_file?: string;
    reject_unauthorized?: boolean;
  };
  password?: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Subject, text and HTML of a notification. */
export function emailMessage(n: Notification, prefix = '[cx-ops]') {
  const firing = n.alerts.filter((a) => a.status === 'firing');
  const name = n.group_labels.alertname ?? n.common_labels.alertname ?? `${n.alerts.length} alerts`;
  const subject = `${prefix} ${n.test ? '[TEST] ' : ''}[${n.status.toUpperCase()}${n.status === 'firing' ? `:${firing.length}` : ''}] ${name} on ${n.host}`;
  const lines = n.alerts.map(
    (a) =>
      `${a.status === 'firing' ? 'FIRING' : 'RESOLVED'}  ${a.labels.alertname} (${a.check} ${a.status === 'firing' ? a.check_status : 'PASS'}) on ${a.labels.host ?? n.host}\n  ${a.annotations.summary ?? ''}\n  ${a.message}\n  since ${a.starts_at}${a.ends_at ? `, resolved ${a.ends_at}` : ''}${a.annotations.runbook_url ? `\n  runbook: ${a.annotations.runbook_url}` : ''}`,
  );
  const text = `${lines.join('\n\n')}\n\n-- cx-ops on ${n.host}${n.external_url ? ` (${n.external_url})` : ''}\n`;
  const rows = n.alerts
    .map(
      (a) =>
        `<tr><td>${a.status === 'firing' ? 'FIRING' : 'RESOLVED'}</td><td>${escapeHtml(a.labels.alertname ?? '')}</td><td>${escapeHtml(a.check)}</td><td>${escapeHtml(a.message)}</td><td>${escapeHtml(a.labels.host ?? n.host)}</td></tr>`,
    )
    .join('');
  const html = `<p>${escapeHtml(subject)}</p><table><tr><th>state</th><th>alert</th><th>check</th><th>message</th><th>host</th></tr>${rows}</table>`;
  return { subject, text, html };
}

/** Node's codes of a certificate that does not verify. */
const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What to do about a certificate the server presented that did not verify. */
function certificateHint(e: unknown, caFile: string | undefined): string {
  // nodemailer passes Node's message on and not always its code.
  const code = String((e as { code?: unknown })?.code ?? '');
  if (!CERT_CODES.has(code) && !/certificate|altnames/i.test(messageOf(e))) return '';
  return caFile
    ? ` (the server's certificate does not verify against ${caFile} and the system CAs, or does not name smtp.host)`
    : " (the server's certificate does not verify against the system CAs: give smtp.tls_ca_file, the PEM of its CA or of the certificate itself)";
}

export const emailReceiver = defineContribution(
  alertReceiverKind,
  'email',
  {
    description: 'an email through SMTP (STARTTLS or TLS, auth), plain text and HTML',
    secrets: ['password'],
    settings_schema: {
      type: 'object',
      additionalProperties: false,
      required: ['to'],
      properties: {
        to: {
          oneOf: [
            { type: 'string', minLength: 3 },
            { type: 'array', minItems: 1, items: { type: 'string', minLength: 3 } },
          ],
        },
        from: { type: 'string', minLength: 3 },
        subject_prefix: { type: 'string' },
        smtp: {
          type: 'object',
          additionalProperties: false,
          properties: {
            host: { type: 'string', minLength: 1 },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            secure: { type: 'boolean' },
            starttls: { type: 'boolean' },
            username: { type: 'string', minLength: 1 },
            tls_ca_file: {
              type: 'string',
              pattern: '^/',
              description: 'PEM certificates to trust for the server (besides the system CAs)',
            },
            reject_unauthorized: { type: 'boolean', description: 'false: do not verify the certificate (tests only)' },
          },
        },
      },
    },
  },
  async (ctx, input): Promise<ReceiverOutput> => {
    const s = input.settings as unknown as EmailSettings;
    const smtp = s.smtp ?? {};
    let ca: string | undefined;
    if (smtp.tls_ca_file) {
      if (!(await ctx.localFs.stat(smtp.tls_ca_file)))
        return { ok: false, detail: `smtp.tls_ca_file: ${smtp.tls_ca_file} does not exist` };
      ca = new TextDecoder().decode(await ctx.localFs.readBytes(smtp.tls_ca_file));
    }
    // nodemailer (≈ 40 modules) is loaded on the first email, not with the daemon that may never send one.
    const { createTransport } = await import('nodemailer');
    const transport = createTransport({
      host: smtp.host ?? '127.0.0.1',
      port: smtp.port ?? (smtp.secure ? 465 : 25),
      secure: smtp.secure ?? false,
      requireTLS: smtp.starttls ?? false,
      ignoreTLS: smtp.starttls === false && !smtp.secure,
      ...(smtp.username ? { auth: { user: smtp.username, pass: s.password ?? '' } } : {}),
      tls: { rejectUnauthorized: smtp.reject_unauthorized ?? true, ...(ca ? { ca } : {}) },
      connectionTimeout: 8000,
      greetingTimeout: 8000,
      socketTimeout: 8000,
    });
    const m = emailMessage(input.notification, s.subject_prefix);
    try {
      const info = await transport.sendMail({
        from: s.from ?? `cx-ops@${input.notification.host}`,
        to: s.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
      });
      return { ok: true, detail: `accepted by ${smtp.host ?? '127.0.0.1'}: ${String(info.response ?? '')}`.trim() };
    } catch (e) {
      return { ok: false, detail: `${messageOf(e)}${certificateHint(e, smtp.tls_ca_file)}` };
    } finally {
      transport.close();
    }
  },
);
