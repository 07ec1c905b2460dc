/**
 * A small in-process host for the repair/update plugins' tests: real exec (no shell) and the
 * kernel's fs capability (rooted at the test's root) on the temp directories the test gives, dry-run recording like
 * the kernel's, a registry of
 * the given plugins' contributions and hooks. It stands in for the kernel's wiring only; the
 * things under test (dpkg, apt, supervisord, files) are real.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type {
  Contribution,
  ExecResult,
  HookOutcome,
  Json,
  PluginContext,
  PluginDefinition,
  RegistryCapability,
} from 'cx-ops/sdk';
import { AuditLog } from '../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../core/capabilities/index.js';

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
  return async (
    command: string,
    args: string[] = [],
    o: { cwd?: string; timeoutMs?: number; input?: string; env?: Record<string, string>; readOnly?: boolean } = {},
  ): Promise<ExecResult> => {
    const started = performance.now();
    if (dry && !o.readOnly) {
      host.recorded.push(`exec ${command} ${args.join(' ')}`);
      return {
        command,
        args,
        exitCode: 0,
        signal: null,
        stdout: '',
        stderr: '',
        timedOut: false,
        truncated: false,
        dryRun: true,
        durationMs: 0,
      };
    }
    return new Promise((resolve) => {
      const child = spawn(command, args, {
        cwd: o.cwd,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { PATH: path, LANG: 'C', LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', ...o.env },
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, o.timeoutMs ?? 30_000);
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.stdin.on('error', () => {
        /* the program did not read its input */
      });
      child.stdin.end(o.input ?? '');
      const done = (exitCode: number | null, signal: string | null) => {
        clearTimeout(timer);
        resolve({
          command,
          args,
          exitCode,
          signal,
          stdout,
          stderr,
          timedOut,
          truncated: false,
          dryRun: false,
          durationMs: performance.now() - started,
        });
      };
      child.on('error', (e) => {
        stderr += String(e.message);
        done(127, null);
      });
      child.on('close', (code, signal) => done(code, signal));
    });
  };
}

/** The kernel's own fs / localFs / lock / assets capabilities (trusted tier), dry-run recording into the host. */
function capabilities(host: PluginHost, plugin: string, dry: boolean, o: HostOptions) {
  return createHostCapabilities({
    plugin,
    tier: 'trusted',
    grants: 'all',
    dryRun: dry,
    audit: AuditLog.memory(),
    recorder: dry ? { actions: host.recorded } : undefined,
    root: o.root,
    lockDir: join(o.dataDir, 'locks'),
  });
}

/** Creates the host and activates nothing: the plugins are plain definitions. */
export function createPluginHost(o: HostOptions): PluginHost {
  const contributions = new Map<string, { plugin: string; c: Contribution }>();
  for (const p of o.plugins)
    for (const c of p.contributes ?? []) contributions.set(`${c.kind}\0${c.id}`, { plugin: p.name, c });
  const host: PluginHost = {
    stdout: '',
    stderr: '',
    recorded: [],
    take() {
      const r = { stdout: host.stdout, stderr: host.stderr };
      host.stdout = '';
      host.stderr = '';
      return r;
    },
    ctx(plugin, dryRun = false) {
      const registry: RegistryCapability = {
        list: async (k: string | { kind: string }) => {
          const kind = typeof k === 'string' ? k : k.kind;
          return [...contributions.values()]
            .filter((x) => x.c.kind === kind)
            .map((x) => ({ kind, id: x.c.id, plugin: x.plugin, tier: 'trusted' as const, meta: x.c.meta }));
        },
        // Like the kernel: a nested invoke is dry only when asked (the caller must pass its own dryRun on).
        invoke: (k: string | { kind: string }, id: string, input?: unknown, opt?: { dryRun?: boolean }): Promise<any> =>
          host.invoke(typeof k === 'string' ? k : k.kind, id, (input ?? null) as Json, Boolean(opt?.dryRun)),
        callHook: async (h: string | { name: string }, payload: unknown): Promise<any> => {
          const hook = typeof h === 'string' ? h : h.name;
          const taps = o.plugins.flatMap((p) =>
            (p.taps ?? []).filter((t) => t.hook === hook).map((t) => ({ p: p.name, t })),
          );
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
          root: o.root,
          stateDir: join(o.dataDir, 'plugin-state', plugin),
          cacheDir: join(o.dataDir, '..', 'cache', plugin),
          configDir: o.configDir,
          dataDir: o.dataDir,
          dryRun,
          verbose: false,
          assumeYes: o.assumeYes ?? true,
          kernelVersion: '0.1.0',
        },
        log: {
          debug() {},
          info() {},
          warn: (m: string) => void (host.stderr += `warn: ${m}\n`),
          error: (m: string) => void (host.stderr += `error: ${m}\n`),
        },
        io: {
          out: (t: string) => void (host.stdout += t),
          err: (t: string) => void (host.stderr += t),
          confirm: async () => o.assumeYes ?? true,
          color: false,
          interactive: false,
        },
        exec: { run: execRun(host, dryRun, o.path ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin') },
        ...(({ fs, localFs, lock, assets }) => ({ fs, localFs, lock, assets }))(capabilities(host, plugin, dryRun, o)),
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
