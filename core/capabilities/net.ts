/**
 * The net capability: TCP connect, DNS resolution and HTTP(S), each checked against the
 * host:port allow-list. Hosts are matched literally (a grant of 127.0.0.1 does not allow
 * `localhost`). Redirects are not followed (they could lead to a host that is not granted).
 *
 * Grants for DNS: resolving through an explicit `server` needs `net:<server>:53` (or its port);
 * through the system resolver it needs a grant for the name itself (`net:<name>:*` or any port).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { createHash } from 'node:crypto';
import type { Download, DownloadOptions, HttpRequest, HttpResponse, NetCapability } from '../../sdk/types.js';
import { CxError } from '../errors.js';
import { parseNetRule } from '../permissions/grants.js';
import { netGranted } from '../permissions/match.js';
import type { Guard } from './guard.js';

// node:https (with tls) and node:dns are imported on first use: most processes never reach the
// network, and the long-lived daemon would keep them resident (~1 MB) for nothing.
const requestFor = async (url: URL): Promise<typeof httpRequest> =>
  url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;

export const MAX_HTTP_BODY_BYTES = 1024 * 1024;
export const MAX_HTTP_REQUEST_BYTES = 1024 * 1024;
export const DEFAULT_NET_TIMEOUT_MS = 10_000;
/** Largest download of a trusted plugin; a sandboxed plugin's is MAX_SANDBOXED_DOWNLOAD_BYTES. */
export const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;
export const MAX_SANDBOXED_DOWNLOAD_BYTES = 8 * 1024 * 1024;

/** Fake net methods for tests: called after grants allow the call. */
export type NetFake = Partial<NetCapability>;

const timeoutOf = (ms: unknown) => Math.min(Math.max(1, Number(ms) || DEFAULT_NET_TIMEOUT_MS), 120_000);
const since = (t: number) => Math.round((performance.now() - t) * 100) / 100;
const bare = (h: string) => h.replace(/^\[(.*)\]$/, '$1').toLowerCase();
const hostPort = (h: string, p: number | string) => `${h.includes(':') ? `[${h}]` : h}:${p}`;

export function createNet(guard: Guard, fake?: NetFake): NetCapability {
  const need = (host: string, port: number) => {
    if (guard.checked && !netGranted(guard.effective.net, host, port))
      guard.deny({ capability: 'net', target: hostPort(bare(host), port) });
  };
  const validPort = (port: unknown, target: string): number => {
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
      guard.deny({ capability: 'net', target, reason: 'the port must be an integer in 1-65535', grantable: false });
    return port as number;
  };
  const validHost = (host: unknown): string => {
    if (typeof host !== 'string' || !host || /[\s\0/]/.test(host))
      guard.deny({ capability: 'net', target: String(host), reason: 'not a host name or address', grantable: false });
    return bare(host);
  };

  /** A valid, granted http(s) URL, or a denial. */
  const grantedUrl = (raw: unknown): URL => {
    let url: URL;
    try {
      url = new URL(String(raw));
    } catch {
      return guard.deny({ capability: 'net', target: String(raw), reason: 'not a valid URL', grantable: false });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      guard.deny({ capability: 'net', target: url.href, reason: 'only http: and https: URLs', grantable: false });
    need(bare(url.hostname), url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);
    return url;
  };

  return {
    tcpConnect: (host, port, options = {}) =>
      guard.call({ capability: 'net', op: 'tcpConnect', target: `${host}:${port}` }, async (allow) => {
        const h = validHost(host);
        need(h, validPort(port, `${host}:${port}`));
        allow();
        if (fake?.tcpConnect) return fake.tcpConnect(h, port, options);
        const t = performance.now();
        return new Promise((resolve) => {
          const sock = connect({ host: h, port, timeout: timeoutOf(options.timeoutMs) });
          const done = (ok: boolean, error?: string) => {
            sock.destroy();
            resolve(ok ? { ok, ms: since(t) } : { ok, ms: since(t), error });
          };
          sock.once('connect', () => done(true));
          sock.once('timeout', () => done(false, 'timed out'));
          sock.once('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
        });
      }),

    resolve: (name, options = {}) =>
      guard.call(
        {
          capability: 'net',
          op: 'resolve',
          target: String(name),
          args: { server: options.server, type: options.type },
        },
        async (allow) => {
          const n = validHost(name);
          if (options.server !== undefined) {
            const s =
              /:\d+$/.test(options.server) && !/^[^[].*:.*:/.test(options.server)
                ? parseNetRule(options.server, `net:${options.server}`)
                : { host: bare(String(options.server)), port: 53 };
            need(validHost(s.host), s.port === '*' ? 53 : s.port);
          } else if (guard.checked && !guard.effective.net.some((r) => r.host === n)) {
            guard.deny({
              capability: 'net',
              target: `${n}:*`,
              reason: 'resolving through the system resolver needs a grant for the name',
            });
          }
          allow();
          if (fake?.resolve) return fake.resolve(n, options);
          const t = performance.now();
          const resolver = new (await import('node:dns')).promises.Resolver({
            timeout: timeoutOf(options.timeoutMs),
            tries: 1,
          });
          if (options.server) resolver.setServers([options.server]);
          try {
            const addresses = options.type === 'AAAA' ? await resolver.resolve6(n) : await resolver.resolve4(n);
            return { ok: true, addresses, ms: since(t) };
          } catch (e) {
            return { ok: false, addresses: [], ms: since(t), error: (e as NodeJS.ErrnoException).code ?? String(e) };
          }
        },
      ),

    http: (req: HttpRequest) =>
      guard.call(
        { capability: 'net', op: 'http', target: String(req?.url), args: { method: req?.method ?? 'GET' } },
        async (allow) => {
          const url = grantedUrl(req?.url);
          const method = String(req.method ?? 'GET').toUpperCase();
          if (
            req.body !== undefined &&
            (typeof req.body !== 'string' || Buffer.byteLength(req.body) > MAX_HTTP_REQUEST_BYTES)
          ) {
            throw new CxError('CX_ERR_IO', {
              path: url.href,
              detail: `the request body must be a string of at most ${MAX_HTTP_REQUEST_BYTES} bytes`,
            });
          }
          allow();
          if (guard.dryRun && method !== 'GET' && method !== 'HEAD') {
            guard.record(`http: ${method} ${url.href}`);
            return { status: 0, headers: {}, body: '', truncated: false };
          }
          if (fake?.http) return fake.http({ ...req, method });
          return doHttp(url, method, req.headers ?? {}, req.body, timeoutOf(req.timeoutMs));
        },
      ),

    download: (rawUrl: string, options: DownloadOptions) =>
      guard.call(
        {
          capability: 'net',
          op: 'download',
          target: String(rawUrl),
          args: { maxBytes: options?.maxBytes, sha256: options?.sha256 },
        },
        async (allow) => {
          const url = grantedUrl(rawUrl);
          const cap = guard.checked ? MAX_SANDBOXED_DOWNLOAD_BYTES : MAX_DOWNLOAD_BYTES;
          const maxBytes = Number(options?.maxBytes);
          if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > cap) {
            throw new CxError('CX_ERR_IO', {
              path: url.href,
              detail: `download needs maxBytes, an integer from 0 to ${cap}`,
            });
          }
          const expected = options.sha256 === undefined ? undefined : String(options.sha256).toLowerCase();
          if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected))
            throw new CxError('CX_ERR_IO', { path: url.href, detail: 'sha256 must be 64 hex digits' });
          allow();
          const bytes = fake?.download
            ? (await fake.download(url.href, options)).bytes
            : await doDownload(url, maxBytes, timeoutOf(options.timeoutMs));
          if (bytes.byteLength > maxBytes) throw tooLarge(url, maxBytes);
          const actual = createHash('sha256').update(bytes).digest('hex');
          if (expected !== undefined && actual !== expected)
            throw new CxError('CX_ERR_DOWNLOAD_CHECKSUM', { url: url.href, actual, expected });
          return { bytes, sha256: actual, size: bytes.byteLength } satisfies Download;
        },
      ),
  };
}

