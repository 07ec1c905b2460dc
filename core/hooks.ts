/**
 * The hook bus: the kernel's hooks in one frozen table of tapable hooks, plus the hooks plugins
 * declare as extension points (kept apart, so the kernel's table stays closed).
 *
 * Every tap is wrapped where it is registered: a tap that throws or does not finish in time is
 * recorded with its plugin's name and the run goes on. Priorities (HookPriority: lower first)
 * map to tapable stages, so the order is deterministic: priority, then plugin load order.
 */
import { createRequire } from 'node:module';
import type { AsyncSeriesHook, AsyncSeriesBailHook, AsyncSeriesWaterfallHook } from 'tapable';
import { CxError, messageOf } from './errors.js';

/** tapable is loaded on first use, so commands that never call a hook start faster. */
let tapableModule: typeof import('tapable') | undefined;
function tapable(): typeof import('tapable') {
  tapableModule ??= createRequire(import.meta.url)('tapable') as typeof import('tapable');
  return tapableModule;
}

/** What one call of a hook collects: errors of taps and the veto, if any. */
export interface HookCall {
  errors: CxError[];
  vetoedBy?: string;
  /** The hook was called from a dry run: taps run as dry runs too. */
  dryRun: boolean;
}

type Series = AsyncSeriesHook<[unknown, HookCall]>;
type Bail = AsyncSeriesBailHook<[unknown, HookCall], unknown>;
type Waterfall = AsyncSeriesWaterfallHook<[unknown, HookCall]>;
export type HookType = 'series' | 'bail' | 'waterfall';

export interface HookEntry {
  name: string;
  type: HookType;
  description: string;
  /** The plugin that declared it (and alone fires it); undefined for kernel hooks. */
  owner?: string;
  /** Kernel hooks: fired by the kernel only, or by the plugin that runs checks and fixes. */
  firedBy?: 'kernel' | 'check runner';
  hook: Series | Bail | Waterfall;
}

const entry = (
  name: string,
  type: HookType,
  description: string,
  owner?: string,
  firedBy?: HookEntry['firedBy'],
): HookEntry => {
  const t = tapable();
  return {
    name,
    type,
    description,
    owner,
    firedBy,
    hook:
      type === 'bail'
        ? new t.AsyncSeriesBailHook<[unknown, HookCall], unknown>(['payload', 'call'])
        : type === 'waterfall'
          ? new t.AsyncSeriesWaterfallHook<[unknown, HookCall]>(['payload', 'call'])
          : new t.AsyncSeriesHook<[unknown, HookCall]>(['payload', 'call']),
  };
};

/** Creates the kernel's hook table (one per kernel instance; no global singleton). */
export function createKernelHooks() {
  return Object.freeze({
    /** When cx-ops starts, after every plugin is activated. */
    startup: entry('startup', 'series', 'When cx-ops starts, after all plugins are activated', undefined, 'kernel'),
    /** When cx-ops exits, before plugins are deactivated. */
    shutdown: entry('shutdown', 'series', 'When cx-ops exits, before plugins are deactivated', undefined, 'kernel'),
    /** After a plugin loads and activates; payload { plugin, version, tier }. */
    plugin_loaded: entry('plugin_loaded', 'series', 'After a plugin loads', undefined, 'kernel'),
    /** Before a check runs; a tap resolving false skips the check. */
    pre_check: entry('pre_check', 'bail', 'Before running a check (false vetoes)', undefined, 'check runner'),
    /** After a check ran; payload is the CheckResult. */
    post_check: entry('post_check', 'series', 'After running a check', undefined, 'check runner'),
    /** Before a fix is applied; a tap resolving false vetoes the fix. */
    pre_fix: entry('pre_fix', 'bail', 'Before applying a fix (false vetoes)', undefined, 'check runner'),
    /** After a fix was applied; payload { fix_id, outcome }. */
    post_fix: entry('post_fix', 'series', 'After applying a fix', undefined, 'check runner'),
  } satisfies Record<string, HookEntry>);
}

export type KernelHooks = ReturnType<typeof createKernelHooks>;

export interface TapOptions {
  plugin: string;
  priority?: number;
  /** Milliseconds a tap may take before it is skipped (default 10 000). */
  timeoutMs?: number;
}

export const DEFAULT_TAP_TIMEOUT_MS = 10_000;

