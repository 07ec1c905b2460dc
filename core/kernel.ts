/**
 * The kernel: discover -> validate -> choose enabled -> order by requires -> load code
 * (trusted in-process, sandboxed in isolated-vm) -> activate -> declare kinds and hooks ->
 * register contributions and taps -> plugin_loaded / startup.
 *
 * It knows nothing of checks, repairs, updates or tasks. One broken plugin is reported and
 * skipped; every failure is collected in `bootErrors` and reported together.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Json, PluginDefinition, PluginsCapability, RegistryCapability, Tier } from '../sdk/types.js';
import { AuditLog } from './capabilities/audit.js';
import { type CapabilityFakes, type DryRunRecorder } from './capabilities/index.js';
import { defaultConfig, loadConfig, pluginConfig, type LoadedConfig } from './config.js';
import { ContextFactory, processTerminal, recordingHostErrors, type ContextPlugin, type Terminal } from './context.js';
import { CxError, closest, isErrorCode, messageOf } from './errors.js';
import { HookBus, withTimeout } from './hooks.js';
import { discoverPlugins, type DiscoveredPlugin } from './loader/discover.js';
import { treeHash } from './loader/tree-hash.js';
import { readShapeCache, treeStamp, writeShapeCache, type PluginShape, type ShapeCache } from './loader/shape-cache.js';
import type { Paths } from './paths.js';
import { formatGrants, mergeGrants, narrowGrants, parseGrant, requestedGrants, readOnlyGrants, type Grants } from './permissions/grants.js';
import { Registry, type InvokeRequest } from './registry.js';
import type { SandboxHost, SandboxedPlugin } from './sandbox/host.js';
import { readState, updateState, type KernelState } from './state.js';
import { KERNEL_VERSION } from './version.js';

export type PluginStatus = 'active' | 'disabled' | 'failed' | 'not-loaded';

/** A discovered plugin and what became of it. */
export interface PluginRecord extends DiscoveredPlugin, ContextPlugin {
  enabled: boolean;
  status: PluginStatus;
  builtin: boolean;
  grantStrings: string[];
  readOnly: boolean;
  error?: CxError;
  definition?: PluginDefinition<any>;
  sandboxed?: SandboxedPlugin;
  /** What it contributes (from its code, or from the shape cache before its code is loaded). */
  shape?: PluginShape;
  /** Loads and activates the code of a plugin registered from the shape cache (once). */
  ready?: Promise<void>;
  /** Stamp of its directory tree (trusted plugins): a changed plugin is imported afresh. */
  stamp?: string;
}

export interface KernelOptions {
  paths: Paths;
  verbose?: boolean;
  assumeYes?: boolean;
  terminal?: Terminal;
  /** false: read manifests and state only (fast `plugins list`). */
  loadCode?: boolean;
  /** Builds the sandbox host lazily (tests may pass their own). */
  sandboxFactory?: () => Promise<SandboxHost>;
  /**
   * Development mode (the seeds'): every invocation is a dry run; side-effecting calls are
   * recorded in `devRecorder` and reported, never performed.
   */
  devMode?: boolean;
  /** Fake capability implementations (the SDK test harness); grants, audit and dry-run still apply. */
  capabilityFakes?: CapabilityFakes;
  /**
   * An invalid config.yaml does not stop the boot (for --help and --version): it is kept in
   * `configError` and every setting takes its default.
   */
  tolerateConfigError?: boolean;
}

