// deploy status --watch through the real launcher against a real loopback HTTP server: each
// round probes again (a server that starts failing shows up in a later round), --count bounds
// the rounds, --json is one JSON document per line and round, and SIGINT ends the watch
// cleanly after the round in progress (exit as the last round: 1 when unhealthy, no stack).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops.js', import.meta.url));
let root: string;
let server: Server;
let failing = false;
let requests = 0;
let manifest: string;

const args = (extra: string[]) => [
  '--no-node-snapshot',
  LAUNCHER,
  '--root',
  root,
  'deploy',
  'status',
  manifest,
  ...extra,
];
const options = () => ({
  reject: false,
  input: '',
  env: { PATH: process.env.PATH!, HOME: join(root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
  extendEnv: false,
  timeout: 240_000,
});

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cx-deploy-watch-'));
  server = createServer((req, res) => {
    requests++;
    res.writeHead(failing ? 503 : 200);
    res.end(failing ? 'failing' : 'ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.51', r));
  const port = (server.address() as { port: number }).port;
  manifest = join(root, 'watch.yaml');
  writeFileSync(
    manifest,
    `network: { network_cidr: 127.0.0.0/24 }
services:
  web:
    enable: true
    ip: 127.0.0.51
    hostname: web.test
    health_check: { test: "http://127.0.0.51:${port}/health", timeout: 5s }
`,
  );
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe('deploy status --watch', { timeout: 300_000 }, () => {
  it('--count 3 --json: three rounds, one JSON document per line, each probed anew', async () => {
    failing = false;
    const before = requests;
    const r = await execa(
      process.execPath,
      args(['--watch', '--count', '3', '--interval', '0.1', '--json']),
      options(),
    );
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(3);
    const docs = lines.map((l) => JSON.parse(l));
    expect(
      docs.map((d) => [
        d.round,
        d.status,
        d.services.map((s: { name: string; health: { state: string } }) => `${s.name} ${s.health.state}`),
      ]),
    ).toEqual([
      [1, 'healthy', ['web healthy']],
      [2, 'healthy', ['web healthy']],
      [3, 'healthy', ['web healthy']],
    ]);
    expect(docs.every((d) => d.file === manifest && !Number.isNaN(Date.parse(d.at)))).toBe(true);
    expect(requests - before).toBe(3);
  });

  it('text: a header per round; --count alone implies --watch', async () => {
    failing = false;
    const r = await execa(process.execPath, args(['--count', '2', '--interval', '0.1']), options());
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(
      /^\S+Z round 1: healthy\nweb: healthy \(GET http:\/\/127\.0\.0\.51:\d+\/health: HTTP 200\)\n\n\S+Z round 2: healthy\nweb: healthy \(GET [^\n]+\)$/,
    );
  });

  it('a failure shows up in a later round; SIGINT ends the watch after that round, exit 1, no stack', async () => {
    failing = false;
    const child = execa(process.execPath, args(['--watch', '--interval', '0.2', '--json']), options());
    const docs: Array<{ round: number; status: string }> = [];
    let buffered = '';
    const seen = (want: (d: { status: string }) => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (docs.some(want)) {
            child.stdout!.off('data', onData);
            resolve();
          }
        };
        const onData = (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const l of lines) docs.push(JSON.parse(l));
          check();
        };
        child.stdout!.on('data', onData);
        check();
      });
    await seen((d) => d.status === 'healthy');
    failing = true;
    await seen((d) => d.status === 'unhealthy');
    child.kill('SIGINT');
    const r = await child;
    for (const l of buffered.split('\n').filter(Boolean)) docs.push(JSON.parse(l));
    expect([r.exitCode, r.signal ?? null, r.stderr]).toEqual([1, null, '']);
    expect(docs.map((d) => d.round)).toEqual(docs.map((_, i) => i + 1));
    // Healthy rounds, then unhealthy ones until the interrupt; never back.
    const firstBad = docs.findIndex((d) => d.status === 'unhealthy');
    expect(
      docs.slice(0, firstBad).every((d) => d.status === 'healthy') &&
        docs.slice(firstBad).every((d) => d.status === 'unhealthy'),
    ).toBe(true);
  });

  it('SIGTERM during the wait between rounds ends the watch at once (an hour-long --interval does not hold it)', async () => {
    failing = false;
    const child = execa(process.execPath, args(['--watch', '--interval', '3600', '--json']), options());
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.kill('SIGTERM');
    const r = await child;
    expect([r.exitCode, r.signal ?? null, r.stderr]).toEqual([0, null, '']);
    expect(r.stdout.split('\n').map((l) => JSON.parse(l).round)).toEqual([1]);
  });

  it('a bad --interval or --count is a usage error (as JSON with --json)', async () => {
    const r = await execa(process.execPath, args(['--watch', '--interval', 'soon']), options());
    expect([r.exitCode, r.stderr]).toEqual([
      2,
      `error[CX_ERR_USAGE]: deploy status: --interval must be a positive number of seconds (got 'soon')\nTry: cx-ops --root ${root} deploy status ${manifest} --watch --interval 5 --count 10`,
    ]);
    const j = await execa(process.execPath, args(['--count', '0', '--json']), options());
    expect(j.exitCode).toBe(2);
    expect(JSON.parse(j.stdout).error).toMatchObject({
      code: 'CX_ERR_USAGE',
      plugin: 'deploy',
      message: expect.stringContaining("--count must be a positive whole number (got '0')"),
    });
  });
});
