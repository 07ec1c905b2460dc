// net.download against a real HTTP server on loopback: bytes, sha256, size cap, grants.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caps, rejection } from './helpers.js';

const body = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256);
const sum = createHash('sha256').update(body).digest('hex');
let server: Server;
let base: string;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/archive.tgz') return void res.end(body);
    if (req.url === '/chunked') {
      res.write(body.subarray(0, 40_000));
      return void setImmediate(() => res.end(body.subarray(40_000)));
    }
    if (req.url === '/moved') return void res.writeHead(302, { location: 'http://elsewhere.example/x' }).end();
    res.writeHead(404).end('no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('net.download', () => {
  it('gives the bytes, their sha256 and size; checks an expected sha256; audited', async () => {
    const { net, audit } = caps('dl');
    const d = await net.download(`${base}/archive.tgz`, { maxBytes: 100_000, sha256: sum });
    expect([d.size, d.sha256, Buffer.from(d.bytes).equals(Buffer.from(body))]).toEqual([70_000, sum, true]);
    expect(audit.records).toMatchObject([
      { capability: 'net', op: 'download', target: `${base}/archive.tgz`, allowed: true },
    ]);
    const e = await rejection(net.download(`${base}/archive.tgz`, { maxBytes: 100_000, sha256: '0'.repeat(64) }));
    expect(e).toMatchObject({
      code: 'CX_ERR_DOWNLOAD_CHECKSUM',
      exitCode: 2,
      params: { actual: sum, expected: '0'.repeat(64) },
    });
  });

  it('stops at maxBytes, with or without a Content-Length; HTTP errors and redirects are CX_ERR_IO', async () => {
    const { net } = caps('dl');
    for (const path of ['/archive.tgz', '/chunked']) {
      expect(await rejection(net.download(`${base}${path}`, { maxBytes: 1000 }))).toMatchObject({
        code: 'CX_ERR_IO',
        message: `${base}${path}: the download is larger than its limit of 1000 bytes; nothing was kept`,
      });
    }
    expect(await rejection(net.download(`${base}/missing`, { maxBytes: 1000 }))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${base}/missing: download failed: HTTP 404`,
    });
    expect((await rejection(net.download(`${base}/moved`, { maxBytes: 1000 }))).message).toContain(
      'redirects are not followed',
    );
    expect(await rejection(net.download(`${base}/archive.tgz`, {} as never))).toMatchObject({ code: 'CX_ERR_IO' });
  });

  it('a sandboxed plugin needs a net grant for the host and port, and is capped at 8 MiB', async () => {
    expect(
      await rejection(caps('s', { grants: [] }).net.download(`${base}/archive.tgz`, { maxBytes: 100_000 })),
    ).toMatchObject({ code: 'CX_ERR_PERMISSION_DENIED' });
    const granted = caps('s', { grants: [`net:127.0.0.1:${port}`] }).net;
    expect((await granted.download(`${base}/archive.tgz`, { maxBytes: 100_000 })).size).toBe(70_000);
    expect(await rejection(granted.download(`${base}/archive.tgz`, { maxBytes: 9 * 1024 * 1024 }))).toMatchObject({
      code: 'CX_ERR_IO',
    });
  });

  it('runs in a dry run too (a GET has no side effect): what it fetched is what a real run would write', async () => {
    const d = await caps('dl', { dryRun: true }).net.download(`${base}/archive.tgz`, { maxBytes: 100_000 });
    expect(d.sha256).toBe(sum);
  });
});
