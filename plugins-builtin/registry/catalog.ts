/**
 * What the registry plugin adds to the kernel's own commands:
 * - `plugin-catalog` (for `cx-ops plugins list --available`): every plugin the registries offer;
 * - `plugin-info` (for `cx-ops plugins info NAME`): where an installed plugin came from and its
 *   signature status: trusted / signed by an unknown key / unsigned / modified.
 */
import { join } from 'node:path';
import { defineContribution, type Contribution, type FsCapability, type Json, type PluginContext } from 'cx-ops/sdk';
import { loadIndexes } from './index-cache.js';
import { lockPath, modifiedFiles, readLock, type LockedPlugin } from './lock-file.js';
import { readRegistries } from './registry-sources.js';
import { offersOf, worksWith } from './select-version.js';
import { describeStatus, readTrustedKeys, type SignatureStatus } from './signing.js';

/** The kinds this plugin declares (the kernel's `plugins list --available` and `plugins info` read them). */
export const catalogKinds = [
  {
    kind: 'plugin-catalog',
    description: 'Lists plugins available for install: [{ name, version, registry, description }]',
  },
  { kind: 'plugin-info', description: 'Adds fields to `plugins info NAME`: input { name }, output an object' },
];

async function available(ctx: PluginContext): Promise<Json> {
  const registries = await readRegistries(ctx.localFs, ctx.env.configDir);
  const indexes = await loadIndexes(registries, { caps: ctx, cacheDir: ctx.env.cacheDir, warn: (m) => ctx.io.err(m) });
  const out: Json[] = [];
  const seen = new Set<string>();
  for (const l of indexes) {
    for (const name of Object.keys(l.index.plugins).sort()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const offers = offersOf([l], name);
      const best = offers.find((o) => worksWith(o.entry, ctx.env.kernelVersion)) ?? offers[0]!;
      out.push({
        name,
        version: best.entry.version,
        registry: l.registry.name,
        description: best.entry.description,
        plugin_type: best.entry.plugin_type,
        signed: Boolean(best.entry.signature),
      });
    }
  }
  return out;
}

/**
 * The signature status of a locked plugin against the keys trusted now: the signature was checked
 * against the archive at install time, but whether its key is trusted follows
 * plugins.trusted_sources as it is today. `note` says what changed since install.
 */
async function currentStatus(
  fs: FsCapability,
  configDir: string,
  locked: LockedPlugin,
): Promise<{ status: SignatureStatus; note: string }> {
  const s = locked.signature;
  if (s.status === 'unsigned' || !s.public_key) return { status: s, note: '' };
  let keys;
  try {
    keys = await readTrustedKeys(fs, configDir);
  } catch (e) {
    return {
      status: s,
      note: ` (as recorded at install; the trusted keys cannot be read now: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
    };
  }
  const raw = Buffer.from(s.public_key, 'base64');
  const source = keys.find((k) => k.raw.equals(raw));
  const now: SignatureStatus = source
    ? { status: 'trusted', key_id: s.key_id, source: source.name }
    : { status: 'unknown-key', key_id: s.key_id };
  const note =
    s.status === 'trusted' && now.status !== 'trusted'
      ? ` (trusted at install as '${s.source}'; that key is no longer in plugins.trusted_sources)`
      : s.status !== 'trusted' && now.status === 'trusted'
        ? ' (its key was added to plugins.trusted_sources after install)'
        : '';
  return { status: now, note };
}

/** Signature status and origin of an installed plugin; {} for plugins not installed from a registry. */
export async function installInfo(
  ctx: Pick<PluginContext, 'env' | 'plugins' | 'localFs'>,
  name: string,
): Promise<Record<string, Json>> {
  const file = lockPath(ctx.env.dataDir);
  const locked = (await readLock(ctx.localFs, file)).plugins[name];
  if (!locked) return {};
  const changed = await modifiedFiles(ctx.localFs, join(ctx.plugins.installDir, name), locked.files);
  const { status: signature, note } = await currentStatus(ctx.localFs, ctx.env.configDir, locked);
  const status = changed.length ? 'modified' : signature.status;
  return {
    signature: changed.length
      ? `modified (${changed.join(', ')} changed since install; was ${describeStatus(signature)}${note})`
      : `${describeStatus(signature)}${note}`,
    signature_status: status,
    ...(locked.signature.status !== 'unsigned' ? { signing_key: locked.signature.key_id } : {}),
    ...(locked.signature.status !== signature.status ? { status_at_install: locked.signature.status } : {}),
    modified_files: changed,
    installed_from: locked.registry,
    installed_version: locked.version,
    archive_url: locked.url,
    archive_sha256: locked.sha256,
    installed_at: locked.installed_at,
  };
}

export const catalogContributions: Contribution[] = [
  defineContribution(
    'plugin-catalog',
    'registries',
    { description: 'plugins offered by the configured registries' },
    (ctx) => available(ctx),
  ),
  defineContribution(
    'plugin-info',
    'registry',
    { description: 'origin and signature status of installed plugins' },
    (ctx, input: Json) => installInfo(ctx, String((input as { name?: unknown } | null)?.name ?? '')),
  ),
];
