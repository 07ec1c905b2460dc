/**
 * The email receiver through a real SMTP conversation with a server on 127.0.0.1: AUTH with the
 * password from the environment, the message's headers and both parts (plain text and HTML), the
 * seed's inline `{ type: email, to }` over the `email` receiver's SMTP settings; the password shown nowhere.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TempRoot } from '../../helpers/run-cli.js';
import { failingMemoryRoot, setMemory } from './alert-fixtures.js';
import { smtpServer, type SmtpServer } from './smtp-server.js';

const PASSWORD = 'smtp-PASSWORD-very-secret-77';
let t: TempRoot;
let smtp: SmtpServer;
const outputs: string[] = [];
const run = async (args: string[]) => {
  const r = await t.run(args, { env: { SMTP_PASSWORD: PASSWORD } });
  outputs.push(r.stdout, r.stderr);
  return r;
};

beforeAll(async () => {
  smtp = await smtpServer();
  t = await failingMemoryRoot(
    'cx-alerts-email-',
    `receivers:
  email:
    type: email
    from: cx-ops@web1.example.com
    smtp: { host: 127.0.0.1, port: ${smtp.port}, starttls: false, username: alerts }
    password_env: SMTP_PASSWORD
alerts:
  - name: memory-high
    check: memory
    annotations: { summary: 'memory on {{host}} is {{status}}' }
    actions:
      - type: email
        to: ops@example.com
`,
  );
});
afterAll(async () => {
  await smtp.close();
  await t.cleanup();
});

describe('the email receiver', () => {
  test('a firing alert is one mail: AUTH with the secret, From/To/Subject, a text and an HTML part', async () => {
    const r = await run(['alerts', 'check', '--check', 'memory']);
    expect(r.stdout).toContain('alerts: 1 firing (memory-high); 1 notification(s) sent');
    const [mail] = await smtp.waitFor(1);
    expect(mail!.auth).toEqual({ user: 'alerts', pass: PASSWORD });
    expect(mail!.from).toBe('cx-ops@web1.example.com');
    expect(mail!.to).toEqual(['ops@example.com']);
    const [head, ...body] = mail!.data.split('\n\n');
    const headers = Object.fromEntries(
      head!
        .replace(/\n[ \t]+/g, ' ')
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    expect(headers.from).toBe('cx-ops@web1.example.com');
    expect(headers.to).toBe('ops@example.com');
    expect(headers.subject).toBe('[cx-ops] [FIRING:1] memory-high on web1');
    expect(headers['content-type']).toMatch(/^multipart\/alternative; boundary=/);
    // The parts as a mail reader shows them (quoted-printable undone).
    const text = body
      .join('\n\n')
      .replace(/=\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    expect(text).toMatch(
      /Content-Type: text\/plain; charset=utf-8[\s\S]*FIRING {2}memory-high \(memory FAIL\) on web1/,
    );
    expect(text).toContain('memory on web1 is FAIL');
    expect(text).toMatch(
      /Content-Type: text\/html; charset=utf-8[\s\S]*<td>FIRING<\/td><td>memory-high<\/td><td>memory<\/td>/,
    );
  });

  test('recovery sends the resolved mail once; the password is in no output', async () => {
    await setMemory(t.root, 'healthy');
    await run(['alerts', 'check', '--check', 'memory']);
    const [, mail] = await smtp.waitFor(2);
    expect(mail!.data).toContain('Subject: [cx-ops] [RESOLVED] memory-high on web1');
    await run(['alerts', 'check', '--check', 'memory']);
    expect(smtp.mails).toHaveLength(2);
    outputs.push((await run(['alerts', 'list', '--json'])).stdout, (await run(['alerts', 'history', '--json'])).stdout);
    expect(outputs.join('\n')).not.toContain(PASSWORD);
  });
});
