/**
 * The kernel: discover -> validate -> choose enabled -> order by requires -> load code
 * (trusted in-process, sandboxed in isolated-vm) -> activate -> declare kinds and hooks ->
 * register contributions and taps -> plugin_loaded / startup.
 *
 * It knows nothing of checks, repairs, updates or tasks. One broken plugin is reported and
 * skipped; every failure is collected in `bootErrors` and reported together. This file is the
 * facade; the work is in core/kernel/: plugin-record (the tier rule), effective-grants,
 * code-loading, boot-sequence, declarations, invocation (attribution), plugin-settings.
 */
import { join } from 'node:path';
import type { Json, PluginContext, RegistryCapability, Tier } from '../sdk/types.js';
import { AuditLog } from './capabilities/audit.js';
import type { CapabilityFakes, DryRunRecorder } from './capabilities/index.js';
import { defaultConfig, loadConfig, type LoadedConfig } from './config.js';
import { ContextFactory, processTerminal, type Terminal } from './context.js';
import { CxError, closest, messageOf } from './errors.js';
import { HookBus } from './hooks.js';
import { deactivate, type LoadingHost } from './kernel/code-loading.js';
import { pluginsCapability, registryCapability } from './kernel/plugin-capabilities.js';
import { ensureReady, loadPlugins, type BootHost } from './kernel/boot-sequence.js';
import { recordOf, tierOf, type PluginRecord } from './kernel/plugin-record.js';
import { saveDisabled, saveEnabled } from './kernel/plugin-settings.js';
import { discoverPlugins } from './loader/discover.js';
import type { Paths } from './paths.js';
import { Registry, type InvokeRequest } from './registry.js';
import type { SandboxHost } from './sandbox/host.js';
import { readStateForRun, type KernelState } from './state.js';
import { KERNEL_VERSION } from './version.js';

export type { PluginRecord } from './kernel/plugin-record.js';

export interface KernelOptions {
  paths: Paths;
  verbose?: boolean;
  assumeYes?: boolean;
  terminal?: Terminal;
  /** false: read manifests and state only (fast `plugins list`). */
  loadCode?: boolean;
  /** Builds the sandbox host lazily (tests may pass their own). */
  sandboxFactory?: () => Promise<SandboxHost>;
  /** Development mode: every invocation is a dry run; side-effecting calls are recorded in `devRecorder`, never performed. */
  devMode?: boolean;
  /** Fake capability implementations (the SDK test harness); grants, audit and dry-run still apply. */
  capabilityFakes?: CapabilityFakes;
  /** An invalid config.yaml does not stop the boot (for --help and --version): it is kept in `configError`, every
   * setting at its default. */
  tolerateConfigError?: boolean;
  /** `cx-ops` with the run's global options (default `cx-ops`): hints a user copies start with it. */
  command?: string;
  /** false: nothing is written, not even the manifest and shape caches (--help and --version). */
  writeCaches?: boolean;
}

export class Kernel implements BootHost {
  readonly version = KERNEL_VERSION;
  readonly hooks = new HookBus();
  readonly registry = new Registry();
  readonly plugins = new Map<string, PluginRecord>();
  readonly bootErrors: CxError[] = [];
  readonly terminal: Terminal;
  readonly audit: AuditLog;
  /** What development mode recorded instead of doing. */
  readonly devRecorder: DryRunRecorder = { actions: [] };
  readonly dormantKinds = new Set<string>();
  readonly errorOwners = new Map<string, string>();
  config!: LoadedConfig;
  /** Why config.yaml was ignored (only with `tolerateConfigError`). */
  configError?: CxError;
  state!: KernelState;
  /**
   * One-line notes for the operator, printed before the command's output: why the plugin state
   * is at its defaults (the state file is not readable by this user), a config section nothing reads.
   */
  readonly notes: string[] = [];
  private sandboxHost?: Promise<SandboxHost>;
  private readonly contexts: ContextFactory;

  private constructor(readonly options: Required<Pick<KernelOptions, 'paths'>> & KernelOptions) {
    this.terminal = options.terminal ?? processTerminal();
    this.audit = new AuditLog(join(options.paths.logDir, 'audit.jsonl'));
    this.contexts = new ContextFactory({
      paths: options.paths,
      version: this.version,
      verbose: Boolean(options.verbose),
      assumeYes: Boolean(options.assumeYes),
      command: this.command,
      terminal: this.terminal,
      audit: this.audit,
      fakes: options.capabilityFakes,
      registry: (dryRun, caller) => registryCapability(this, dryRun, caller),
      writeQuota: () => ({
        bytes: Math.floor((this.config.plugins.sandbox.write_quota_mb ?? 256) * 1024 * 1024),
        files: this.config.plugins.sandbox.write_quota_files ?? 10_000,
      }),
      plugins: pluginsCapability(this),
    });
  }

  get paths(): Paths {
    return this.options.paths;
  }
  get cacheDir(): string {
    return this.paths.cacheDir;
  }
  /** How to run cx-ops again on the same host and directories (RuntimeEnv.command). */
  get command(): string {
    return this.options.command ?? 'cx-ops';
  }
  get writeCaches(): boolean {
    return this.options.writeCaches !== false;
  }
  get configDir(): string {
    return this.paths.configDir;
  }
  get devMode(): boolean {
    return Boolean(this.options.devMode);
  }
  get sandboxDefaults() {
    return this.config.plugins.sandbox;
  }