/** The bus: the kernel table plus plugin-declared hooks. */
export class HookBus {
  private kernelHooks?: KernelHooks;
  private readonly extensions = new Map<string, HookEntry>();

  /** The kernel's frozen hook table (built on first use). */
  get kernel(): KernelHooks {
    this.kernelHooks ??= createKernelHooks();
    return this.kernelHooks;
  }

  /** Declares a plugin's own hook; a name already taken is an error naming both owners. */
  declare(name: string, type: HookType, description: string, owner: string): void {
    const existing = this.get(name);
    if (existing) {
      throw new CxError('CX_ERR_DECLARATION_DUPLICATE', { plugin: owner, what: 'hook', name, owner: existing.owner });
    }
    this.extensions.set(name, entry(name, type, description, owner));
  }

  /**
   * Refuses a plugin firing a hook it does not own: another plugin's hook, or a kernel
   * lifecycle hook (startup, shutdown, plugin_loaded). The check hooks are the check runner's.
   */
  assertMayFire(name: string, plugin: string): void {
    const h = this.get(name);
    if (!h) throw new CxError('CX_ERR_HOOK_UNKNOWN', { plugin, hook: name, known: this.names() });
    if (h.owner ? h.owner === plugin : h.firedBy === 'check runner') return;
    throw new CxError('CX_ERR_HOOK_NOT_OWNER', { plugin, name, owner: h.owner });
  }

  get(name: string): HookEntry | undefined {
    return (this.kernel as Record<string, HookEntry>)[name] ?? this.extensions.get(name);
  }

  names(): string[] {
    return [...Object.keys(this.kernel), ...this.extensions.keys()];
  }

  /** Taps a hook; `fn` may return false on a bail hook to veto, or a new payload on a waterfall. */
  tap(name: string, options: TapOptions, fn: (payload: unknown, call: HookCall) => Promise<unknown>): void {
    const h = this.get(name);
    if (!h) throw new CxError('CX_ERR_HOOK_UNKNOWN', { plugin: options.plugin, hook: name, known: this.names() });
    const timeoutMs = options.timeoutMs ?? DEFAULT_TAP_TIMEOUT_MS;
    const guarded = async (payload: unknown, call: HookCall): Promise<unknown> => {
      let result: unknown;
      try {
        result = await withTimeout(
          fn(payload, call),
          timeoutMs,
          () => new CxError('CX_ERR_TAP_TIMEOUT', { plugin: options.plugin, hook: name, ms: timeoutMs }),
        );
      } catch (e) {
        call.errors.push(
          e instanceof CxError && (e.code === 'CX_ERR_TAP_TIMEOUT' || e.plugin === options.plugin)
            ? e
            : new CxError(
                'CX_ERR_PLUGIN_THREW',
                { plugin: options.plugin, hook: name, where: `its '${name}' tap`, detail: messageOf(e) },
                { cause: e },
              ),
        );
        return h.type === 'waterfall' ? payload : undefined;
      }
      if (h.type === 'bail') {
        if (result === false) {
          call.vetoedBy = options.plugin;
          return false;
        }
        return undefined;
      }
      if (h.type === 'waterfall') return result === undefined ? payload : result;
      return undefined;
    };
    (h.hook as Series).tapPromise(
      { name: options.plugin, stage: options.priority ?? 50 },
      guarded as (p: unknown, c: HookCall) => Promise<void>,
    );
  }

  /** Calls a hook: never throws for a tap's failure; returns whether to proceed and the payload. */
  async call(
    name: string,
    payload: unknown,
    options: { dryRun?: boolean } = {},
  ): Promise<{ proceed: boolean; vetoedBy?: string; payload: unknown; errors: CxError[] }> {
    const h = this.get(name);
    if (!h) throw new CxError('CX_ERR_HOOK_UNKNOWN', { plugin: 'kernel', hook: name, known: this.names() });
    const call: HookCall = { errors: [], dryRun: Boolean(options.dryRun) };
    const out = await (h.hook as Waterfall).promise(payload, call);
    return {
      proceed: call.vetoedBy === undefined,
      vetoedBy: call.vetoedBy,
      payload: h.type === 'waterfall' ? out : payload,
      errors: call.errors,
    };
  }
}

/** Races a promise against a timer; the timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
