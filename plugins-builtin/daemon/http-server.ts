/**
 * The daemon's HTTP face (node:http): /health, /metrics, the JSON API under /api/v1/, live
 * updates (Server-Sent Events) and the dashboard. Nothing here runs a check or changes the
 * system: every answer comes from the last completed cycle, the metrics registry or the history
 * store. Guards, in order: method (GET/HEAD only), size (URL, headers, body), per-client rate
 * limit, bearer token (when configured), then the route. Every response carries CSP, nosniff,
 * no-frame and no-store headers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { DASHBOARD_ASSETS } from './dashboard-assets.js';

export interface HttpRoutes {
  /** The body as JSON, or already encoded (a Buffer is sent as it is). */
  health(): { code: number; body: unknown };
  metrics(): Promise<{ contentType: string; body: string | Buffer }>;
  /** JSON API: path below /api/v1/ and the query; undefined = 404. */
  api(path: string, query: URLSearchParams): Promise<unknown | undefined>;
  /** Subscribes an SSE client; returns the unsubscribe function. */
  stream(send: (event: string, data: unknown) => void): () => void;
  /** Counts a request (metrics). */
  count(route: string, code: number): void;
}

export interface HttpLimits {
  maxRequestBytes: number;
  ratePerMinute: number;
  /** Bearer token; when set, every route but /health and /metrics (unless protectAll) needs it. */
  token?: string;
  protectAll: boolean;
  maxStreams: number;
}

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Fixed-window request counter per client address. */
class RateLimiter {
  private readonly windows = new Map<string, { start: number; n: number }>();
  constructor(private perMinute: number) {}
  set(perMinute: number): void {
    this.perMinute = perMinute;
  }
  /** Seconds to wait, or 0 when admitted. */
  admit(client: string, now = Date.now()): number {
    let w = this.windows.get(client);
    if (!w || now - w.start >= 60_000) {
      if (this.windows.size > 10_000) this.windows.clear();
      w = { start: now, n: 0 };
      this.windows.set(client, w);
    }
    if (w.n >= this.perMinute) return Math.ceil((w.start + 60_000 - now) / 1000);
    w.n++;
    return 0;
  }
}

const tokenMatches = (given: string, want: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
};

