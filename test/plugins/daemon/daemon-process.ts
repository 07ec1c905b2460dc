/**
 * Starts the real `cx-ops daemon` in a throwaway root (JSON logs on stderr, a free loopback
 * port) and gives tests its port, its parsed log lines and a way to wait for a line.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { LAUNCHER } from '../../helpers/run-cli.js';

/** The daemon's own launcher (what the shipped unit runs). */
export const DAEMON_LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops-daemon', import.meta.url));
export const doctorFixture = (p: string) => fileURLToPath(new URL(`../../helpers/fixtures/${p}`, import.meta.url));
export const daemonFixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));

export interface LogLine {
  ts: string;
  level: string;
  type: string;
  plugin: string | null;
  message: string;
  data?: Record<string, any>;
}

export interface DaemonRoot {
  root: string;
  config(yaml: string): Promise<void>;
  /** Runs a one-shot cx-ops command in the same root. */
  cli(args: string[], env?: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Starts `cx-ops daemon`; `launcher: 'daemon'` starts it as the shipped unit does, through core/bin/cx-ops-daemon. */
  start(options?: {
    args?: string[];
    env?: Record<string, string>;
    waitListening?: boolean;
    launcher?: 'daemon';
  }): Promise<RunningDaemon>;
  cleanup(): Promise<void>;
}

export interface RunningDaemon {
  port: number;
  url: string;
  pid: number;
  lines: LogLine[];
  stderr(): string;
  /** Resolves with the first line (already seen or coming) that matches. */
  waitFor(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  get(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<{ exitCode: number | undefined }>;
}

export async function daemonRoot(fixture?: string): Promise<DaemonRoot> {
  const root = await mkdtemp(join(tmpdir(), 'cx-daemon-'));
  if (fixture) await cp(doctorFixture(fixture), root, { recursive: true });
  await mkdir(join(root, 'etc/cx'), { recursive: true });
  const baseEnv = (extra: Record<string, string> = {}) => ({
    HOME: join(root, 'home'),
    NO_COLOR: '1',
    CX_PLUGIN_PATH: '',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...extra,
  });
  const running: RunningDaemon[] = [];
  return {
    root,
    config: (yaml) => writeFile(join(root, 'etc/cx/config.yaml'), yaml),
    async cli(args, env) {
      const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, '--root', root, ...args], {
        reject: false,
        env: baseEnv(env),
        extendEnv: false,
        input: '',
        timeout: 60_000,
      });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    async start(options = {}) {
      const args = ['--root', root, '--log-format', 'json', ...(options.args ?? [])];
      const child: ResultPromise = execa(
        options.launcher === 'daemon' ? DAEMON_LAUNCHER : process.execPath,
        options.launcher === 'daemon' ? args : ['--no-node-snapshot', LAUNCHER, 'daemon', ...args],
        {
          reject: false,
          env: baseEnv(options.env),
          extendEnv: false,
          stdin: 'ignore',
          buffer: false,
          // No SIGKILL 5 s after a SIGTERM (execa's default): under load a clean stop can take
          // longer, and the kill would pass for the daemon dying of the signal.
          forceKillAfterDelay: false,
          stderr: 'pipe',
          stdout: 'pipe',
        },
      );
      const lines: LogLine[] = [];
      let raw = '';
      const waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
      let pending = '';
      child.stderr!.on('data', (b: Buffer) => {
        raw += b.toString();
        pending += b.toString();
        let i: number;
        while ((i = pending.indexOf('\n')) >= 0) {
          const text = pending.slice(0, i);
          pending = pending.slice(i + 1);
          let l: LogLine;
          try {
            l = JSON.parse(text) as LogLine;
          } catch {
            continue;
          }
          lines.push(l);
          for (const w of [...waiters])
            if (w.pred(l)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(l);
            }
        }
      });
      child.stdout!.resume();
      const exited = child.then((r) => ({ exitCode: r.exitCode, signal: r.signal }));
      const waitFor = (pred: (l: LogLine) => boolean, what: string, timeoutMs = 45_000) => {
        const seen = lines.find(pred);
        if (seen) return Promise.resolve(seen);
        return new Promise<LogLine>((resolve, reject) => {
          const t = setTimeout(
            () =>
              reject(
                new Error(`daemon: no log line '${what}' within ${timeoutMs / 1000}s; stderr:\n${raw.slice(-4000)}`),
              ),
            timeoutMs,
          );
          waiters.push({
            pred,
            resolve: (l) => {
              clearTimeout(t);
              resolve(l);
            },
          });
          void exited.then(() =>
            setTimeout(() => {
              clearTimeout(t);
              reject(new Error(`daemon exited before '${what}'; stderr:\n${raw.slice(-4000)}`));
            }, 200),
          );
        });
      };
      let port = 0;
      if (options.waitListening !== false)
        port = (await waitFor((l) => l.type === 'listening', 'listening')).data!.port as number;
      const url = `http://127.0.0.1:${port}`;
      const d: RunningDaemon = {
        port,
        url,
        pid: child.pid!,
        lines,
        stderr: () => raw,
        waitFor,
        exited,
        async get(path, headers = {}) {
          const r = await fetch(`${url}${path}`, { headers });
          const text = await r.text();
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          return { status: r.status, headers: r.headers, text, json };
        },
        kill: (s) => void child.kill(s),
        async stop() {
          child.kill('SIGTERM');
          const r = await exited;
          return { exitCode: r.exitCode };
        },
      };
      running.push(d);
      return d;
    },
    async cleanup() {
      for (const d of running) {
        d.kill('SIGKILL');
        await d.exited;
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Enables the plugin in `dir` and makes it trusted as an operator would trust it (the CLI
 * enables third-party plugins sandboxed): it then runs in the daemon's own process.
 */
export async function enableTrusted(host: DaemonRoot, dir: string, name: string): Promise<void> {
  const r = await host.cli(['--plugin-dir', dir, 'plugins', 'enable', name]);
  if (r.exitCode !== 0) throw new Error(`plugins enable ${name} failed: ${r.stderr}`);
  const stateFile = join(host.root, 'var/lib/cx/state.json');
  const st = JSON.parse(await readFile(stateFile, 'utf8'));
  st.plugins[name].tier = 'trusted';
  await writeFile(stateFile, JSON.stringify(st));
}

/** Waits until `fn` returns a truthy value (polling; for states the daemon reaches by itself). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 45_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not reached within ${timeoutMs / 1000}s: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
