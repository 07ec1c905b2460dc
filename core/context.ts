/**
 * Builds the PluginContext a plugin function receives. For a sandboxed plugin this is the
 * host side: the isolate's ctx methods are proxied here, so grants, audit and dry-run are
 * enforced in one place for both tiers.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type {
  IoCapability,
  Json,
  Logger,
  PluginContext,
  PluginsCapability,
  RegistryCapability,
  RuntimeEnv,
  Tier,
  ContributionKindDefinition,
  HookDeclaration,
} from '../sdk/types.js';
import type {
  CapabilityFakes,
  DryRunRecorder,
  HostCapabilities,
  createHostCapabilities,
} from './capabilities/index.js';
import type { AuditLog } from './capabilities/audit.js';
import type { WriteQuotaLimits } from './capabilities/quota.js';
import { requestedGrants, type Grants } from './permissions/grants.js';
import type { PluginManifest } from './loader/manifest.js';
import { CxError } from './errors.js';
import { escapeControl } from './terminal-text.js';
import { hookName, kindName } from '../sdk/tokens.js';
import type { Paths } from './paths.js';

/** The terminal the kernel talks to (process stdio, or buffers in tests). */
export interface Terminal {
  out(text: string): void;
  err(text: string): void;
  readonly color: boolean;
  readonly interactive: boolean;
  /** Reads one line of an answer; undefined when there is no input. */
  ask?(question: string): Promise<string | undefined>;
}

export function processTerminal(): Terminal {
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const interactive = Boolean(process.stdin.isTTY);
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    color,
    interactive,
    ask: async (q) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(q);
      } finally {
        rl.close();
      }
    },
  };
}

/** What the context builder needs from the kernel (kept narrow on purpose). */
export interface ContextHost {
  paths: Paths;
  version: string;
  verbose: boolean;
  assumeYes: boolean;
  /** `cx-ops` with this run's global options, for hints (RuntimeEnv.command). */
  command: string;
  terminal: Terminal;
  audit: AuditLog;
  /** The registry for a caller in (or not in) a dry run: a dry run's nested calls are dry runs. */
  registry: (dryRun: boolean, caller: string) => RegistryCapability;
  plugins: PluginsCapability;
  fakes?: CapabilityFakes;
  /** Permission bits sandboxed plugins may set (default 0o777). */
  modeMask?: number;
  /** What each sandboxed plugin may add to disk in one run (config.yaml plugins.sandbox write quotas). */
  writeQuota?: () => WriteQuotaLimits;
}

export interface ContextPlugin {
  name: string;
  /** The plugin's directory (ctx.assets). */
  dir: string;
  tier: Tier;
  grants: Grants | 'all';
  config: Record<string, unknown>;
  /** Its manifest's permissions and file: a denial beyond the request says to request it. */
  manifest: PluginManifest;
  manifestFile: string;
  readOnly: boolean;
}

const MAX_LOG = 8192;

function logger(host: ContextHost, plugin: string): Logger {
  const line = (level: string, message: string, data?: Json) => {
    // Plugin text: control characters escaped, so a line cannot forge another prefix (core/terminal-text.ts).
    const text = escapeControl(String(message).slice(0, MAX_LOG));
    const extra = data === undefined ? '' : ` ${escapeControl(JSON.stringify(data).slice(0, MAX_LOG))}`;
    host.terminal.err(`[${plugin}] ${level}: ${text}${extra}\n`);
  };
  return {
    debug: (m, d) => host.verbose && line('debug', m, d),
    info: (m, d) => host.verbose && line('info', m, d),
    warn: (m, d) => line('warn', m, d),
    error: (m, d) => line('error', m, d),
  };
}

function io(host: ContextHost): IoCapability {
  return {
    out: (t) => host.terminal.out(String(t)),
    err: (t) => host.terminal.err(String(t)),
    confirm: async (q) => {
      if (host.assumeYes) return true;
      if (!host.terminal.interactive || !host.terminal.ask) return false;
      const a = await host.terminal.ask(`${q} [y/N] `);
      return /^y(es)?$/i.test((a ?? '').trim());
    },
    color: host.terminal.color,
    interactive: host.terminal.interactive,
  };
}

function denied(plugin: string, action: string): CxError {
  return new CxError('CX_ERR_PERMISSION_DENIED', {
    plugin,
    action,
    capability: 'kernel',
    granted: undefined,
    fix: undefined,
  });
}

/** Registry access: listing needs the `registry` permission when sandboxed; invoking needs trust. */
function registryFor(host: ContextHost, p: ContextPlugin, dryRun: boolean): RegistryCapability {
  if (p.tier === 'trusted') return host.registry(dryRun, p.name);
  const mayList = p.grants !== 'all' && p.grants.registry;
  return {
    list: async (kind: string | ContributionKindDefinition) => {
      if (!mayList)
        throw new CxError('CX_ERR_PERMISSION_DENIED', {
          plugin: p.name,
          action: `list '${kindName(kind)}' contributions`,
          capability: 'registry',
          fix: `cx-ops plugins grant ${p.name} registry`,
        });
      return host.registry(dryRun, p.name).list(kind);
    },
    invoke: async (kind: string | ContributionKindDefinition, id: string): Promise<never> => {
      throw denied(p.name, `invoke ${kindName(kind)} '${id}' (only trusted plugins invoke other plugins)`);
    },
    callHook: async (hook: string | HookDeclaration): Promise<never> => {
      throw denied(p.name, `call hook '${hookName(hook)}' (only trusted plugins call hooks)`);
    },
  };
}

