/**
 * A throwaway host for deploy tests: a temp root whose /etc/supervisor/supervisord.conf
 * includes /etc/supervisor/conf.d/*.conf, a real supervisord on it (its own process group,
 * stopped by pid), and small HTTP and TCP servers the manifests run as services.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SupervisorHost {
  root: string;
  /** 127.A.B, random per host: its services are 127.A.B.11 and so on, so runs at once do not meet. */
  net: string;
  conf: string;
  ctl(...args: string[]): string;
  /** `node <server>` for the HTTP server (answers /health with "ok", or 503 when FAIL=1 is set). */
  http: string;
  /** `node <server>` for the TCP server (accepts and closes). */
  tcp: string;
  /** Removes every program a test left behind (so one failed test does not fail the next ones). */
  reset(): void;
  stop(): Promise<void>;
}

const HTTP = `import { createServer } from 'node:http';
const fail = process.env.FAIL === '1';
createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(fail ? 503 : 200); res.end(fail ? 'failing' : 'ok ' + process.env.CX_DEPLOY_SERVICE); return; }
  res.writeHead(404); res.end();
}).listen(Number(process.env.PORT), process.env.CX_DEPLOY_IP);
`;
const TCP = `import { createServer } from 'node:net';
// A probe that connects and hangs up at once resets the socket: without a handler that error
// would crash the server (and, three crashes in a minute, make its restart loop give up).
createServer((s) => { s.on('error', () => {}); s.end('hello\\n'); }).listen(Number(process.env.PORT), process.env.CX_DEPLOY_IP);
`;

export async function startSupervisorHost(): Promise<SupervisorHost> {
  const net = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 256)}`;
  const root = mkdtempSync(join(tmpdir(), 'cx-deploy-'));
  const etc = join(root, 'etc/supervisor');
  mkdirSync(join(etc, 'conf.d'), { recursive: true });
  mkdirSync(join(root, 'run'), { recursive: true });
  writeFileSync(join(root, 'http-server.mjs'), HTTP);
  writeFileSync(join(root, 'tcp-server.mjs'), TCP);
  const conf = join(etc, 'supervisord.conf');
  writeFileSync(
    conf,
    [
      '[unix_http_server]',
      `file=${root}/run/supervisor.sock`,
      '',
      '[supervisord]',
      `logfile=${root}/supervisord.log`,
      `pidfile=${root}/run/supervisord.pid`,
      `childlogdir=${root}`,
      'nodaemon=true',
      'user=root',
      '',
      '[rpcinterface:supervisor]',
      'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '',
      '[supervisorctl]',
      `serverurl=unix://${root}/run/supervisor.sock`,
      '',
      '[include]',
      `files = ${etc}/conf.d/*.conf`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('supervisord', ['-c', conf], { stdio: 'ignore', detached: true });
  const ctl = (...args: string[]) => {
    const r = spawnSync('supervisorctl', ['-c', conf, ...args], { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`;
  };
  const stop = async () => {
    if (child.pid && child.exitCode === null) {
      process.kill(-child.pid, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
  };
  const reset = () => {
    for (const f of readdirSync(join(etc, 'conf.d'))) rmSync(join(etc, 'conf.d', f), { force: true });
    ctl('update');
  };
  for (let i = 0; i < 100; i++) {
    if (/^\d+$/.test(ctl('pid').trim())) {
      return {
        root,
        net,
        conf,
        ctl,
        reset,
        stop,
        http: `${process.execPath} ${join(root, 'http-server.mjs')}`,
        tcp: `${process.execPath} ${join(root, 'tcp-server.mjs')}`,
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('supervisord did not come up');
}