export class Kernel {
  readonly version = KERNEL_VERSION;
  readonly hooks = new HookBus();
  readonly registry = new Registry();
  readonly plugins = new Map<string, PluginRecord>();
  readonly bootErrors: CxError[] = [];
  readonly terminal: Terminal;
  readonly audit: AuditLog;
  /** What development mode recorded instead of doing. */
  readonly devRecorder: DryRunRecorder = { actions: [] };
  /** Kinds only disabled or failed plugins declare (from their cached shapes). */
  private readonly dormantKinds = new Set<string>();
  config!: LoadedConfig;
  /** Why config.yaml was ignored (only with `tolerateConfigError`). */
  configError?: CxError;
  state!: KernelState;
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
      terminal: this.terminal,
      audit: this.audit,
      registry: (dryRun) => this.registryCapability(dryRun),
      plugins: this.pluginsCapability(),
      fakes: options.capabilityFakes,
    });
  }

  get paths(): Paths {
    return this.options.paths;
  }

  /** Boots a kernel. Only configuration errors of the kernel itself throw; plugin errors are collected. */
  static async boot(options: KernelOptions): Promise<Kernel> {
    const k = new Kernel(options);
    k.config = await loadConfig(options.paths.configDir).catch((e: unknown) => {
      if (!options.tolerateConfigError || !(e instanceof CxError)) throw e;
      k.configError = e;
      return defaultConfig(options.paths.configDir);
    });
    k.state = await readState(options.paths.dataDir);
    await k.discover();
    if (options.loadCode !== false) await k.load();
    return k;
  }

  private async discover(): Promise<void> {
    const { plugins, errors } = await discoverPlugins(this.paths, this.config.plugins.directory);
    this.bootErrors.push(...errors);
    for (const d of plugins.values()) {
      const builtin = d.source === 'builtin';
      const st = this.state.plugins[d.name];
      const thirdPartyAllowed = this.config.plugins.enabled;
      const enabled = builtin ? st?.enabled !== false : thirdPartyAllowed && st?.enabled === true;
      const tier: Tier = builtin || (st?.tier === 'trusted' && d.manifest.tier === 'trusted') ? 'trusted' : 'sandboxed';
      this.plugins.set(d.name, {
        ...d,
        builtin,
        enabled,
        tier,
        status: enabled ? 'not-loaded' : 'disabled',
        grantStrings: st?.grants ?? [],
        readOnly: Boolean(st?.readOnly),
        grants: 'all',
        config: {},
      });
    }
  }

  private fail(p: PluginRecord, e: unknown): void {
    const err = e instanceof CxError ? e : new CxError('CX_ERR_PLUGIN_THREW', { plugin: p.name, where: 'loading', detail: messageOf(e) }, { cause: e });
    p.status = 'failed';
    p.error = err;
    this.registry.removePlugin(p.name);
    this.bootErrors.push(err);
  }

  /** Validates, orders, loads and activates every enabled plugin. */
  private async load(): Promise<void> {
    // Loaded here, not at start: `plugins list` and friends never need them.
    const [{ default: satisfies }, { orderPlugins }, { createHostCapabilities }] = await Promise.all([
      import('semver/functions/satisfies.js'),
      import('./loader/order.js'),
      import('./capabilities/index.js'),
    ]);
    this.contexts.useCapabilities(createHostCapabilities);
    const candidates = new Map<string, PluginRecord>();
    for (const p of this.plugins.values()) {
      if (!p.enabled) continue;
      try {
        if (!satisfies(this.version, p.manifest.cx_version, { includePrerelease: true })) {
          throw new CxError('CX_ERR_CX_VERSION', { plugin: p.name, range: p.manifest.cx_version, version: this.version });
        }
        p.grants = p.tier === 'trusted' ? 'all' : this.grantsOf(p);
        p.config = pluginConfig(this.config, p.manifest, p.builtin ? p.dir : undefined);
        candidates.set(p.name, p);
      } catch (e) {
        this.fail(p, e);
      }
    }
    const { order, errors } = orderPlugins(new Map([...candidates].map(([n, p]) => [n, p.manifest])));
    for (const e of errors) {
      const p = e.plugin ? this.plugins.get(e.plugin) : undefined;
      if (p) {
        p.status = 'failed';
        p.error ??= e;
      }
      this.bootErrors.push(e);
    }
    const cacheFile = join(this.paths.cacheDir, 'shapes.json');
    const cache = await readShapeCache(cacheFile);
    const fresh: ShapeCache = {};
    for (const name of order) {
      const p = this.plugins.get(name)!;
      try {
        // A shape may depend on the plugin's code and its config section (nagios contributes
        // the checks its config declares), so both make the key.
        const stamp = p.tier === 'trusted' ? `${await treeStamp(p.dir)}|${JSON.stringify(p.config)}` : undefined;
        p.stamp = stamp;
        const hit = stamp !== undefined ? cache[name] : undefined;
        if (hit && hit.stamp === stamp && hit.version === p.manifest.version && hit.main === p.manifest.main) {
          p.shape = hit.shape;
          fresh[name] = hit;
        } else {
          await this.loadCode(p);
          await this.activate(p);
          p.shape = this.shapeOf(p);
          p.ready = Promise.resolve();
          if (stamp !== undefined) fresh[name] = { stamp, version: p.manifest.version, main: p.manifest.main, shape: p.shape };
        }
        this.declare(p);
        p.status = 'active';
      } catch (e) {
        this.fail(p, e);
      }
    }
    // Shapes of plugins not loaded this run stay: they tell which plugin a missing command comes from.
    for (const [n, e] of Object.entries(cache)) if (!(n in fresh) && this.plugins.get(n)?.status !== 'active') fresh[n] = e;
    if (JSON.stringify(fresh) !== JSON.stringify(cache)) await writeShapeCache(cacheFile, fresh);
    // Kinds declared by plugins that are disabled or failed: contributions to them wait quietly
    // (disabling `updates` does not make `apt`'s updater an error on every command).
    for (const [n, e] of Object.entries(fresh)) {
      if (this.plugins.get(n)?.status !== 'active') for (const k of e.shape.kinds) this.dormantKinds.add(k.kind);
    }
    for (const name of order) {
      const p = this.plugins.get(name)!;
      if (p.status === 'active') this.register(p);
    }
    for (const name of order) {
      const p = this.plugins.get(name)!;
      if (p.status !== 'active') continue;
      await this.callHook('plugin_loaded', { plugin: p.name, version: p.manifest.version, tier: p.tier });
    }
    await this.callHook('startup', { version: this.version, plugins: order.filter((n) => this.plugins.get(n)!.status === 'active') });
  }

  /** The plugin's effective grants: manifest request ∩ user grants (∩ read-only). */
  private grantsOf(p: PluginRecord): Grants {
    const requested = requestedGrants(p.manifest.permissions ?? {});
    const granted = p.grantStrings.map((g) => parseGrant(g));
    let g = narrowGrants(requested, mergeGrants(granted), p.name);
    if (p.readOnly) g = readOnlyGrants(g);
    return g;
  }

  private async loadCode(p: PluginRecord): Promise<void> {
    const main = join(p.dir, p.manifest.main);
    try {
      await stat(main);
    } catch {
      throw new CxError('CX_ERR_MAIN_MISSING', { plugin: p.name, main: p.manifest.main, path: main, manifest: p.manifestFile });
    }
    if (p.tier === 'trusted') {
      const recorded = p.builtin ? undefined : this.state.plugins[p.name]?.trustedTree;
      if (recorded !== undefined && recorded !== (await treeHash(p.dir))) throw new CxError('CX_ERR_PLUGIN_CHANGED', { plugin: p.name, dir: p.dir });
      let mod: { default?: unknown };
      try {
        // The stamp in the URL makes a long-lived process import a changed plugin afresh.
        const url = pathToFileURL(main);
        if (p.stamp) url.searchParams.set('v', p.stamp.split('|')[0]!);
        mod = await import(url.href);
      } catch (e) {
        throw new CxError('CX_ERR_MAIN_INVALID', { plugin: p.name, main: p.manifest.main, detail: `failed to load: ${messageOf(e)}` }, { cause: e });
      }
      const def = mod.default as PluginDefinition | undefined;
      if (!def || typeof def !== 'object') {
        throw new CxError('CX_ERR_MAIN_INVALID', { plugin: p.name, main: p.manifest.main, detail: 'has no default export' });
      }
      if (def.name !== p.name) throw new CxError('CX_ERR_PLUGIN_NAME_MISMATCH', { plugin: p.name, declared: def.name });
      p.definition = def;
      return;
    }
    const host = await this.sandbox();
    const code = await readFile(main, 'utf8');
    const limits = {
      memoryMb: p.manifest.limits?.memory_mb ?? this.config.plugins.sandbox.memory_mb,
      callTimeoutMs: p.manifest.limits?.call_timeout_ms ?? this.config.plugins.sandbox.call_timeout_ms,
    };
    p.sandboxed = await host.load({ name: p.name, code, filename: main, limits });
    if (p.sandboxed.shape.name !== p.name) throw new CxError('CX_ERR_PLUGIN_NAME_MISMATCH', { plugin: p.name, declared: p.sandboxed.shape.name });
  }

  /** The sandbox host, started on first use. */
  sandbox(): Promise<SandboxHost> {
    this.sandboxHost ??= this.options.sandboxFactory
      ? this.options.sandboxFactory()
      : import('./sandbox/host.js').then((m) => new m.SandboxHost());
    return this.sandboxHost;
  }

  private async activate(p: PluginRecord): Promise<void> {
    const ctx = this.contexts.create(p, { dryRun: false });
    try {
      if (p.definition?.activate) await p.definition.activate(ctx);
      else if (p.sandboxed?.shape.hasActivate) await p.sandboxed.call({ type: 'activate' }, null, ctx);
    } catch (e) {
      throw new CxError('CX_ERR_ACTIVATE_FAILED', { plugin: p.name, detail: messageOf(e) }, { cause: e });
    }
  }

  /** Kinds and hooks the plugin offers to others. */
  private declare(p: PluginRecord): void {
    const shape = p.shape!;
    for (const k of shape.kinds) this.registry.declareKind({ kind: k.kind, description: k.description, owner: p.name, metaSchema: k.metaSchema });
    for (const h of shape.hooks) this.hooks.declare(h.name, h.type, h.description, p.name);
  }

  private shapeOf(p: PluginRecord): PluginShape {
    if (p.sandboxed) return p.sandboxed.shape;
    const d = p.definition!;
    return {
      name: d.name,
      contributes: (d.contributes ?? []).map((c) => ({ kind: c.kind, id: c.id, meta: c.meta })),
      taps: (d.taps ?? []).map((t, index) => ({ hook: t.hook, priority: t.priority, index })),
      kinds: d.kinds ?? [],
      hooks: d.hooks ?? [],
      hasActivate: Boolean(d.activate),
      hasDeactivate: Boolean(d.deactivate),
    };
  }

  /** Registers contributions and taps; a bad one is reported and skipped, the rest stay. */
  private register(p: PluginRecord): void {
    const shape = p.shape!;
    for (const c of shape.contributes) {
      try {
        this.registry.add({
          kind: c.kind,
          id: c.id,
          plugin: p.name,
          tier: p.tier,
          meta: c.meta as Record<string, Json>,
          invoke: (input, req) =>
            this.run(p, { type: 'contribution', kind: c.kind, id: c.id }, input, { ...req, dryRun: req.dryRun || wantsDryRun(c, input) }, `${c.kind} '${c.id}'`),
        });
      } catch (e) {
        if (e instanceof CxError && e.code === 'CX_ERR_KIND_UNKNOWN' && this.dormantKinds.has(c.kind)) continue;
        // An id the operator chose in config.yaml (nagios checks): the fix is to rename it there.
        const field = e instanceof CxError && e.code === 'CX_ERR_CONTRIBUTION_DUPLICATE' ? (c.meta?.config_field ?? this.registry.get(c.kind, c.id)?.meta?.config_field) : undefined;
        this.bootErrors.push(typeof field === 'string' ? new CxError('CX_ERR_CONTRIBUTION_DUPLICATE', { ...(e as CxError).params, fix: `Rename it: change ${field} in ${join(this.paths.configDir, 'config.yaml')}.` }) : (e as CxError));
      }
    }
    for (const t of shape.taps) {
      try {
        this.hooks.tap(t.hook, { plugin: p.name, priority: t.priority }, (payload, call) =>
          this.run(p, { type: 'tap', index: t.index, hook: t.hook }, payload as Json, { dryRun: call.dryRun }, `its '${t.hook}' tap`),
        );
      } catch (e) {
        this.bootErrors.push(e as CxError);
      }
    }
  }

  /** Runs plugin code (either tier) with attribution: any throw becomes a CxError naming the plugin. */
  private async run(
    p: PluginRecord,
    target: { type: 'contribution'; kind: string; id: string } | { type: 'tap'; index: number; hook: string },
    input: Json,
    req: InvokeRequest,
    where: string,
  ): Promise<Json> {
    const dryRun = req.dryRun || Boolean(this.options.devMode);
    // Each call records into its own list (in development mode also kept for the final report).
    const recorder: DryRunRecorder | undefined = dryRun ? { actions: [] } : undefined;
    // Errors the host raised to a sandboxed plugin during this call: only those may come back
    // out of it under their catalogue code (a plugin cannot forge a kernel error).
    const raised: CxError[] = [];
    const made = this.contexts.create(p, { dryRun, recorder });
    const ctx = p.tier === 'sandboxed' ? recordingHostErrors(made, raised) : made;
    const work = async (): Promise<Json> => {
      await this.ensureReady(p);
      if (p.sandboxed) {
        const where = target.type === 'tap' ? { type: 'tap' as const, index: target.index } : target;
        return p.sandboxed.call(where, input, ctx);
      }
      const d = p.definition!;
      if (target.type === 'tap') return (await d.taps![target.index]!.run(ctx, input)) as Json;
      const c = d.contributes!.find((x) => x.kind === target.kind && x.id === target.id)!;
      return (await c.run(ctx, input)) as Json;
    };
    let out: Json;
    try {
      out = req.timeoutMs
        ? await withTimeout(work(), req.timeoutMs, () => new CxError('CX_ERR_CALL_TIMEOUT', { plugin: p.name, where, ms: req.timeoutMs, contribution: target.type === 'contribution' ? target.id : undefined }))
        : await work();
    } catch (e) {
      throw attributed(e, p, target, where, raised);
    } finally {
      if (this.options.devMode && recorder) this.devRecorder.actions.push(...recorder.actions);
    }
    // The caller learns what was recorded instead of performed (in development mode only when
    // something was: a result built on calls that did not really run is not a real result).
    if (recorder && (!this.options.devMode || recorder.actions.length) && out && typeof out === 'object' && !Array.isArray(out)) {
      return { ...out, dry_run_actions: recorder.actions };
    }
    return out;
  }

  /**
   * Imports and activates a plugin registered from the shape cache, on its first use. A failure
   * is that call's error (and every later call's): the plugin stays registered but unusable.
   */
  private ensureReady(p: PluginRecord): Promise<void> {
    p.ready ??= (async () => {
      await this.loadCode(p);
      await this.activate(p);
      const actual = this.shapeOf(p);
      if (JSON.stringify(actual) !== JSON.stringify(p.shape)) {
        // The cache was stale in a way its stamp missed; forget it so the next run reloads.
        await writeShapeCache(join(this.paths.cacheDir, 'shapes.json'), {});
      }
    })();
    return p.ready;
  }

  /** Invokes a contribution by kind and id. */
  invoke(kind: string, id: string, input: Json = null, req: InvokeRequest = { dryRun: false }): Promise<Json> {
    return this.registry.require(kind, id).invoke(input, req);
  }

  callHook(name: string, payload: unknown, options: { dryRun?: boolean } = {}) {
    return this.hooks.call(name, payload, options);
  }

  /**
   * The registry as plugins see it. `inDryRun` is the caller's own dry-run state: what a dry run
   * invokes or fires is a dry run too, whatever the caller asks for.
   */
  registryCapability(inDryRun = false): RegistryCapability {
    return {
      list: async (kind) => this.registry.list(kind),
      invoke: (kind, id, input, options) =>
        this.invoke(kind, id, input ?? null, { dryRun: inDryRun || Boolean(options?.dryRun), timeoutMs: options?.timeoutMs }),
      callHook: async (hook, payload) => {
        const r = await this.callHook(hook, payload, { dryRun: inDryRun });
        return { proceed: r.proceed, vetoedBy: r.vetoedBy, payload: r.payload as Json, errors: r.errors.map((e) => ({ plugin: e.plugin ?? 'unknown', message: e.message, code: e.code })) };
      },
    };
  }

  private pluginsCapability(): PluginsCapability {
    return {
      list: async () =>
        [...this.plugins.values()].map((p) => ({
          name: p.name, version: p.manifest.version, enabled: p.enabled, tier: p.tier, grants: p.grantStrings, dir: p.dir, builtin: p.builtin,
        })),
      enable: async (name, o) => {
        await this.rediscover(name);
        await this.enable(name, { grants: o?.grants, tier: o?.tier });
      },
      disable: async (name) => {
        await this.disable(name);
      },
      installDir: this.paths.installDir,
      // A long-lived process (the daemon) swaps in a fresh kernel on reload instead of mutating this one.
      reload: async () => {
        const k = await Kernel.boot({ ...this.options, tolerateConfigError: false, loadCode: true });
        return {
          registry: k.registryCapability(),
          config: (name: string) => k.plugins.get(name)?.config,
          errors: k.bootErrors.map((e) => ({ code: e.code, message: e.message, plugin: e.plugin })),
          shutdown: () => k.shutdown(),
        };
      },
    };
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
    this.plugins.set(name, {
      ...d,
      builtin: false,
      enabled: prev?.enabled ?? false,
      tier: prev?.tier ?? (st?.tier === 'trusted' && d.manifest.tier === 'trusted' ? 'trusted' : 'sandboxed'),
      status: prev?.status ?? 'disabled',
      grantStrings: prev?.grantStrings ?? st?.grants ?? [],
      readOnly: prev?.readOnly ?? Boolean(st?.readOnly),
      grants: 'all',
      config: {},
    });
  }

  /** Looks a plugin up by name; unknown names get the closest suggestions. */
  requirePlugin(name: string): PluginRecord {
    const p = this.plugins.get(name);
    if (!p) throw new CxError('CX_ERR_PLUGIN_UNKNOWN', { plugin: name, suggestions: closest(name, this.plugins.keys()) });
    return p;
  }

  /** Enables a plugin with grants (validated against its manifest's request) and persists it. */
  async enable(name: string, o: { grants?: string[]; tier?: Tier; readOnly?: boolean } = {}): Promise<PluginRecord> {
    const p = this.requirePlugin(name);
    const grants = o.grants ?? [];
    const parsed = grants.map((g) => parseGrant(g));
    const narrowed = narrowGrants(requestedGrants(p.manifest.permissions ?? {}), mergeGrants(parsed), p.name);
    // The read-only tier keeps no side-effecting grant at all, so none is stored or shown.
    const normalized = o.readOnly ? formatGrants(readOnlyGrants(narrowed)) : parsed.flatMap((g) => formatGrants(g));
    const tier = o.tier ?? (p.builtin ? 'trusted' : 'sandboxed');
    // A third-party plugin trusted now is trusted as its files are now (checked before each load).
    const trustedTree = tier === 'trusted' && !p.builtin ? await treeHash(p.dir) : undefined;
    const saved = await updateState(this.paths.dataDir, (s) => {
      s.plugins[name] = {
        enabled: true,
        tier,
        trustedTree,
        grants: [...new Set(normalized)],
        readOnly: o.readOnly || undefined,
        changedAt: new Date().toISOString(),
      };
    });
    this.state.plugins[name] = saved.plugins[name]!;
    p.enabled = true;
    p.grantStrings = normalized;
    return p;
  }

  async disable(name: string): Promise<PluginRecord> {
    const p = this.requirePlugin(name);
    const saved = await updateState(this.paths.dataDir, (s) => {
      const prev = s.plugins[name];
      s.plugins[name] = { enabled: false, tier: prev?.tier, grants: prev?.grants ?? [], trustedTree: prev?.trustedTree, changedAt: new Date().toISOString() };
    });
    this.state.plugins[name] = saved.plugins[name]!;
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
        const ctx = this.contexts.create(p, { dryRun: false });
        if (p.definition?.deactivate) await p.definition.deactivate(ctx);
        else if (p.sandboxed?.shape.hasDeactivate) await p.sandboxed.call({ type: 'deactivate' }, null, ctx);
      } catch (e) {
        this.terminal.err(`warning: plugin '${p.name}' failed to deactivate: ${messageOf(e)}\n`);
      }
    }
    if (this.sandboxHost) await (await this.sandboxHost).close();
    await this.audit.close();
  }
}