const tooLarge = (url: URL, maxBytes: number) =>
  new CxError('CX_ERR_IO', {
    path: url.href,
    detail: `the download is larger than its limit of ${maxBytes} bytes; nothing was kept`,
  });

/** GETs `url` into memory, stopping (and failing) as soon as more than `maxBytes` arrive. */
async function doDownload(url: URL, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  const send = await requestFor(url);
  return new Promise((resolve, reject) => {
    const fail = (detail: string) => reject(new CxError('CX_ERR_IO', { path: url.href, detail }));
    const r = send(url, { method: 'GET', timeout: timeoutMs }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const where =
          status >= 300 && status < 400 && res.headers.location
            ? ` (redirects to ${res.headers.location}; redirects are not followed)`
            : '';
        fail(`download failed: HTTP ${status}${where}`);
        return void res.destroy();
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        reject(tooLarge(url, maxBytes));
        return void res.destroy();
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (b: Buffer) => {
        size += b.length;
        if (size > maxBytes) {
          reject(tooLarge(url, maxBytes));
          res.destroy();
          return;
        }
        chunks.push(b);
      });
      res.on('end', () => {
        const all = Buffer.concat(chunks);
        resolve(new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
      });
      res.on('error', (e) => fail(`download failed: ${e.message}`));
      res.on('aborted', () => fail('download failed: the connection closed early'));
    });
    r.on('timeout', () => r.destroy(new Error('timed out')));
    r.on('error', (e: NodeJS.ErrnoException) => fail(`download failed: ${e.code ?? e.message}`));
    r.end();
  });
}

async function doHttp(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<HttpResponse> {
  const send = await requestFor(url);
  return new Promise((resolve, reject) => {
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') clean[k] = v;
    const r = send(url, { method, headers: clean, timeout: timeoutMs }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (b: Buffer) => {
        if (size >= MAX_HTTP_BODY_BYTES) {
          truncated = true;
          res.destroy();
          finish();
          return;
        }
        const room = MAX_HTTP_BODY_BYTES - size;
        if (b.length > room) truncated = true;
        chunks.push(b.subarray(0, room));
        size += Math.min(b.length, room);
      });
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({
          status: res.statusCode ?? 0,
          headers: h,
          body: new TextDecoder().decode(Buffer.concat(chunks)),
          truncated,
        });
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', () => finish());
    });
    r.on('timeout', () => r.destroy(new Error('timed out')));
    r.on('error', (e: NodeJS.ErrnoException) =>
      reject(new CxError('CX_ERR_IO', { path: url.href, detail: `HTTP request failed: ${e.code ?? e.message}` })),
    );
    r.end(body);
  });
}
