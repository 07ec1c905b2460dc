/**
 * The kernel capabilities plugins get: the registry (list, invoke, fire hooks; only the owner
 * fires its hook) and plugin management (trusted plugins such as the registry plugin).
 */
import { hookName, kindName } from '../../sdk/tokens.js';
import type {
  ContributionKindDefinition,
  HookDeclaration,
  InvokeOptions,
  Json,
  PluginsCapability,
  RegistryCapability,
} from '../../sdk/types.js';
import { join } from 'node:path';
import type { Kernel } from '../kernel.js';
import { readShapeCache } from '../loader/shape-cache.js';

/**
 * The registry as plugin `caller` sees it. `inDryRun` is the caller's own dry-run state: what
 * a dry run invokes or fires is a dry run too, whatever the caller asks for.
 */
export function registryCapability(k: Kernel, inDryRun = false, caller?: string): RegistryCapability {
  return {
    list: async (kind: string | ContributionKindDefinition) => k.registry.list(kindName(kind)),
    invoke: (
      kind: string | ContributionKindDefinition,
      id: string,
      input?: unknown,
      options?: InvokeOptions,
    ): Promise<any> =>
      k.invoke(kindName(kind), id, (input ?? null) as Json, {
        dryRun: inDryRun || Boolean(options?.dryRun),
        timeoutMs: options?.timeoutMs,
      }),
    callHook: async (hook: string | HookDeclaration, payload: unknown): Promise<any> => {
      // Only the owner fires its hook (the kernel fires its lifecycle hooks itself).
      if (caller) k.hooks.assertMayFire(hookName(hook), caller);
      const r = await k.callHook(hookName(hook), payload, { dryRun: inDryRun });
      return {
        proceed: r.proceed,
        vetoedBy: r.vetoedBy,
        payload: r.payload,
        errors: r.errors.map((e) => ({ plugin: e.plugin ?? 'unknown', message: e.message, code: e.code })),
      };
    },
  };
}

export function pluginsCapability(k: Kernel): PluginsCapability {
  return {
    list: async () => {
      // A failed plugin's contributions as its last successful load cached them (doctor reports its checks as ERROR).
      const failed = [...k.plugins.values()].some((p) => p.status === 'failed');
      const cache = failed ? await readShapeCache(join(k.paths.cacheDir, 'shapes.json')) : {};
      return [...k.plugins.values()].map((p) => ({
        name: p.name,
        version: p.manifest.version,
        enabled: p.enabled,
        tier: p.tier,
        grants: p.grantStrings,
        dir: p.dir,
        builtin: p.builtin,
        status: p.status,
        ...(p.error ? { error: { code: p.error.code, message: p.error.message } } : {}),
        ...(p.status === 'failed' && cache[p.name] ? { last_contributes: cache[p.name]!.shape.contributes } : {}),
      }));
    },
    enable: async (name, o) => {
      await k.rediscover(name);
      await k.enable(name, { grants: o?.grants, tier: o?.tier });
    },
    disable: async (name) => {
      await k.disable(name);
    },
    installDir: k.paths.installDir,
    // A long-lived process (the daemon) swaps in a fresh kernel on reload instead of mutating this one.
    reload: async () => {
      const fresh = await (k.constructor as typeof Kernel).boot({
        ...k.options,
        tolerateConfigError: false,
        loadCode: true,
      });
      return {
        registry: fresh.registryCapability(),
        config: (name: string) => fresh.plugins.get(name)?.config,
        errors: fresh.bootErrors.map((e) => ({ code: e.code, message: e.message, plugin: e.plugin })),
        shutdown: () => fresh.shutdown(),
      };
    },
  };
}
