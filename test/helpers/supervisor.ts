/**
 * A real supervisord for tests: its own config and unix socket in a temp dir, run in the
 * foreground as a child of the test and stopped by its pid. Programs: `steady` (runs) and
 * `flaky` (exits at once while <base>/crash exists).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Supervisor {
  base: string;
  conf: string;
  /** Runs supervisorctl against this supervisord. */
  ctl(...args: string[]): { stdout: string; status: number | null };
  /** Makes `flaky` crash (true) or run (false) from its next start. */
  crash(on: boolean): void;
  stop(): Promise<void>;
}

export async function startSupervisor(): Promise<Supervisor> {
  const base = mkdtempSync(join(tmpdir(), 'cx-supervisor-'));
  const conf = join(base, 'supervisord.conf');
  writeFileSync(
    join(base, 'flaky.sh'),
    `#!/bin/sh\nif [ -e ${base}/crash ]; then echo crashing >&2; exit 1; fi\nexec sleep 600\n`,
    { mode: 0o755 },
  );
  writeFileSync(join(base, 'crash'), '');
  writeFileSync(
    conf,
    [
      '[unix_http_server]',
      `file=${base}/supervisor.sock`,
      '',
      '[supervisord]',
      `logfile=${base}/supervisord.log`,
      `pidfile=${base}/supervisord.pid`,
      `childlogdir=${base}`,
      'nodaemon=true',
      'user=root',
      '',
      '[rpcinterface:supervisor]',
      'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '',
      '[supervisorctl]',
      `serverurl=unix://${base}/supervisor.sock`,
      '',
      '[program:steady]',
      'command=sleep 600',
      'startsecs=0',
      'autorestart=false',
      '',
      '[program:flaky]',
      `command=${base}/flaky.sh`,
      'startsecs=1',
      'startretries=0',
      'autorestart=false',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('supervisord', ['-c', conf], { stdio: 'ignore', detached: true });
  const ctl = (...args: string[]) => {
    const r = spawnSync('supervisorctl', ['-c', conf, ...args], { encoding: 'utf8' });
    return { stdout: r.stdout, status: r.status };
  };
  const stop = async () => {
    if (child.pid && child.exitCode === null) {
      // Its own process group: supervisord and the programs it started.
      process.kill(-child.pid, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(base, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    const s = ctl('status').stdout;
    if (/flaky\s+FATAL/.test(s) && /steady\s+RUNNING/.test(s)) {
      return {
        base,
        conf,
        ctl,
        stop,
        crash: (on) => (on ? writeFileSync(join(base, 'crash'), '') : rmSync(join(base, 'crash'), { force: true })),
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const status = ctl('status').stdout;
  await stop();
  throw new Error(`supervisord did not come up: ${status}`);
}