export class DaemonHttpServer {
  readonly server: Server;
  private readonly limiter: RateLimiter;
  private streams = 0;
  /** When the last request came (performance.now()). */
  private lastRequestAt = -Infinity;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(
    private readonly routes: HttpRoutes,
    private limits: HttpLimits,
  ) {
    this.limiter = new RateLimiter(limits.ratePerMinute);
    this.server = createServer(
      { maxHeaderSize: Math.max(1024, limits.maxRequestBytes), requestTimeout: 10_000, headersTimeout: 5_000 },
      (req, res) => {
        this.handle(req, res).catch((e: unknown) =>
          this.send(res, 'error', 500, { error: 'internal error', detail: e instanceof Error ? e.message : String(e) }),
        );
      },
    );
    this.server.keepAliveTimeout = 5_000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /** Whether a request came in the last `ms` milliseconds. */
  servedWithin(ms: number): boolean {
    return performance.now() - this.lastRequestAt < ms;
  }

  /** New limits on reload (the listener stays). */
  update(limits: HttpLimits): void {
    this.limits = limits;
    this.limiter.set(limits.ratePerMinute);
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host, port });
      });
    });
  }

  /** Stops accepting, ends live streams and idle connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private send(
    res: ServerResponse,
    route: string,
    code: number,
    body: unknown,
    type = 'application/json; charset=utf-8',
    extra: Record<string, string> = {},
  ): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    // /health and /metrics come encoded once per rendering: a flood of scrapers costs no encoding each.
    const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : `${JSON.stringify(body, null, 2)}\n`;
    res.writeHead(code, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': String(typeof text === 'string' ? Buffer.byteLength(text) : text.length),
      ...extra,
    });
    res.end(res.req.method === 'HEAD' ? undefined : text);
    this.routes.count(route, code);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.lastRequestAt = performance.now();
    // URL and headers over daemon.max_request_bytes never get here: node:http answers 431 (maxHeaderSize).
    const rawUrl = req.url ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      req.resume();
      return this.send(
        res,
        'other',
        405,
        { error: `method ${req.method} is not allowed: this API is read-only (GET, HEAD)` },
        undefined,
        { allow: 'GET, HEAD' },
      );
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > 0 || req.headers['transfer-encoding']) {
      req.resume();
      res.once('finish', () => req.socket.destroySoon());
      return this.send(res, 'other', 413, { error: 'a request body is not accepted' }, undefined, {
        connection: 'close',
      });
    }
    const wait = this.limiter.admit(req.socket.remoteAddress ?? 'unknown');
    if (wait)
      return this.send(
        res,
        'other',
        429,
        {
          error: `too many requests: more than ${this.limits.ratePerMinute} a minute from this address (daemon.rate_limit_per_minute)`,
        },
        undefined,
        { 'retry-after': String(wait) },
      );

    // The two scraped paths as they are always asked for need no URL parsing (the hot path
    // under a flood of scrapers); anything else is normalised by the URL parser.
    let path: string;
    let query: URLSearchParams | undefined;
    if (rawUrl === '/health' || rawUrl === '/metrics') path = rawUrl;
    else {
      let url: URL;
      try {
        url = new URL(rawUrl, 'http://daemon.invalid');
      } catch {
        return this.send(res, 'other', 400, { error: 'malformed URL' });
      }
      path = url.pathname;
      query = url.searchParams;
    }
    // Static files: only the fixed set, looked up by exact name (no file system path is ever
    // built from the URL, so '..' cannot reach anything). They hold no host data, so a browser
    // may load the page without the token; the data it shows comes from /api/v1 with it.
    const asset = DASHBOARD_ASSETS[path === '/' ? '/index.html' : path];
    const open = Boolean(asset) || (!this.limits.protectAll && (path === '/health' || path === '/metrics'));
    if (this.limits.token && !open) {
      const auth = req.headers.authorization ?? '';
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m || !tokenMatches(m[1]!, this.limits.token)) {
        return this.send(
          res,
          'auth',
          401,
          { error: 'a bearer token is required: send Authorization: Bearer <the token in daemon.token_file>' },
          undefined,
          { 'www-authenticate': 'Bearer realm="cx-ops"' },
        );
      }
    }

    if (path === '/health') {
      const h = this.routes.health();
      return this.send(res, 'health', h.code, h.body);
    }
    if (path === '/metrics') {
      const m = await this.routes.metrics();
      return this.send(res, 'metrics', 200, m.body, m.contentType);
    }
    if (path === '/api/v1/stream') return this.stream(req, res);
    if (path.startsWith('/api/v1/')) {
      const body = await this.routes.api(path.slice('/api/v1/'.length), query ?? new URLSearchParams());
      if (body === undefined)
        return this.send(res, 'api', 404, { error: `no API endpoint ${path}; see /api/v1/ for the list` });
      if (
        body &&
        typeof body === 'object' &&
        'error' in body &&
        'status' in body &&
        typeof (body as { status: unknown }).status === 'number'
      ) {
        return this.send(res, 'api', (body as { status: number }).status, {
          error: (body as { error: unknown }).error,
        });
      }
      return this.send(res, 'api', 200, body);
    }
    if (asset) return this.send(res, 'static', 200, asset.body, asset.type);
    return this.send(res, 'other', 404, { error: `not found: ${path}` });
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams >= this.limits.maxStreams)
      return this.send(res, 'stream', 503, { error: `too many live streams (${this.limits.maxStreams})` });
    this.streams++;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    this.routes.count('stream', 200);
    const write = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    res.write('retry: 2000\n\n');
    const off = this.routes.stream(write);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    ping.unref();
    const end = () => {
      clearInterval(ping);
      off();
      this.streams--;
    };
    req.once('close', end);
  }
}
