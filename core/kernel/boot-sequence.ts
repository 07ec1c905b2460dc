/**
 * Loading every enabled plugin: check its cx_version, compute its grants and config, order by
 * requires, take each shape from the cache or from its freshly loaded and activated code,
 * declare what it offers, register what it contributes, then fire plugin_loaded and startup.
 * A plugin that fails is reported (all failures together) and skipped.
 */
import { join } from 'node:path';
import type { AuditRetention } from '../capabilities/audit.js';
import type { LoadedConfig } from '../config.js';
import { pluginConfig, sectionOwners } from '../config.js';
import { CxError } from '../errors.js';
import {
  builtinStamp,
  readShapeCache,
  readValidMetas,
  treeStamp,
  writeShapeCache,
  writeValidMetas,
  type ShapeCache,
} from '../loader/shape-cache.js';
import { activate, loadCode, shapeOf, type LoadingHost } from './code-loading.js';
import { declare, register, type DeclarationHost } from './declarations.js';
import { unknownSections } from './config-sections.js';
import { effectiveGrants } from './effective-grants.js';
import type { PluginRecord } from './plugin-record.js';

/** What the boot sequence needs from the kernel. */
export interface BootHost extends LoadingHost, DeclarationHost {
  version: string;
  config: LoadedConfig;
  plugins: Map<string, PluginRecord>;
  cacheDir: string;
  /** The audit log, rotated as config.yaml's `audit:` says. */
  audit: { retain(retention: AuditRetention): void };
  /** false under --help and --version: nothing is written. */
  writeCaches: boolean;
  /** One-line notes printed before the command's output. */
  notes: string[];
  /** How the operator runs cx-ops, for hints. */
  command: string;
  fail(p: PluginRecord, e: unknown): void;
  callHook(name: string, payload: unknown): Promise<unknown>;
}

/** The shape cache file. */
export const shapeCacheFile = (cacheDir: string): string => join(cacheDir, 'shapes.json');

export async function loadPlugins(k: BootHost): Promise<void> {
  // Only loaded plugins' capability calls are audited, so the rotation is set here.
  k.audit.retain(k.config.audit);
  // Loaded here, not at start: `plugins list` and friends never need them.
  const [{ default: satisfies }, { orderPlugins }] = await Promise.all([
    import('semver/functions/satisfies.js'),
    import('../loader/order.js'),
  ]);
  const candidates = new Map<string, PluginRecord>();
  const owners = sectionOwners([...k.plugins.values()].map((p) => p.manifest));
  const unknown = unknownSections(
    k.config,
    [...k.plugins.values()].map((p) => p.manifest),
    k.command,
  );
  k.bootErrors.push(...unknown.kernel);
  k.notes.push(...unknown.notes);
  for (const p of k.plugins.values()) {
    if (!p.enabled) continue;
    try {
      const typo = unknown.typos.get(p.name);
      if (typo) throw typo;
      if (!satisfies(k.version, p.manifest.cx_version, { includePrerelease: true })) {
        throw new CxError('CX_ERR_CX_VERSION', { plugin: p.name, range: p.manifest.cx_version, version: k.version });
      }
      p.grants = p.tier === 'trusted' ? 'all' : effectiveGrants(p.name, p.manifest, p.grantStrings, p.readOnly);
      p.config = pluginConfig(k.config, p.manifest, p.builtin ? p.dir : undefined, owners);
      candidates.set(p.name, p);
    } catch (e) {
      k.fail(p, e);
    }
  }
  const { order, errors } = orderPlugins(new Map([...candidates].map(([n, p]) => [n, p.manifest])));
  for (const e of errors) {
    const p = e.plugin ? k.plugins.get(e.plugin) : undefined;
    if (p) {
      p.status = 'failed';
      p.error ??= e;
    }
    k.bootErrors.push(e);
  }
  const cacheFile = shapeCacheFile(k.cacheDir);
  const cache = await readShapeCache(cacheFile);
  const fresh: ShapeCache = {};
  const buildIds = new Map<string, Promise<string | null>>();
  for (const name of order) {
    const p = k.plugins.get(name)!;
    try {
      // A shape may depend on the plugin's code and its config section (nagios contributes
      // the checks its config declares), so both make the key.
      const tree = () => (p.builtin ? builtinStamp(p.dir, buildIds) : treeStamp(p.dir));
      const stamp = p.tier === 'trusted' ? `${await tree()}|${JSON.stringify(p.config)}` : undefined;
      p.stamp = stamp;
      const hit = stamp !== undefined ? cache[name] : undefined;
      if (hit && hit.stamp === stamp && hit.version === p.manifest.version && hit.main === p.manifest.main) {
        p.shape = hit.shape;
        fresh[name] = hit;
      } else {
        await loadCode(k, p);
        await activate(k, p);
        p.shape = shapeOf(p);
        p.ready = Promise.resolve();
        if (stamp !== undefined)
          fresh[name] = { stamp, version: p.manifest.version, main: p.manifest.main, shape: p.shape };
      }
      declare(k, p);
      p.status = 'active';
    } catch (e) {
      k.fail(p, e);
    }
  }
  // Shapes of plugins not loaded this run stay: they tell which plugin a missing command comes from.
  for (const [n, e] of Object.entries(cache)) if (!(n in fresh) && k.plugins.get(n)?.status !== 'active') fresh[n] = e;
  if (k.writeCaches && JSON.stringify(fresh) !== JSON.stringify(cache)) await writeShapeCache(cacheFile, fresh);
  // Kinds declared by plugins that are disabled or failed: contributions to them wait quietly
  // (disabling `updates` does not make `apt`'s updater an error on every command).
  for (const [n, e] of Object.entries(fresh)) {
    if (k.plugins.get(n)?.status !== 'active') for (const kind of e.shape.kinds) k.dormantKinds.add(kind.kind);
  }
  const active = order.filter((n) => k.plugins.get(n)!.status === 'active');
  const metaFile = join(k.cacheDir, 'valid-meta.json');
  const knownValid = await readValidMetas(metaFile);
  k.registry.rememberValidMetas(knownValid);
  for (const name of active) register(k, k.plugins.get(name)!);
  const nowValid = [...k.registry.validMetas].sort();
  if (k.writeCaches && JSON.stringify(nowValid) !== JSON.stringify([...knownValid].sort()))
    await writeValidMetas(metaFile, nowValid);
  for (const name of active) {
    const p = k.plugins.get(name)!;
    if (p.status === 'active')
      await k.callHook('plugin_loaded', { plugin: p.name, version: p.manifest.version, tier: p.tier });
  }
  await k.callHook('startup', {
    version: k.version,
    plugins: order.filter((n) => k.plugins.get(n)!.status === 'active'),
  });
}

/**
 * Imports and activates a plugin registered from the shape cache, on its first use. A failure
 * is that call's error (and every later call's): the plugin stays registered but unusable.
 */
export function ensureReady(
  k: LoadingHost & { cacheDir: string; writeCaches: boolean },
  p: PluginRecord,
): Promise<void> {
  p.ready ??= (async () => {
    await loadCode(k, p);
    await activate(k, p);
    if (JSON.stringify(shapeOf(p)) !== JSON.stringify(p.shape)) {
      // The cache was stale in a way its stamp missed; forget it so the next run reloads.
      if (k.writeCaches) await writeShapeCache(shapeCacheFile(k.cacheDir), {});
    }
  })();
  return p.ready;
}