function pluginsFor(host: ContextHost, p: ContextPlugin): PluginsCapability {
  if (p.tier === 'trusted') return host.plugins;
  const no = async (): Promise<never> => {
    throw denied(p.name, 'manage plugins');
  };
  return { list: no, enable: no, disable: no, installDir: '' };
}

export interface ContextOptions {
  dryRun: boolean;
  recorder?: DryRunRecorder;
}

/**
 * Capability sets are made once per plugin (their concurrency cap is per plugin); a dry run gets
 * its own set with its own recorder.
 */
export class ContextFactory {
  private readonly caps = new Map<string, { grants: Grants | 'all'; caps: HostCapabilities }>();
  private createCapabilities?: typeof createHostCapabilities;

  constructor(private readonly host: ContextHost) {}

  /** The capability implementation (loaded by the kernel only when plugin code runs). */
  useCapabilities(factory: typeof createHostCapabilities): void {
    this.createCapabilities = factory;
  }

  private capabilities(p: ContextPlugin, dryRun: boolean, recorder?: DryRunRecorder): HostCapabilities {
    const factory = this.createCapabilities;
    if (!factory) throw new Error('capabilities are not loaded: plugin code runs only after Kernel.boot with loadCode');
    let c = this.caps.get(p.name)?.caps;
    // Made again when the plugin's grants changed (enable --grant in a long-lived process).
    if (!c || this.caps.get(p.name)!.grants !== p.grants) {
      const env = this.env(p, false);
      c = factory({
        plugin: p.name,
        tier: p.tier,
        grants: p.grants,
        dryRun: false,
        audit: this.host.audit,
        fakes: this.host.fakes,
        home: env.stateDir,
        root: env.root,
        ownDirs: [env.stateDir, env.cacheDir],
        lockDir: join(this.host.paths.dataDir, 'locks'),
        pluginDir: p.dir,
        modeMask: this.host.modeMask,
        writeQuota: this.host.writeQuota?.(),
        request:
          p.grants === 'all'
            ? undefined
            : {
                grants: requestedGrants(p.manifest.permissions ?? {}),
                manifest: p.manifestFile,
                readOnly: p.readOnly,
              },
      });
      this.caps.set(p.name, { grants: p.grants, caps: c });
    }
    // A dry run gets its own set (its own recorder), made from the plugin's resolved one.
    return dryRun ? c.dryRun(recorder) : c;
  }

  env(p: ContextPlugin, dryRun: boolean): RuntimeEnv {
    const { paths } = this.host;
    return {
      root: paths.root,
      stateDir: join(paths.dataDir, 'plugin-state', p.name),
      cacheDir: join(paths.cacheDir, 'plugins', p.name),
      configDir: paths.configDir,
      dataDir: paths.dataDir,
      dryRun,
      verbose: this.host.verbose,
      assumeYes: this.host.assumeYes,
      kernelVersion: this.host.version,
      command: this.host.command,
    };
  }

  /** Contexts of calls that are not dry runs, one per plugin (a context holds no per-call state). */
  private readonly contexts = new WeakMap<ContextPlugin, { config: unknown; grants: unknown; ctx: PluginContext }>();

  create(p: ContextPlugin, options: ContextOptions): PluginContext {
    if (options.dryRun) return this.build(p, options);
    const known = this.contexts.get(p);
    // Reused while the plugin's config and grants are the ones it was made with.
    if (known && known.config === p.config && known.grants === p.grants) return known.ctx;
    const ctx = this.build(p, options);
    this.contexts.set(p, { config: p.config, grants: p.grants, ctx });
    return ctx;
  }

  private build(p: ContextPlugin, options: ContextOptions): PluginContext {
    const caps = this.capabilities(p, options.dryRun, options.recorder);
    let exec = caps.exec;
    if (options.dryRun && p.tier === 'trusted') {
      // A trusted plugin may declare a command free of side effects (readOnly) so that a dry run
      // can still diagnose; sandboxed plugins get no such exemption.
      const real = this.capabilities(p, false);
      exec = {
        run: (c, a, o) =>
          (o as { readOnly?: boolean } | undefined)?.readOnly ? real.exec.run(c, a, o) : caps.exec.run(c, a, o),
      };
    }
    return Object.freeze({
      plugin: p.name,
      tier: p.tier,
      config: p.config,
      env: Object.freeze(this.env(p, options.dryRun)),
      log: logger(this.host, p.name),
      io: io(this.host),
      exec,
      fs: caps.fs,
      localFs: caps.localFs,
      net: caps.net,
      lock: caps.lock,
      assets: caps.assets,
      registry: registryFor(this.host, p, options.dryRun),
      plugins: pluginsFor(this.host, p),
    });
  }
}
