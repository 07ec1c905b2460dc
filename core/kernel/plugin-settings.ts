/** Persisting what the user decided about a plugin (state.json): enabled with grants and tier, or disabled. */
import type { Tier } from '../../sdk/types.js';
import { treeHash } from '../loader/tree-hash.js';
import { updateState, type PluginState } from '../state.js';
import { grantsToStore } from './effective-grants.js';
import type { PluginRecord } from './plugin-record.js';

/** Records a plugin as enabled; grants are checked against its manifest's request. Resolves with the saved state. */
export async function saveEnabled(
  dataDir: string,
  p: PluginRecord,
  o: { grants?: string[]; tier?: Tier; readOnly?: boolean },
): Promise<PluginState> {
  // The read-only tier keeps no side-effecting grant at all, so none is stored or shown.
  const grants = grantsToStore(p.name, p.manifest, o.grants ?? [], Boolean(o.readOnly));
  const tier = o.tier ?? (p.builtin ? 'trusted' : 'sandboxed');
  // A third-party plugin trusted now is trusted as its files are now (checked before each load).
  const trustedTree = tier === 'trusted' && !p.builtin ? await treeHash(p.dir) : undefined;
  const saved = await updateState(dataDir, (s) => {
    s.plugins[p.name] = {
      enabled: true,
      tier,
      trustedTree,
      grants,
      readOnly: o.readOnly || undefined,
      changedAt: new Date().toISOString(),
    };
  });
  return saved.plugins[p.name]!;
}

/** Records a plugin as disabled, keeping its tier, grants and trusted tree for a later enable. */
export async function saveDisabled(dataDir: string, name: string): Promise<PluginState> {
  const saved = await updateState(dataDir, (s) => {
    const prev = s.plugins[name];
    s.plugins[name] = {
      enabled: false,
      tier: prev?.tier,
      grants: prev?.grants ?? [],
      trustedTree: prev?.trustedTree,
      changedAt: new Date().toISOString(),
    };
  });
  return saved.plugins[name]!;
}