  /** Boots a kernel. Only configuration errors of the kernel itself throw; plugin errors are collected. */
  static async boot(options: KernelOptions): Promise<Kernel> {
    const k = new Kernel(options);
    k.config = await loadConfig(options.paths.configDir).catch((e: unknown) => {
      if (!options.tolerateConfigError || !(e instanceof CxError)) throw e;
      k.configError = e;
      return defaultConfig(options.paths.configDir);
    });
    const read = await readStateForRun(options.paths.dataDir);
    k.state = read.state;
    if (read.note) k.notes.push(read.note);
    const { plugins, errors } = await discoverPlugins(k.paths, k.config.plugins.directory, {
      writeCache: options.writeCaches !== false,
    });
    k.bootErrors.push(...errors);
    for (const d of plugins.values())
      k.plugins.set(d.name, recordOf(d, k.state.plugins[d.name], k.config.plugins.enabled));
    if (options.loadCode !== false) {
      const { createHostCapabilities } = await import('./capabilities/index.js');
      k.contexts.useCapabilities(createHostCapabilities);
      await loadPlugins(k);
    }
    return k;
  }

  /** Marks a plugin failed (its contributions removed) and reports why. */
  fail(p: PluginRecord, e: unknown): void {
    const err =
      e instanceof CxError
        ? e
        : new CxError('CX_ERR_PLUGIN_THREW', { plugin: p.name, where: 'loading', detail: messageOf(e) }, { cause: e });
    p.status = 'failed';
    p.error = err;
    this.registry.removePlugin(p.name);
    this.bootErrors.push(err);
  }

  /** The sandbox host, started on first use. */
  sandbox(): Promise<SandboxHost> {
    this.sandboxHost ??= this.options.sandboxFactory
      ? this.options.sandboxFactory()
      : import('./sandbox/host.js').then((m) => new m.SandboxHost());
    return this.sandboxHost;
  }

  /** The hosts the work in core/kernel/ runs against. */
  trustedTree(plugin: string): string | undefined {
    return this.state.plugins[plugin]?.trustedTree;
  }
  context(p: PluginRecord, o: { dryRun: boolean; recorder?: DryRunRecorder } = { dryRun: false }): PluginContext {
    return this.contexts.create(p, o);
  }
  ensureReady(p: PluginRecord): Promise<void> {
    return ensureReady(this, p);
  }

  /** Invokes a contribution by kind and id. */
  invoke(kind: string, id: string, input: Json = null, req: InvokeRequest = { dryRun: false }): Promise<Json> {
    return this.registry.require(kind, id).invoke(input, req);
  }

  callHook(name: string, payload: unknown, options: { dryRun?: boolean } = {}) {
    return this.hooks.call(name, payload, options);
  }

  /** The registry as plugin `caller` sees it (see kernel/plugin-capabilities.ts). */
  registryCapability(inDryRun = false, caller?: string): RegistryCapability {
    return registryCapability(this, inDryRun, caller);
  }

  /**
   * Reads one installed plugin's manifest again (`plugins install` put a new or updated plugin
   * in place after boot), so it can be enabled in the same run. Built-in plugins never change.
   */
  async rediscover(name: string): Promise<void> {
    const prev = this.plugins.get(name);
    if (prev?.builtin) return;
    const { plugins } = await discoverPlugins(this.paths, this.config.plugins.directory);
    const d = plugins.get(name);
    if (!d) return;
    const st = this.state.plugins[name];
    const fresh = recordOf(d, st, false);
    this.plugins.set(name, {
      ...fresh,
      enabled: prev?.enabled ?? false,
      tier: prev?.tier ?? tierOf(d, st),
      status: prev?.status ?? 'disabled',
      grantStrings: prev?.grantStrings ?? fresh.grantStrings,
      readOnly: prev?.readOnly ?? fresh.readOnly,
    });
  }

  /** Looks a plugin up by name; unknown names get the closest suggestions. */
  requirePlugin(name: string): PluginRecord {
    const p = this.plugins.get(name);
    if (!p)
      throw new CxError('CX_ERR_PLUGIN_UNKNOWN', { plugin: name, suggestions: closest(name, this.plugins.keys()) });
    return p;
  }

  /** Enables a plugin with grants (validated against its manifest's request) and persists it. */
  async enable(name: string, o: { grants?: string[]; tier?: Tier; readOnly?: boolean } = {}): Promise<PluginRecord> {
    const p = this.requirePlugin(name);
    const saved = await saveEnabled(this.paths.dataDir, p, o);
    this.state.plugins[name] = saved;
    p.enabled = true;
    p.grantStrings = saved.grants;
    return p;
  }

  async disable(name: string): Promise<PluginRecord> {
    const p = this.requirePlugin(name);
    this.state.plugins[name] = await saveDisabled(this.paths.dataDir, name);
    p.enabled = false;
    return p;
  }

  /** Fires shutdown, deactivates plugins (reverse order), closes the sandbox and the audit log. */
  async shutdown(): Promise<void> {
    const active = [...this.plugins.values()].filter((p) => p.status === 'active');
    if (active.length) await this.callHook('shutdown', { version: this.version });
    for (const p of active.reverse()) {
      if (!p.definition && !p.sandboxed) continue; // never loaded: nothing to deactivate
      try {
        await deactivate(this as LoadingHost, p);
      } catch (e) {
        this.terminal.err(`warning: plugin '${p.name}' failed to deactivate: ${messageOf(e)}\n`);
      }
    }
    if (this.sandboxHost) await (await this.sandboxHost).close();
    await this.audit.close();
  }
}
