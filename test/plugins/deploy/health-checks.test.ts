// The health-check contributions (what deploy, the daemon and self-healing share) against real
// servers on their own 127.0.0.x addresses, and the seed's generated check scripts run by sh.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as httpServer, type Server } from 'node:http';
import { createServer as tcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlugin, type StartedPlugin } from 'cx-ops/sdk/testing';
import { generateHealthCheck, generateHealthMonitor } from '../../../plugins-builtin/deploy/health-scripts.js';

const DEPLOY = new URL('../../../dist/plugins-builtin/deploy/', import.meta.url);
const SERVICES = new URL('../../../dist/plugins-builtin/services/', import.meta.url);

let http: Server;
let tcp: TcpServer;
let plugin: StartedPlugin;
let port = 0;
let tcpPort = 0;

const listen = (s: Server | TcpServer, host: string) =>
  new Promise<number>((r) => s.listen(0, host, () => r((s.address() as { port: number }).port)));

beforeAll(async () => {
  http = httpServer((req, res) => {
    if (req.url === '/ok') res.end('all good');
    else if (req.url === '/moved') res.writeHead(302, { location: '/ok' }).end();
    else res.writeHead(500).end('broken');
  });
  port = await listen(http, '127.0.0.31');
  tcp = tcpServer((s) => s.end());
  tcpPort = await listen(tcp, '127.0.0.32');
  plugin = await startPlugin(DEPLOY, { tier: 'trusted', alongside: [join(SERVICES.pathname)] });
});
afterAll(async () => {
  await plugin?.close();
  http?.close();
  tcp?.close();
});

const probe = (id: string, req: Record<string, unknown>) =>
  plugin.invoke('health-check', id, { timeout_ms: 2000, ...req } as never) as Promise<{
    state: string;
    detail: string;
  }>;

describe('health-check contributions', () => {
  it('http: 2xx and 3xx are healthy, others not; expect_body must be in the body', async () => {
    expect(await probe('http', { form: 'http', url: `http://127.0.0.31:${port}/ok` })).toMatchObject({
      state: 'healthy',
      detail: `GET http://127.0.0.31:${port}/ok: HTTP 200`,
    });
    expect(await probe('http', { form: 'http', url: `http://127.0.0.31:${port}/moved` })).toMatchObject({
      state: 'healthy',
    });
    expect(await probe('http', { form: 'http', url: `http://127.0.0.31:${port}/bad` })).toMatchObject({
      state: 'unhealthy',
      detail: `GET http://127.0.0.31:${port}/bad: HTTP 500`,
    });
    expect(
      await probe('http', { form: 'http', url: `http://127.0.0.31:${port}/ok`, expectBody: 'nope' }),
    ).toMatchObject({
      state: 'unhealthy',
      detail: `GET http://127.0.0.31:${port}/ok: HTTP 200, but the body does not contain "nope"`,
    });
  });

  it('tcp: a listening port is healthy; a closed one is not', async () => {
    expect(await probe('tcp', { form: 'tcp', host: '127.0.0.32', port: tcpPort })).toMatchObject({
      state: 'healthy',
      detail: `connected to 127.0.0.32:${tcpPort}`,
    });
    expect(await probe('tcp', { form: 'tcp', host: '127.0.0.33', port: tcpPort })).toMatchObject({
      state: 'unhealthy',
      detail: `127.0.0.33:${tcpPort}: ECONNREFUSED`,
    });
  });

  it("command: Consul's exit convention, output capped", async () => {
    expect(await probe('command', { form: 'command', command: 'echo fine' })).toMatchObject({
      state: 'healthy',
      detail: 'exit 0: fine',
    });
    expect(await probe('command', { form: 'command', command: 'echo slow >&2; exit 1' })).toMatchObject({
      state: 'degraded',
      detail: 'exit 1: slow',
    });
    expect(await probe('command', { form: 'command', command: 'exit 2' })).toMatchObject({
      state: 'unhealthy',
      detail: 'exit 2',
    });
    const big = await probe('command', { form: 'command', command: 'head -c 100000 /dev/zero | tr "\\0" x' });
    expect(big.detail.length).toBeLessThanOrEqual('exit 0: '.length + 4096);
  });

  it('systemd: asked through the services plugin; without systemd it says why', async () => {
    const r = await probe('systemd', { form: 'systemd', unit: 'postgresql' });
    expect(r.state).toBe('unhealthy');
    expect(r.detail).toMatch(/^cannot ask systemd: systemd is not running here/);
  });
});

describe('generated scripts', () => {
  it('generateHealthCheck and generateHealthMonitor exit 0/2 as the services are', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-hc-'));
    try {
      const good = {
        enable: true,
        ip: '127.0.0.31',
        hostname: 'a.test',
        health_check: { test: `tcp:${port}`, timeout: '2s' },
      };
      const down = {
        enable: true,
        ip: '127.0.0.33',
        hostname: 'b.test',
        health_check: `tcp:${port}`,
        depends_on: ['good'],
      };
      const cmd = { enable: true, ip: '127.0.0.34', hostname: 'c.test', health_check: 'exit 1' };
      const run = (name: string, text: string) => {
        writeFileSync(join(dir, name), text);
        return spawnSync('sh', [join(dir, name)], { encoding: 'utf8' });
      };
      expect(run('good.sh', generateHealthCheck('good', good)).status).toBe(0);
      expect(run('down.sh', generateHealthCheck('down', down)).status).toBe(2);
      expect(run('cmd.sh', generateHealthCheck('cmd', cmd)).status).toBe(1);
      const m = run('monitor.sh', generateHealthMonitor({ services: { good, down, cmd } }));
      expect([m.status, m.stdout]).toEqual([2, 'good: healthy\ncmd: degraded\ndown: unhealthy\n']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
