/**
 * bootKernel: the real kernel over a test's own root, config and data directories, with exactly
 * the given plugin directories enabled (each at the tier its manifest names, with the grants it
 * requests) and no other built-in. For tests that need several plugins together, a host layout
 * of their own (config and data under the root, as the CLI lays them out) or a plugin's context;
 * a plugin tested alone runs under cx-ops/sdk/testing's startPlugin instead.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapabilityFakes } from '../../core/capabilities/index.js';
import { Kernel } from '../../core/kernel.js';
import { readManifest } from '../../core/loader/manifest.js';
import { resolvePaths } from '../../core/paths.js';
import { formatGrants, requestedGrants } from '../../core/permissions/grants.js';
import type { Json, PluginContext } from '../../sdk/types.js';

/** A built-in plugin's built directory (dist/ is built by test/setup/build.ts). */
export const builtinPlugin = (name: string) =>
  fileURLToPath(new URL(`../../dist/plugins-builtin/${name}`, import.meta.url));

export interface KernelHostOptions {
  root: string;
  configDir: string;
  dataDir: string;
  /** Plugin directories to load and enable. */
  plugins: string[];
  /** Fakes for ctx.exec / ctx.fs / ctx.net (the kernel's form: exec is the bare run function). */
  fakes?: CapabilityFakes;
}

export interface KernelHost {
  readonly kernel: Kernel;
  /** The context the kernel gives plugin `name` (not a dry run), typed with the plugin's config. */
  ctx<Config = any>(name: string): PluginContext<Config>;
  /** Runs a command contribution as the CLI does (one declaring dry_run runs dry with options.dryRun); its exit code. */
  command(name: string, options?: Record<string, unknown>, args?: Record<string, unknown>): Promise<number>;
  /** What was printed since the last take. */
  take(): { stdout: string; stderr: string };
  /** The audit records written so far. */
  audit(): Promise<Array<Record<string, any>>>;
  close(): Promise<void>;
}

/** Boots the kernel; throws when a plugin did not load. */
export async function bootKernel(o: KernelHostOptions): Promise<KernelHost> {
  mkdirSync(o.dataDir, { recursive: true });
  const statePath = join(o.dataDir, 'state.json');
  const state = existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : { version: 1, plugins: {} };
  for (const dir of o.plugins) {
    const { manifest } = await readManifest(dir);
    state.plugins[manifest.name] = {
      enabled: true,
      tier: manifest.tier ?? 'sandboxed',
      grants: formatGrants(requestedGrants(manifest.permissions ?? {})),
    };
  }
  writeFileSync(statePath, JSON.stringify(state));
  let stdout = '';
  let stderr = '';
  const terminal = {
    out: (t: string) => void (stdout += t),
    err: (t: string) => void (stderr += t),
    color: false,
    interactive: false,
  };
  const noBuiltins = await mkdtemp(join(tmpdir(), 'cx-no-builtins-'));
  const { root, configDir, dataDir } = o;
  const paths = resolvePaths({ root, configDir, dataDir, pluginDirs: o.plugins, builtinDir: noBuiltins }, {});
  const kernel = await Kernel.boot({ paths, terminal, capabilityFakes: o.fakes, assumeYes: true });
  const close = async () => {
    await kernel.shutdown();
    await rm(noBuiltins, { recursive: true, force: true });
  };
  const inactive = [...kernel.plugins.values()].filter((p) => p.status !== 'active');
  if (inactive.length || kernel.bootErrors.length) {
    await close();
    throw new Error(
      `plugins did not load: ${inactive.map((p) => `${p.name} (${p.status})`).join(', ')}\n${kernel.bootErrors.map((e) => `${e.code}: ${e.message}`).join('\n')}`,
    );
  }
  return {
    kernel,
    ctx: <Config>(name: string) => kernel.context(kernel.requirePlugin(name)) as PluginContext<Config>,
    async command(name, options = {}, args = {}) {
      const out = await kernel.invoke('command', name, { args, options } as Json);
      return typeof out === 'number' ? out : 0;
    },
    take() {
      const r = { stdout, stderr };
      stdout = '';
      stderr = '';
      return r;
    },
    async audit() {
      await kernel.audit.flush();
      const text = await readFile(join(paths.logDir, 'audit.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },
    close,
  };
}