/**
 * What a throw out of plugin code becomes: an attributed error stays; a kernel error (a denial,
 * a limit) that passed through the plugin unhandled keeps its code, when it is genuine (trusted
 * code, or raised by the host to the sandboxed plugin in this call); anything else is
 * CX_ERR_PLUGIN_THREW naming the plugin.
 */
function attributed(
  e: unknown,
  p: PluginRecord,
  target: { type: 'contribution'; kind: string; id: string } | { type: 'tap'; index: number; hook: string },
  where: string,
  raised: CxError[],
): CxError {
  if (e instanceof CxError && e.plugin) return e;
  const contribution = target.type === 'contribution' ? target.id : undefined;
  const hook = target.type === 'tap' ? target.hook : undefined;
  const code = (e as { code?: unknown } | null)?.code;
  const genuine = p.tier === 'trusted' || raised.some((r) => r.code === code && r.message === messageOf(e));
  if (!(e instanceof CxError) && isErrorCode(code) && genuine) return CxError.withMessage(code, messageOf(e), { plugin: p.name, contribution, hook });
  return new CxError('CX_ERR_PLUGIN_THREW', { plugin: p.name, where, detail: messageOf(e), contribution, hook }, { cause: e });
}

/** A command that declares `dryRun: true` runs as a dry run when its input has `--dry-run`. */
function wantsDryRun(c: { kind: string; meta: Record<string, unknown> }, input: Json): boolean {
  if (c.kind !== 'command' || c.meta.dry_run !== true) return false;
  const options = input && typeof input === 'object' && !Array.isArray(input) ? (input as { options?: Record<string, unknown> }).options : undefined;
  return options?.dryRun === true;
}
