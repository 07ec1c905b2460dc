/**
 * The email receiver over TLS against real loopback SMTP servers the test starts (Node's tls,
 * a self-signed certificate for 127.0.0.1 made by openssl in a temp dir): STARTTLS and implicit
 * TLS deliver with smtp.tls_ca_file trusted, AUTH only inside TLS; without it the certificate is
 * refused (no mail) and the failure says to give
 * tls_ca_file; reject_unauthorized: false turns the check off; starttls: true refuses a server
 * that does not offer STARTTLS rather than sending in clear.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TempRoot } from '../../helpers/run-cli.js';
import { failingMemoryRoot } from './alert-fixtures.js';
import { smtpServer, type SmtpServer } from './smtp-server.js';

const PASSWORD = 'smtp-tls-PASSWORD-42';
let dir: string;
let cert: string;
let key: string;
const servers: SmtpServer[] = [];
const roots: TempRoot[] = [];

/** A self-signed certificate and key made by openssl: <dir>/<name>.pem and <dir>/<name>-key.pem. */
const selfSigned = (subject: string, name: string, extra: string[] = []) =>
  execa('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    subject,
    ...extra,
    '-keyout',
    join(dir, `${name}-key.pem`),
    '-out',
    join(dir, `${name}.pem`),
  ]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-smtp-tls-'));
  await selfSigned('/CN=cx-ops test SMTP', 'cert', ['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  cert = await readFile(join(dir, 'cert.pem'), 'utf8');
  key = await readFile(join(dir, 'cert-key.pem'), 'utf8');
});
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const r of roots) await r.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** `alerts test` through an email receiver with these smtp settings; its JSON answer. */
async function sendTest(server: SmtpServer, smtp: string) {
  const t = await failingMemoryRoot(
    'cx-alerts-email-tls-',
    `receivers:
  mail:
    type: email
    to: ops@example.com
    smtp: { host: 127.0.0.1, port: ${server.port}, username: alerts, ${smtp} }
    password_env: SMTP_PASSWORD
alerts:
  - name: memory-high
    check: memory
    actions: [{ receiver: mail }]
`,
  );
  roots.push(t);
  const r = await t.run(['alerts', 'test', 'memory-high', '--json'], { env: { SMTP_PASSWORD: PASSWORD } });
  expect(r.stdout).not.toContain(PASSWORD);
  expect(r.stderr).not.toContain(PASSWORD);
  return { exitCode: r.exitCode, ...(JSON.parse(r.stdout) as { results: Array<{ ok: boolean; detail: string }> }) };
}

const start = async (mode: 'starttls' | 'implicit' | 'plain') => {
  const s = await smtpServer(mode === 'plain' ? undefined : { mode, cert, key });
  servers.push(s);
  return s;
};

describe('the email receiver over TLS', () => {
  test('STARTTLS with tls_ca_file: delivered, AUTH and the message inside TLS', async () => {
    const s = await start('starttls');
    const r = await sendTest(s, `starttls: true, tls_ca_file: ${join(dir, 'cert.pem')}`);
    expect(r).toMatchObject({ exitCode: 0, results: [{ ok: true }] });
    const [mail] = await s.waitFor(1);
    expect(mail).toMatchObject({ tls: true, auth: { user: 'alerts', pass: PASSWORD }, to: ['ops@example.com'] });
    expect(mail!.data).toContain('Subject: [cx-ops] [TEST] [FIRING:1] memory-high on web1');
  });

  test('implicit TLS (secure: true) with tls_ca_file: delivered encrypted', async () => {
    const s = await start('implicit');
    const r = await sendTest(s, `secure: true, tls_ca_file: ${join(dir, 'cert.pem')}`);
    expect(r).toMatchObject({ exitCode: 0, results: [{ ok: true }] });
    const [mail] = await s.waitFor(1);
    expect(mail).toMatchObject({ tls: true, auth: { user: 'alerts', pass: PASSWORD } });
  });

  test('the self-signed certificate without tls_ca_file is refused: no mail, the fix said', async () => {
    for (const [mode, smtp] of [
      ['starttls', 'starttls: true'],
      ['implicit', 'secure: true'],
    ] as const) {
      const s = await start(mode);
      const r = await sendTest(s, smtp);
      expect(r.exitCode).toBe(1);
      expect(r.results[0]!.ok).toBe(false);
      expect(r.results[0]!.detail).toMatch(/self[- ]signed certificate/);
      expect(r.results[0]!.detail).toContain('give smtp.tls_ca_file');
      expect(s.mails).toEqual([]);
    }
  });

  test('a tls_ca_file that is not the server CA is refused too; reject_unauthorized: false sends anyway', async () => {
    const other = join(dir, 'other.pem');
    await selfSigned('/CN=other', 'other');
    const s = await start('starttls');
    const wrong = await sendTest(s, `starttls: true, tls_ca_file: ${other}`);
    expect(wrong.results[0]).toMatchObject({
      ok: false,
      detail: expect.stringContaining(`does not verify against ${other}`),
    });
    expect(s.mails).toEqual([]);
    const off = await sendTest(s, 'starttls: true, reject_unauthorized: false');
    expect(off.results[0]!.ok).toBe(true);
    expect((await s.waitFor(1))[0]!.tls).toBe(true);
  });

  test('starttls: true against a server without STARTTLS: refused, never sent in clear; a missing tls_ca_file named', async () => {
    const s = await start('plain');
    const r = await sendTest(s, 'starttls: true');
    expect(r.results[0]!.ok).toBe(false);
    expect(r.results[0]!.detail).toMatch(/STARTTLS/i);
    expect(s.mails).toEqual([]);
    const missing = await sendTest(s, `starttls: true, tls_ca_file: ${join(dir, 'nope.pem')}`);
    expect(missing.results[0]).toEqual({
      receiver: 'mail',
      type: 'email',
      ok: false,
      detail: `smtp.tls_ca_file: ${join(dir, 'nope.pem')} does not exist`,
    });
  });
});
