/**
 * What the kernel knows of one plugin, in three parts: what discovery found (its directory and
 * manifest), what is persisted about it (state.json: enabled, tier, grants, read-only), and the
 * runtime handles of this process (status, loaded code, shape, effective grants, config).
 * The enabled and tier rules are written here once.
 */
import type { PluginDefinition, Tier } from '../../sdk/types.js';
import type { ContextPlugin } from '../context.js';
import type { CxError } from '../errors.js';
import type { DiscoveredPlugin } from '../loader/discover.js';
import type { PluginShape } from '../loader/shape-cache.js';
import type { SandboxedPlugin } from '../sandbox/host.js';
import type { PluginState } from '../state.js';

export type PluginStatus = 'active' | 'disabled' | 'failed' | 'not-loaded';

/** What is persisted about a plugin (state.json), as the kernel applies it. */
export interface PluginSettings {
  builtin: boolean;
  enabled: boolean;
  tier: Tier;
  /** The grant strings the user gave (within the manifest's request). */
  grantStrings: string[];
  readOnly: boolean;
}

/** What this process holds for a plugin. */
export interface PluginRuntime extends ContextPlugin {
  status: PluginStatus;
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

/** A discovered plugin, its settings and what became of it. */
export interface PluginRecord extends DiscoveredPlugin, PluginSettings, PluginRuntime {}

/**
 * The tier rule: built-in plugins are trusted; a third-party plugin is trusted only when both
 * its manifest asks for it and the user enabled it trusted; anything else runs sandboxed.
 */
export function tierOf(d: DiscoveredPlugin, st: PluginState | undefined): Tier {
  return d.source === 'builtin' || (st?.tier === 'trusted' && d.manifest.tier === 'trusted') ? 'trusted' : 'sandboxed';
}

/**
 * The record of a discovered plugin. Built-in plugins are on unless disabled; third-party ones
 * are off unless enabled (and third-party plugins are allowed at all).
 */
export function recordOf(d: DiscoveredPlugin, st: PluginState | undefined, thirdPartyAllowed: boolean): PluginRecord {
  const builtin = d.source === 'builtin';
  const enabled = builtin ? st?.enabled !== false : thirdPartyAllowed && st?.enabled === true;
  return {
    ...d,
    builtin,
    enabled,
    tier: tierOf(d, st),
    status: enabled ? 'not-loaded' : 'disabled',
    grantStrings: st?.grants ?? [],
    readOnly: Boolean(st?.readOnly),
    grants: 'all',
    config: {},
  };
}
