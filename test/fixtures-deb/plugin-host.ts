/**
 * A small in-process host for the repair/update plugins' tests: real exec (no shell) and real
 * fs on the temp directories the test gives, dry-run recording like the kernel's, a registry of
 * the given plugins' contributions and hooks. It stands in for the kernel's wiring only; the
 * things under test (dpkg, apt, supervisord, files) are real.
 */
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type {
  Contribution, ExecResult, FsCapability, HookOutcome, Json, PluginContext, PluginDefinition, RegistryCapability,
} from 'cx-ops/sdk';

export interface HostOptions {
  plugins: PluginDefinition<any>[];
  root: string;
  configDir: string;
  dataDir: string;
  /** Config section per plugin name. */
  config?: Record<string, Record<string, unknown>>;
  assumeYes?: boolean;
  /** PATH for the programs run (default: the test's own). */
  path?: string;
}

export interface PluginHost {
  stdout: string;
  stderr: string;
  /** Dry-run recorded actions. */
  recorded: string[];
  ctx(plugin: string, dryRun?: boolean): PluginContext<any>;
  command(name: string, options?: Record<string, Json>, args?: Record<string, Json>): Promise<number>;
  invoke(kind: string, id: string, input: Json, dryRun?: boolean): Promise<Json>;
  take(): { stdout: string; stderr: string };
}

