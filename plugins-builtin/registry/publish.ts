/**
 * `cx-ops registry publish DIR ARCHIVE`: copies the archive into DIR/archives/ and adds the
 * version to DIR/index.yaml, atomically (ctx.localFs) and under a lock against concurrent
 * publishes (ctx.lock, named after DIR). Publishing a version that already exists is refused:
 * published versions never change.
 */
import { CxError } from 'cx-ops/sdk';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import rcompare from 'semver/functions/rcompare.js';
import { readBytesIfExists, utf8, writeFileAtomic, type RegistryCaps } from './local-files.js';
import { archiveFile, readPluginArchive } from './plugin-archive.js';
import { MANIFEST_FILE, parseManifest, requestedPermissions, type Manifest } from './plugin-manifest.js';
import { emptyIndex, INDEX_FILE, parseIndex, serializeIndex, type IndexVersion } from './registry-index.js';
import { sha256 } from './sha256.js';
import { readSignatureFile, signatureValid } from './signing.js';
import { registryErrors } from './errors.js';

/** Reads and checks an archive: safe entries, a valid manifest, its main file present. */
export async function inspectArchive(
  bytes: Uint8Array,
  label: string,
): Promise<{ manifest: Manifest; files: Awaited<ReturnType<typeof readPluginArchive>> }> {
  const files = await readPluginArchive(bytes, label);
  const m = archiveFile(files, MANIFEST_FILE);
  if (!m)
    throw registryErrors.CX_ERR_ARCHIVE_INVALID({
      archive: label,
      detail: `has no ${MANIFEST_FILE} at its top level.`,
    });
  const manifest = parseManifest(m.data, `${label}!${MANIFEST_FILE}`);
  if (!archiveFile(files, manifest.main.replace(/^\.\//, ''))) {
    throw registryErrors.CX_ERR_ARCHIVE_INVALID({
      archive: label,
      detail: `has no main file '${manifest.main}' (named in its ${MANIFEST_FILE}).`,
    });
  }
  return { manifest, files };
}

/** How long a publish waits for another publish into the same registry to finish. */
export const PUBLISH_LOCK_WAIT_MS = 5_000;

export interface Published {
  registry: string;
  name: string;
  version: string;
  entry: IndexVersion;
}

/**
 * The name of the lock a publish into `dir` takes: readable (the path's words) and at most 100
 * characters; a longer path is shortened to its tail and a hash of the whole.
 */
export function publishLockName(dir: string): string {
  const words = dir
    .replace(/[^A-Za-z0-9._-]+/g, '.')
    .replace(/^\.+|\.+$/g, '')
    .replace(/\.\.+/g, '.');
  const name = `registry-publish.${words}`;
  return name.length <= 100
    ? name
    : `registry-publish.${sha256(dir).slice(0, 16)}.${words.slice(-60).replace(/^[._-]+/, '')}`;
}

/** Publishes an archive (and ARCHIVE.sig when present) into a registry directory. */
export async function publishArchive(
  caps: RegistryCaps,
  registryArg: string,
  archiveArg: string,
  o: { signatureFile?: string; cwd?: string; now?: Date } = {},
): Promise<Published> {
  const fs = caps.localFs;
  const cwd = o.cwd ?? process.cwd();
  const registry = registryArg.startsWith('file://') ? fileURLToPath(registryArg) : resolve(cwd, registryArg);
  if (/^[a-z]+:\/\//i.test(registryArg) && !registryArg.startsWith('file://')) {
    throw new CxError('CX_ERR_USAGE', {
      detail: `publish writes files, so DIR must be a local directory (found: ${registryArg}).`,
      hint: 'publish into a checkout or mount of the registry, then upload it',
    });
  }
  if ((await fs.stat(registry))?.type !== 'directory') {
    throw new CxError('CX_ERR_USAGE', {
      detail: `${registry} is not a directory.`,
      hint: `mkdir -p ${registry}   (an empty directory is a new registry)`,
    });
  }
  const archivePath = resolve(cwd, archiveArg);
  const bytes = await readBytesIfExists(fs, archivePath);
  if (!bytes)
    throw new CxError('CX_ERR_USAGE', { detail: `${archivePath} does not exist.`, hint: 'cx-ops plugins pack DIR' });
  const { manifest } = await inspectArchive(bytes, archivePath);
  const sigFile = o.signatureFile ? resolve(cwd, o.signatureFile) : `${archivePath}.sig`;
  const signature = await readSignatureFile(fs, sigFile);
  if (signature && !signatureValid(bytes, signature)) {
    throw new CxError('CX_ERR_USAGE', {
      detail: `${sigFile} is not a signature of ${archivePath} (was the archive packed again after signing?); nothing was published.`,
      hint: `cx-ops plugins sign ${archiveArg} --key KEY   then publish again`,
    });
  }
  const lock = await caps.lock(publishLockName(registry), {
    waitMs: PUBLISH_LOCK_WAIT_MS,
    what: `registry publish into ${registry}`,
  });
  try {
    const indexFile = join(registry, INDEX_FILE);
    const text = await readBytesIfExists(fs, indexFile);
    const index = text ? parseIndex(utf8(text), indexFile) : emptyIndex();
    const versions = index.plugins[manifest.name] ?? [];
    if (versions.some((v) => v.version === manifest.version)) {
      throw registryErrors.CX_ERR_VERSION_EXISTS({
        plugin: manifest.name,
        version: manifest.version,
        registry: indexFile,
      });
    }
    const archive = `archives/${manifest.name}-${manifest.version}.tgz`;
    const entry: IndexVersion = {
      version: manifest.version,
      description: manifest.description,
      ...(manifest.author ? { author: manifest.author } : {}),
      ...(manifest.license ? { license: manifest.license } : {}),
      ...(manifest.homepage ? { homepage: manifest.homepage } : {}),
      ...(manifest.keywords ? { keywords: manifest.keywords } : {}),
      plugin_type: manifest.plugin_type,
      cx_version: manifest.cx_version,
      tier: manifest.tier ?? 'sandboxed',
      permissions: requestedPermissions(manifest),
      archive,
      sha256: sha256(bytes),
      size: bytes.byteLength,
      ...(signature ? { signature } : {}),
      published: (o.now ?? new Date()).toISOString(),
    };
    index.plugins[manifest.name] = [...versions, entry].sort((a, b) => rcompare(a.version, b.version));
    index.generated = entry.published;
    // The archive first, then the index: a reader never sees an index entry without its archive.
    await writeFileAtomic(fs, join(registry, archive), bytes);
    await writeFileAtomic(fs, indexFile, serializeIndex(index));
    return { registry: indexFile, name: manifest.name, version: manifest.version, entry };
  } finally {
    await lock.release();
  }
}
