/**
 * The one rule for what a plugin may do: the manifest's request, narrowed by the user's grants
 * (never widened), with every side-effecting grant dropped in the read-only tier.
 */
import type { PluginManifest } from '../../sdk/types.js';
import {
  formatGrants,
  mergeGrants,
  narrowGrants,
  parseGrant,
  readOnlyGrants,
  requestedGrants,
  type Grants,
} from '../permissions/grants.js';

/** The effective grants of a plugin (throws CX_ERR_GRANT_WIDER / CX_ERR_GRANT_SYNTAX for bad grant strings). */
export function effectiveGrants(
  plugin: string,
  manifest: PluginManifest,
  grantStrings: string[],
  readOnly: boolean,
): Grants {
  const narrowed = narrowGrants(
    requestedGrants(manifest.permissions ?? {}),
    mergeGrants(grantStrings.map((g) => parseGrant(g))),
    plugin,
  );
  return readOnly ? readOnlyGrants(narrowed) : narrowed;
}

/**
 * The grant strings to store for an enable: each given grant normalized, after checking all of
 * them are within the request; in the read-only tier only what survives it.
 */
export function grantsToStore(plugin: string, manifest: PluginManifest, given: string[], readOnly: boolean): string[] {
  const effective = effectiveGrants(plugin, manifest, given, readOnly);
  const normalized = readOnly ? formatGrants(effective) : given.flatMap((g) => formatGrants(parseGrant(g)));
  return [...new Set(normalized)];
}