function execRun(host: PluginHost, dry: boolean, path: string) {
  return async (command: string, args: string[] = [], o: { cwd?: string; timeoutMs?: number; input?: string; env?: Record<string, string>; readOnly?: boolean } = {}): Promise<ExecResult> => {
    const started = performance.now();
    if (dry && !o.readOnly) {
      host.recorded.push(`exec ${command} ${args.join(' ')}`);
      return { command, args, exitCode: 0, signal: null, stdout: '', stderr: '', timedOut: false, truncated: false, dryRun: true, durationMs: 0 };
    }
    return new Promise((resolve) => {
      const child = spawn(command, args, {
        cwd: o.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'],
        env: { PATH: path, LANG: 'C', LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', ...o.env },
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
      }, o.timeoutMs ?? 30_000);
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.stdin.on('error', () => { /* the program did not read its input */ });
      child.stdin.end(o.input ?? '');
      const done = (exitCode: number | null, signal: string | null) => {
        clearTimeout(timer);
        resolve({ command, args, exitCode, signal, stdout, stderr, timedOut, truncated: false, dryRun: false, durationMs: performance.now() - started });
      };
      child.on('error', (e) => { stderr += String(e.message); done(127, null); });
      child.on('close', (code, signal) => done(code, signal));
    });
  };
}

function fsCap(host: PluginHost, dry: boolean): FsCapability {
  const record = (what: string) => { host.recorded.push(what); };
  const typeOf = (s: import('node:fs').Stats) => (s.isSymbolicLink() ? 'symlink' : s.isDirectory() ? 'directory' : s.isFile() ? 'file' : 'other') as 'file';
  return {
    readFile: (p) => fsp.readFile(p, 'utf8'),
    readDir: async (p) => (await fsp.readdir(p, { withFileTypes: true })).map((e) => ({ name: e.name, type: e.isSymbolicLink() ? 'symlink' : e.isDirectory() ? 'directory' : e.isFile() ? 'file' : 'other' })),
    stat: async (p) => {
      try {
        const s = await fsp.lstat(p);
        return { path: p, type: typeOf(s), size: s.size, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, mtimeMs: s.mtimeMs };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    statfs: async (p) => { const s = await fsp.statfs(p); return { total: s.blocks * s.bsize, free: s.bfree * s.bsize, available: s.bavail * s.bsize, files: s.files, filesFree: s.ffree }; },
    readlink: (p) => fsp.readlink(p),
    writeFile: async (p, data, o = {}) => {
      if (dry) return record(`write ${p}`);
      if (o.append) return fsp.appendFile(p, data, { mode: o.mode });
      const tmp = join(dirname(p), `.${Date.now()}-${process.pid}.tmp`);
      const fh = await fsp.open(tmp, 'w', o.mode ?? 0o644);
      await fh.writeFile(data);
      await fh.sync();
      await fh.close();
      await fsp.rename(tmp, p);
    },
    mkdir: async (p, o = {}) => { if (dry) return record(`mkdir ${p}`); await fsp.mkdir(p, { recursive: true, mode: o.mode }); },
    remove: async (p, o = {}) => { if (dry) return record(`remove ${p}`); await fsp.rm(p, { recursive: Boolean(o.recursive) }); /* like the kernel: a missing path is an error */ },
    rename: async (a, b) => { if (dry) return record(`rename ${a} ${b}`); await fsp.rename(a, b); },
    chmod: async (p, m) => { if (dry) return record(`chmod ${m.toString(8)} ${p}`); await fsp.chmod(p, m); },
    chown: async (p, u, g) => { if (dry) return record(`chown ${u}:${g} ${p}`); await fsp.lchown(p, u, g); },
  };
}

/** Creates the host and activates nothing: the plugins are plain definitions. */
export function createPluginHost(o: HostOptions): PluginHost {
  const contributions = new Map<string, { plugin: string; c: Contribution }>();
  for (const p of o.plugins) for (const c of p.contributes ?? []) contributions.set(`${c.kind}\0${c.id}`, { plugin: p.name, c });
  const host: PluginHost = {
    stdout: '',
    stderr: '',
    recorded: [],
    take() { const r = { stdout: host.stdout, stderr: host.stderr }; host.stdout = ''; host.stderr = ''; return r; },
    ctx(plugin, dryRun = false) {
      const registry: RegistryCapability = {
        list: async (k: string | { kind: string }) => { const kind = typeof k === 'string' ? k : k.kind; return [...contributions.values()].filter((x) => x.c.kind === kind).map((x) => ({ kind, id: x.c.id, plugin: x.plugin, tier: 'trusted' as const, meta: x.c.meta })); },
        // Like the kernel: a nested invoke is dry only when asked (the caller must pass its own dryRun on).
        invoke: (k: string | { kind: string }, id: string, input?: unknown, opt?: { dryRun?: boolean }): Promise<any> => host.invoke(typeof k === 'string' ? k : k.kind, id, (input ?? null) as Json, Boolean(opt?.dryRun)),
        callHook: async (h: string | { name: string }, payload: unknown): Promise<any> => {
          const hook = typeof h === 'string' ? h : h.name;
          const taps = o.plugins.flatMap((p) => (p.taps ?? []).filter((t) => t.hook === hook).map((t) => ({ p: p.name, t })));
          taps.sort((a, b) => (a.t.priority ?? 50) - (b.t.priority ?? 50));
          for (const { p, t } of taps) {
            const r = await t.run(host.ctx(p, dryRun), payload);
            if (hook.startsWith('pre_') && r === false) return { proceed: false, vetoedBy: p, payload, errors: [] };
          }
          return { proceed: true, payload, errors: [] };
        },
      };
      const pluginCtx = {
        plugin,
        tier: 'trusted' as const,
        config: o.config?.[plugin] ?? {},
        env: {
          root: o.root, stateDir: join(o.dataDir, 'plugin-state', plugin), cacheDir: join(o.dataDir, '..', 'cache', plugin),
          configDir: o.configDir, dataDir: o.dataDir, dryRun, verbose: false, assumeYes: o.assumeYes ?? true, kernelVersion: '0.1.0',
        },
        log: { debug() {}, info() {}, warn: (m: string) => void (host.stderr += `warn: ${m}\n`), error: (m: string) => void (host.stderr += `error: ${m}\n`) },
        io: { out: (t: string) => void (host.stdout += t), err: (t: string) => void (host.stderr += t), confirm: async () => o.assumeYes ?? true, color: false, interactive: false },
        exec: { run: execRun(host, dryRun, o.path ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin') },
        fs: fsCap(host, dryRun),
        net: {} as never,
        registry,
        plugins: {} as never,
      };
      return pluginCtx as PluginContext<any>;
    },
    async invoke(kind, id, input, dryRun = false) {
      const entry = contributions.get(`${kind}\0${id}`);
      if (!entry) throw new Error(`no ${kind} '${id}'`);
      return (await entry.c.run(host.ctx(entry.plugin, dryRun), input)) as Json;
    },
    async command(name, options = {}, args = {}) {
      // As the kernel does: a command declaring dryRun runs as a dry run when given --dry-run.
      const entry = contributions.get(`command\0${name}`);
      const dry = entry?.c.meta.dry_run === true && options.dryRun === true;
      return (await host.invoke('command', name, { args, options } as unknown as Json, dry)) as number;
    },
  };
  return host;
}
