/** An HTTP server on 127.0.0.1 that records every request it gets (the receivers' services in the tests). */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
}

export interface ReceiverServer {
  port: number;
  url: string;
  received: Received[];
  /** Answers with this status from now on (default 200; PagerDuty's 202 is set by the test). */
  respondWith(status: number): void;
  /** Records requests as they come but answers none until the returned function is called (a slow receiver). */
  hold(): () => void;
  /** Resolves once `n` requests arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function receiverServer(): Promise<ReceiverServer> {
  const received: Received[] = [];
  let status = 200;
  let held: Array<() => void> | undefined;
  const waiters: Array<() => void> = [];
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      let json: any;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json });
      const answer = () =>
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(status < 300 ? '{"status":"success"}' : '{"error":"down"}');
      if (held) held.push(answer);
      else answer();
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    received,
    respondWith: (n) => void (status = n),
    hold: () => {
      held = [];
      return () => {
        const answers = held ?? [];
        held = undefined;
        for (const a of answers) a();
      };
    },
    waitFor: (n, timeoutMs = 45_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= n) {
            clearTimeout(t);
            waiters.splice(waiters.indexOf(check), 1);
            resolve(received.slice());
          }
        };
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `got ${received.length} request(s), waited for ${n}: ${JSON.stringify(received.map((r) => r.path))}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push(check);
        check();
      }),
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}
