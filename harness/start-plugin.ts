/**
 * startPlugin, the plugin author's test harness (`cx-ops/sdk/testing`): runs a plugin under the
 * real kernel and the real sandbox, in a throwaway set of directories, with faked capabilities
 * where the test wants them. Grants, audit and dry-run apply exactly as in production.
 *
 *   const plugin = await startPlugin(new URL('..', import.meta.url), {
 *     grants: ['exec:systemctl is-active my-service'],
 *     fakes: { exec: { run: async () => ({ exitCode: 0, stdout: 'active\n' }) } },
 *   });
 *   expect(await plugin.check('custom_service')).toMatchObject({ status: 'PASS' });
 *   await plugin.close();
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapabilityFakes as KernelFakes } from '../core/capabilities/index.js';
import type { Terminal } from '../core/context.js';
import { Kernel } from '../core/kernel.js';
import { readManifest } from '../core/loader/manifest.js';
import { formatGrants, requestedGrants } from '../core/permissions/grants.js';
import { resolvePaths } from '../core/paths.js';
import { bundlePluginFile } from '../sdk/bundle.js';
import { checkResultFrom } from '../sdk/index.js';
import type { CheckResult, ExecOptions, Json, Tier } from '../sdk/types.js';
import type { CapabilityFakes } from './capability-fakes.js';

export interface StartOptions {
  /** Run trusted (in-process) instead of sandboxed (default sandboxed); the manifest must say `tier: trusted`. */
  tier?: Tier;
  /** Grant strings; default: everything the manifest requests. */
  grants?: string[];
  /** Fakes for ctx.exec / ctx.fs / ctx.net (see CapabilityFakes); called only after grants allow the call. */
  fakes?: CapabilityFakes;
  /** The plugin's config section. */
  config?: Record<string, unknown>;
  /** Root of the host the plugin looks at (default "/"). */
  root?: string;
  /** Bundle src/index.ts into main first (default: when src/index.ts exists). */
  build?: boolean;
  /** Also load the built-in plugins (default false: the plugin alone). */
  withBuiltins?: boolean;
  /** Other plugin directories to load and enable alongside (all their requested grants). */
  alongside?: string[];
}

export interface CommandRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface StartedPlugin {
  readonly name: string;
  /** The temp directory holding config, state, logs and cache for this run. */
  readonly home: string;
  invoke(kind: string, id: string, input?: Json, options?: { dryRun?: boolean; timeoutMs?: number }): Promise<Json>;
  /** Runs a check and returns the CheckResult doctor would report. */
  check(id: string): Promise<CheckResult>;
  /** Runs a command contribution with captured output. */
  command(name: string, input?: { args?: Record<string, Json>; options?: Record<string, Json> }): Promise<CommandRun>;
  callHook(name: string, payload: Json): Promise<{ proceed: boolean; vetoedBy?: string; errors: string[] }>;
  /** The audit records written so far. */
  audit(): Promise<Array<Record<string, unknown>>>;
  /** Problems found while loading (a plugin that failed to load throws from startPlugin instead). */
  readonly bootErrors: string[];
  close(): Promise<void>;
}

/** The kernel's form of the harness fakes (its exec fake is the bare run function). */
function kernelFakes(fakes: CapabilityFakes | undefined): KernelFakes | undefined {
  if (!fakes) return undefined;
  const exec = fakes.exec;
  return {
    ...(exec?.run
      ? { exec: (command: string, args: string[], options: ExecOptions) => exec.run!(command, args, options) }
      : {}),
    ...(fakes.fs ? { fs: fakes.fs } : {}),
    ...(fakes.net ? { net: fakes.net } : {}),
  };
}

