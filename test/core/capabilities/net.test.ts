import { createServer, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { rejection } from '../../helpers/rejection.js';
import { mergeGrants } from '../../../core/permissions/grants.js';
import { parseGrant } from '../../../core/permissions/grants.js';

let server: Server;
let port: number;
let dns: Socket;
let dnsPort: number;
const seen: string[] = [];

/** A minimal DNS responder: answers every A query with 10.1.2.3. */
function dnsAnswer(q: Buffer): Buffer {
  const header = Buffer.from(q.subarray(0, 12));
  header.writeUInt16BE(0x8180, 2); // response, recursion available, no error
  header.writeUInt16BE(1, 6); // one answer
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  let end = 12;
  while (q[end] !== 0) end += q[end]! + 1;
  const question = q.subarray(12, end + 5);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
  return Buffer.concat([header, question, answer]);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/big') {
      res.end(Buffer.alloc(3 * 1024 * 1024, 'a'));
      return;
    }
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'http://127.0.0.2/' });
      res.end();
      return;
    }
    res.setHeader('x-test', 'yes');
    res.end(`hello ${req.method}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  dns = createSocket('udp4');
  dns.on('message', (msg, rinfo) => dns.send(dnsAnswer(msg), rinfo.port, rinfo.address));
  await new Promise<void>((r) => dns.bind(0, '127.0.0.1', r));
  dnsPort = dns.address().port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  dns.close();
});

describe('net capability', () => {
  it('allows a granted host:port over HTTP and TCP, literally (localhost is another host)', async () => {
    const audit = AuditLog.memory();
    const { net } = createHostCapabilities({
      plugin: 'web-check',
      tier: 'sandboxed',
      grants: mergeGrants([parseGrant(`net:127.0.0.1:${port}`)]),
      dryRun: false,
      audit,
    });
    const r = await net.http({ url: `http://127.0.0.1:${port}/x` });
    expect(r).toMatchObject({ status: 200, body: 'hello GET', truncated: false });
    expect(r.headers['x-test']).toBe('yes');
    expect(await net.tcpConnect('127.0.0.1', port)).toMatchObject({ ok: true });
    const e = await rejection(net.http({ url: `http://localhost:${port}/x` }));
    expect(e.toJSON()).toEqual({
      code: 'CX_ERR_PERMISSION_DENIED',
      plugin: 'web-check',
      message: `plugin 'web-check' may not connect to 'localhost:${port}': its grant allows '127.0.0.1:${port}'.\nGrant it with: cx-ops plugins grant web-check net:localhost:${port}`,
    });
    expect((await rejection(net.tcpConnect('127.0.0.1', port + 1))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect((await rejection(net.http({ url: 'file:///etc/passwd' }))).message).toContain('only http: and https: URLs');
    expect(audit.records.map((r) => [r.op, r.target, r.allowed])).toEqual([
      ['http', `http://127.0.0.1:${port}/x`, true],
      ['tcpConnect', `127.0.0.1:${port}`, true],
      ['http', `http://localhost:${port}/x`, false],
      ['tcpConnect', `127.0.0.1:${port + 1}`, false],
      ['http', 'file:///etc/passwd', false],
    ]);
  });

  it('caps the body, does not follow redirects, and records non-GET requests in a dry run', async () => {
    const recorder = { actions: [] as string[] };
    const grants = mergeGrants([parseGrant(`net:127.0.0.1:${port}`)]);
    const { net } = createHostCapabilities({
      plugin: 'p',
      tier: 'sandboxed',
      grants,
      dryRun: false,
      audit: AuditLog.memory(),
    });
    const big = await net.http({ url: `http://127.0.0.1:${port}/big` });
    expect({ status: big.status, length: big.body.length, truncated: big.truncated }).toEqual({
      status: 200,
      length: 1024 * 1024,
      truncated: true,
    });
    expect(await net.http({ url: `http://127.0.0.1:${port}/redirect` })).toMatchObject({
      status: 302,
      headers: { location: 'http://127.0.0.2/' },
    });
    const dry = createHostCapabilities({
      plugin: 'p',
      tier: 'sandboxed',
      grants,
      dryRun: true,
      recorder,
      audit: AuditLog.memory(),
    });
    seen.length = 0;
    expect(await dry.net.http({ url: `http://127.0.0.1:${port}/post`, method: 'POST', body: 'x' })).toEqual({
      status: 0,
      headers: {},
      body: '',
      truncated: false,
    });
    expect(await dry.net.http({ url: `http://127.0.0.1:${port}/get` })).toMatchObject({ status: 200 });
    expect(recorder.actions).toEqual([`http: POST http://127.0.0.1:${port}/post`]);
    expect(seen).toEqual(['GET /get']);
  });

  it('resolves through a granted DNS server only', async () => {
    const server = `127.0.0.1:${dnsPort}`;
    const { net } = createHostCapabilities({
      plugin: 'dns-check',
      tier: 'sandboxed',
      grants: mergeGrants([parseGrant(`net:${server}`)]),
      dryRun: false,
      audit: AuditLog.memory(),
    });
    expect(await net.resolve('example.test', { server })).toMatchObject({ ok: true, addresses: ['10.1.2.3'] });
    const e = await rejection(net.resolve('example.test', { server: '127.0.0.1:5399' }));
    expect(e.message).toContain(`may not connect to '127.0.0.1:5399'`);
    const sys = await rejection(net.resolve('example.test'));
    expect(sys.message).toBe(
      "plugin 'dns-check' may not connect to 'example.test:*' (resolving through the system resolver needs a grant for the name): its grant allows '" +
        server +
        "'.\nGrant it with: cx-ops plugins grant dns-check 'net:example.test:*'",
    );
  });
});
