/**
 * A small SMTP server on 127.0.0.1 (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA): what the email
 * receiver sends, recorded. With a certificate it speaks TLS: `starttls` (STARTTLS advertised,
 * the socket upgraded with Node's tls) or `implicit` (TLS from the first byte, as on port 465).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, TLSSocket, type SecureContext } from 'node:tls';

export interface Mail {
  auth?: { user: string; pass: string };
  from: string;
  to: string[];
  /** The message as sent: headers, blank line, body (dot-stuffing undone). */
  data: string;
  /** Whether the conversation was encrypted when the message came (TLS, or after STARTTLS). */
  tls: boolean;
}

export interface SmtpTls {
  mode: 'starttls' | 'implicit';
  /** PEM of the server's certificate and key. */
  cert: string;
  key: string;
}

export interface SmtpServer {
  port: number;
  mails: Mail[];
  waitFor(n: number, timeoutMs?: number): Promise<Mail[]>;
  close(): Promise<void>;
}

export async function smtpServer(tls?: SmtpTls): Promise<SmtpServer> {
  const mails: Mail[] = [];
  const sockets = new Set<Socket>();
  const context: SecureContext | undefined = tls ? createSecureContext({ cert: tls.cert, key: tls.key }) : undefined;
  const converse = (sock: Socket, encrypted: boolean, greet: boolean) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const say = (line: string) => sock.write(`${line}\r\n`);
    let buf = '';
    let cur: Mail = { from: '', to: [], data: '', tls: encrypted };
    let mode: 'cmd' | 'data' | 'login-user' | 'login-pass' = 'cmd';
    let user = '';
    if (greet) say('220 localhost ESMTP test');
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (mode === 'data') {
          if (line === '.') {
            mails.push(cur);
            cur = { from: '', to: [], data: '', tls: encrypted, ...(cur.auth ? { auth: cur.auth } : {}) };
            mode = 'cmd';
            say('250 2.0.0 queued as TEST1');
          } else cur.data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          continue;
        }
        if (mode === 'login-user') {
          user = Buffer.from(line, 'base64').toString();
          mode = 'login-pass';
          say('334 UGFzc3dvcmQ6');
          continue;
        }
        if (mode === 'login-pass') {
          cur.auth = { user, pass: Buffer.from(line, 'base64').toString() };
          mode = 'cmd';
          say('235 2.7.0 ok');
          continue;
        }
        const [verb = '', ...rest] = line.split(' ');
        const arg = rest.join(' ');
        switch (verb.toUpperCase()) {
          case 'EHLO':
            sock.write(
              `250-localhost\r\n${tls?.mode === 'starttls' && !encrypted ? '250-STARTTLS\r\n' : ''}250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n`,
            );
            break;
          case 'STARTTLS': {
            if (tls?.mode !== 'starttls' || encrypted) {
              say('502 not offered');
              break;
            }
            say('220 2.0.0 ready to start TLS');
            sock.off('data', onData);
            const secure = new TLSSocket(sock, { isServer: true, secureContext: context });
            secure.on('error', () => undefined); // the client refused the certificate
            secure.once('secure', () => converse(secure, true, false));
            return;
          }
          case 'HELO':
            say('250 localhost');
            break;
          case 'AUTH': {
            const [mech, initial] = arg.split(' ');
            if (mech?.toUpperCase() === 'PLAIN' && initial) {
              const [, u, p] = Buffer.from(initial, 'base64').toString().split('\u0000');
              cur.auth = { user: u ?? '', pass: p ?? '' };
              say('235 2.7.0 ok');
            } else if (mech?.toUpperCase() === 'LOGIN') {
              mode = 'login-user';
              say('334 VXNlcm5hbWU6');
            } else say('504 unsupported');
            break;
          }
          case 'MAIL':
            cur.from = /<([^>]*)>/.exec(arg)?.[1] ?? '';
            say('250 2.1.0 ok');
            break;
          case 'RCPT':
            cur.to.push(/<([^>]*)>/.exec(arg)?.[1] ?? '');
            say('250 2.1.5 ok');
            break;
          case 'DATA':
            mode = 'data';
            say('354 go ahead');
            break;
          case 'QUIT':
            say('221 bye');
            sock.end();
            break;
          default:
            say('250 ok');
        }
      }
    };
    sock.on('data', onData);
  };
  let s: Server;
  if (tls?.mode === 'implicit') {
    s = createTlsServer({ cert: tls.cert, key: tls.key }, (sock) => converse(sock, true, true));
  } else s = createServer((sock) => converse(sock, false, true));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as AddressInfo).port,
    mails,
    waitFor: async (n, timeoutMs = 30_000) => {
      const end = Date.now() + timeoutMs;
      while (mails.length < n) {
        if (Date.now() > end) throw new Error(`got ${mails.length} mail(s), waited for ${n}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return mails.slice();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const x of sockets) x.destroy();
        s.close(() => r());
      }),
  };
}