function captureTerminal(): Terminal & { take(): { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  return {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    color: false,
    interactive: false,
    take() {
      const r = { stdout, stderr };
      stdout = '';
      stderr = '';
      return r;
    },
  };
}

/** Boots the kernel with the plugin in `dirOrUrl` (alone, unless told otherwise) and returns a handle to drive it. */
export async function startPlugin(dirOrUrl: string | URL, options: StartOptions = {}): Promise<StartedPlugin> {
  const dir = resolve(typeof dirOrUrl === 'string' ? dirOrUrl : fileURLToPath(dirOrUrl));
  const { manifest } = await readManifest(dir);
  if (options.build ?? existsSync(join(dir, 'src', 'index.ts'))) {
    await bundlePluginFile(join(dir, 'src', 'index.ts'), join(dir, manifest.main));
  }
  const home = await mkdtemp(join(tmpdir(), `cx-harness-${manifest.name}-`));
  const emptyBuiltins = join(home, 'no-builtins');
  await mkdir(emptyBuiltins, { recursive: true });
  const tier: Tier = options.tier ?? 'sandboxed';
  const plugins: Record<string, unknown> = {
    [manifest.name]: {
      enabled: true,
      tier,
      grants: options.grants ?? formatGrants(requestedGrants(manifest.permissions ?? {})),
    },
  };
  for (const other of options.alongside ?? []) {
    const m = (await readManifest(other)).manifest;
    plugins[m.name] = {
      enabled: true,
      tier: m.tier ?? 'sandboxed',
      grants: formatGrants(requestedGrants(m.permissions ?? {})),
    };
  }
  const dataDir = join(home, 'data');
  const configDir = join(home, 'etc');
  await mkdir(dataDir, { recursive: true });
  await mkdir(configDir, { recursive: true });
  await writeFile(join(dataDir, 'state.json'), JSON.stringify({ version: 1, plugins }));
  // Config as YAML-compatible JSON: the plugin's section under its config key.
  await writeFile(
    join(configDir, 'config.yaml'),
    JSON.stringify({ [manifest.config_key ?? manifest.name]: options.config ?? {} }),
  );
  const terminal = captureTerminal();
  const paths = resolvePaths(
    {
      root: options.root ?? '/',
      configDir,
      dataDir,
      logDir: join(home, 'log'),
      cacheDir: join(home, 'cache'),
      userPluginDir: join(home, 'user-plugins'),
      pluginDirs: [dir, ...(options.alongside ?? [])],
      builtinDir: options.withBuiltins ? undefined : emptyBuiltins,
    },
    {},
  );
  const kernel = await Kernel.boot({ paths, terminal, capabilityFakes: kernelFakes(options.fakes), assumeYes: true });
  const record = kernel.plugins.get(manifest.name);
  if (!record || record.status !== 'active') {
    const errors = kernel.bootErrors.map((e) => `${e.code}: ${e.message}`).join('\n');
    await kernel.shutdown();
    await rm(home, { recursive: true, force: true });
    throw new Error(`plugin '${manifest.name}' did not load:\n${errors || record?.status}`);
  }
  return {
    name: manifest.name,
    home,
    bootErrors: kernel.bootErrors.map((e) => `${e.code}: ${e.message}`),
    invoke: (kind, id, input = null, o = {}) =>
      kernel.invoke(kind, id, input, { dryRun: Boolean(o.dryRun), timeoutMs: o.timeoutMs }),
    async check(id) {
      const c = kernel.registry.require('check', id);
      const start = performance.now();
      let outcome: unknown;
      try {
        outcome = await c.invoke(null, { dryRun: false });
      } catch (e) {
        outcome = { status: 'ERROR', message: e instanceof Error ? e.message : String(e) };
      }
      return checkResultFrom(c, outcome, performance.now() - start);
    },
    async command(name, input = {}) {
      terminal.take();
      const out = await kernel.invoke('command', name, {
        args: input.args ?? {},
        options: input.options ?? {},
      } as Json);
      const { stdout, stderr } = terminal.take();
      return { exitCode: typeof out === 'number' ? out : 0, stdout, stderr };
    },
    async callHook(name, payload) {
      const r = await kernel.callHook(name, payload);
      return { proceed: r.proceed, vetoedBy: r.vetoedBy, errors: r.errors.map((e) => `${e.code}: ${e.message}`) };
    },
    async audit() {
      await kernel.audit.flush();
      const text = await readFile(join(home, 'log', 'audit.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },
    async close() {
      await kernel.shutdown();
      await rm(home, { recursive: true, force: true });
    },
  };
}
