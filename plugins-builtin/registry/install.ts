/**
 * Installing a plugin version from a registry, atomically:
 *
 *   download -> sha256 (always) -> signature -> every archive entry checked -> manifest checked
 *   -> permissions shown and granted -> files written into installDir/.store/NAME@VERSION-HASH-TIME
 *   -> the symlink installDir/NAME switched to it with one rename -> enable (the kernel checks
 *   the grants; a refusal switches the link back) -> lock file -> the old version's files removed.
 *
 * Nothing is written before every check passed. Until the one rename, installDir/NAME still
 * points at the previous version, so an install killed at any moment leaves that version usable.
 */
import { lstat, mkdir, open, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import satisfies from 'semver/functions/satisfies.js';
import { CxError, type IoCapability, type Json, type PluginsCapability, type RuntimeEnv, type Tier } from 'cx-ops/sdk';
import { LockedError, lockFile, sha256, syncDir } from './files.js';
import type { LoadedIndex } from './index-cache.js';
import { hashTree, lockPath, readLock, writeLock, type LockedPlugin } from './lock-file.js';
import { requestedPermissions } from './plugin-manifest.js';
import { inspectArchive } from './publish.js';
import type { IndexSignature, IndexVersion } from './registry-index.js';
import { checkSignature, describeStatus, readTrustedKeys, type SignatureStatus } from './signing.js';
import { fetchBytes, resolveReference } from './transport.js';
import { registryErrors } from './errors.js';

/** The parts of the plugin context an install uses. */
export interface InstallContext {
  env: Pick<RuntimeEnv, 'configDir' | 'dataDir' | 'cacheDir' | 'stateDir' | 'kernelVersion' | 'dryRun' | 'assumeYes'>;
  io: Pick<IoCapability, 'out' | 'err' | 'confirm' | 'interactive'>;
  plugins: Pick<PluginsCapability, 'enable' | 'disable' | 'list' | 'installDir'>;
  /** Appends a record to the plugin's run journal (the SDK's appendJournal). */
  journal(entry: Record<string, Json>): Promise<void>;
}

export interface InstallTarget {
  name: string;
  entry: Pick<IndexVersion, 'version' | 'archive' | 'sha256' | 'signature'> & { cx_version?: string };
  /** Name of the registry it comes from. */
  registry: string;
  /** Where the archive reference resolves from (the index location). */
  indexAt: string;
  /** What the sha256 was read from, for the mismatch message. */
  expectedFrom: string;
  range?: string;
}

export interface InstallChoices {
  /** Grant strings given on the command line (or from a lock file); undefined: ask. */
  grants?: string[];
  /** Install in the trusted tier (only for archives signed by a trusted source). */
  trusted?: boolean;
  /** Grants already held (update): kept without asking when they cover the new request. */
  previousGrants?: string[];
  /** The command that repeats this install or update, for the "give --grant" hint (default: install NAME@VERSION). */
  retry?: string;
}

export interface InstallResult {
  name: string;
  version: string;
  registry: string;
  tier: Tier;
  signature: SignatureStatus;
  grants: string[];
  /** What the plugin's manifest requests (sandboxed tier; empty when trusted). */
  requested: string[];
  /** Dry run only: the request was not granted yet (no --grant or -y); a real run asks for it. */
  grantsPending: boolean;
  dir: string;
  previous?: string;
  dryRun: boolean;
  /** false when the user declined the permissions. */
  installed: boolean;
}

const STORE = '.store';

/** The version installed now (from the lock), if any. */
async function installedVersion(ctx: InstallContext, name: string): Promise<LockedPlugin | undefined> {
  return (await readLock(lockPath(ctx.env.dataDir))).plugins[name];
}

async function takeInstallLock(installDir: string): Promise<() => Promise<void>> {
  return lockFile(join(installDir, '.install.lock'), `plugin installs in ${installDir}`, 30_000);
}

/** What chooseGrants decided: the grants, or declined; `pending` when a dry run left the question open. */
type GrantChoice = { grants: string[]; pending: boolean } | undefined;

/**
 * Asks for the requested permissions unless grants were given; undefined when declined. A dry
 * run never asks: it reports the request as pending, so it needs no terminal and no grants.
 */
async function chooseGrants(ctx: InstallContext, t: InstallTarget, requested: string[], c: InstallChoices, header: string): Promise<GrantChoice> {
  if (c.grants) return { grants: c.grants, pending: false };
  if (!requested.length) return { grants: [], pending: false };
  if (c.previousGrants && requested.every((r) => c.previousGrants!.includes(r))) return { grants: requested, pending: false };
  if (ctx.env.dryRun && !ctx.env.assumeYes) return { grants: [], pending: true };
  ctx.io.err(`${header}\nIt requests these permissions:\n${requested.map((g) => `  - ${g}`).join('\n')}\n`);
  if (ctx.env.assumeYes) return { grants: requested, pending: false };
  if (!ctx.io.interactive) {
    const retry = c.retry ?? `cx-ops plugins install ${t.name}@${t.entry.version}`;
    throw new CxError('CX_ERR_USAGE', {
      detail: `plugin '${t.name}' requests permissions and there is no terminal to ask; nothing was installed.`,
      hint: `${retry} ${requested.map((g) => `--grant '${g}'`).join(' ')}   (or -y to grant all requested)`,
    });
  }
  return (await ctx.io.confirm('Install and grant these permissions?')) ? { grants: requested, pending: false } : undefined;
}

/** Writes the archive's files into a fresh directory (mode 0755 dirs, 0644/0755 files), each fsynced. */
async function writeTree(dir: string, files: Array<{ path: string; type: 'file' | 'directory'; mode: number; data: Buffer }>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const f of files) {
    const target = join(dir, f.path);
    if (f.type === 'directory') {
      await mkdir(target, { recursive: true, mode: 0o755 });
      continue;
    }
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    const fh = await open(target, 'wx', f.mode & 0o111 ? 0o755 : 0o644);
    try {
      await fh.writeFile(f.data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  await syncDir(dir);
}

/** Points installDir/name at `storeRel` with one atomic rename. */
async function switchLink(installDir: string, name: string, storeRel: string): Promise<void> {
  const link = join(installDir, name);
  const st = await lstat(link).catch(() => undefined);
  if (st && !st.isSymbolicLink()) {
    throw new CxError('CX_ERR_USAGE', { detail: `${link} exists and was not installed by cx-ops plugins install; nothing was changed.`, hint: `move ${link} away, then install again` });
  }
  const tmp = join(installDir, `.${name}.link-${process.pid}-${Date.now()}`);
  await symlink(storeRel, tmp);
  await rename(tmp, link);
  await syncDir(installDir);
}

/** Removes temp directories and links left by killed installs of `name`. */
async function sweep(installDir: string, name: string): Promise<void> {
  const store = join(installDir, STORE);
  for (const e of await readdir(store).catch(() => [] as string[])) if (e.startsWith(`.tmp-${name}-`)) await rm(join(store, e), { recursive: true, force: true });
  for (const e of await readdir(installDir).catch(() => [] as string[])) if (e.startsWith(`.${name}.link-`)) await rm(join(installDir, e), { force: true });
}

/** Installs one version. Every check runs before anything is written. */
export async function installVersion(ctx: InstallContext, t: InstallTarget, c: InstallChoices = {}): Promise<InstallResult> {
  const { env } = ctx;
  const present = (await ctx.plugins.list()).find((p) => p.name === t.name);
  if (present && present.dir !== join(ctx.plugins.installDir, t.name)) {
    throw new CxError('CX_ERR_USAGE', {
      detail: `a plugin named '${t.name}' is already present (${present.builtin ? 'built in' : present.dir}); an installed one of the same name would never load. Nothing was installed.`,
      hint: present.builtin ? `ask the publisher to rename the plugin` : `remove ${present.dir} first`,
    });
  }
  const previous = await installedVersion(ctx, t.name);
  const kept = previous ? `${t.name} ${previous.version} stays installed and working` : undefined;
  let url = t.entry.archive;
  let bytes: Buffer;
  try {
    url = resolveReference(t.indexAt, t.entry.archive);
    bytes = await fetchBytes(url);
  } catch (e: any) {
    throw new CxError('CX_ERR_IO', { path: url, detail: `cannot download the archive of '${t.name}' ${t.entry.version}: ${e?.message ?? e}` });
  }
  const actual = sha256(bytes);
  if (actual !== t.entry.sha256) {
    throw registryErrors.CX_ERR_CHECKSUM_MISMATCH({ plugin: t.name, version: t.entry.version, url, actual, expected: t.entry.sha256, expectedFrom: t.expectedFrom, kept });
  }
  const trustedKeys = await readTrustedKeys(env.configDir, (m) => ctx.io.err(m));
  const signature = checkSignature(bytes, t.entry.signature, trustedKeys, { plugin: t.name, version: t.entry.version, kept });
  if (c.trusted && signature.status !== 'trusted') {
    throw registryErrors.CX_ERR_NOT_TRUSTED({ plugin: t.name, version: t.entry.version, status: describeStatus(signature), config: join(env.configDir, 'config.yaml') });
  }
  const { manifest, files } = await inspectArchive(bytes, url);
  if (manifest.name !== t.name || manifest.version !== t.entry.version) {
    throw registryErrors.CX_ERR_ARCHIVE_INVALID({ archive: url, detail: `holds ${manifest.name} ${manifest.version}, but ${t.expectedFrom} lists it as ${t.name} ${t.entry.version}.` });
  }
  if (!satisfies(env.kernelVersion, manifest.cx_version, { includePrerelease: true })) {
    throw registryErrors.CX_ERR_ARCHIVE_INVALID({ archive: url, detail: `its plugin.yaml needs cx-ops ${manifest.cx_version}, but this is cx-ops ${env.kernelVersion}.` });
  }
  if (c.trusted && manifest.tier !== 'trusted') {
    throw new CxError('CX_ERR_USAGE', { detail: `'${t.name}' ${manifest.version} asks to run sandboxed (its plugin.yaml has no 'tier: trusted'); nothing was installed.`, hint: `cx-ops plugins install ${t.name}@${manifest.version}   (without --trusted)` });
  }
  const tier: Tier = c.trusted ? 'trusted' : 'sandboxed';
  const requested = requestedPermissions(manifest);
  const header = `plugin '${t.name}' ${manifest.version} from registry '${t.registry}' (${tier}; signature: ${describeStatus(signature)})`;
  const choice: GrantChoice = tier === 'trusted' ? { grants: [], pending: false } : await chooseGrants(ctx, t, requested, c, header);
  const result: InstallResult = {
    name: t.name, version: manifest.version, registry: t.registry, tier, signature, grants: choice?.grants ?? [], requested: tier === 'trusted' ? [] : requested,
    grantsPending: choice?.pending ?? false, dir: join(ctx.plugins.installDir, t.name), previous: previous?.version, dryRun: env.dryRun, installed: false,
  };
  if (!choice) return result;
  const { grants } = choice;
  if (env.dryRun) {
    const granting = choice.pending ? ` once its requested permissions are granted (${requested.join(', ')})` : grants.length ? ` with grants: ${grants.join(', ')}` : '';
    ctx.io.err(`dry run: would install ${t.name} ${manifest.version} into ${result.dir}${previous ? ` (replacing ${previous.version})` : ''} and enable it ${tier}${granting}; nothing was changed.\n`);
    return { ...result, installed: true };
  }
  const installDir = ctx.plugins.installDir;
  const store = join(installDir, STORE);
  await mkdir(store, { recursive: true });
  const release = await takeInstallLock(installDir);
  try {
    await sweep(installDir, t.name);
    // A fresh directory every time: reinstalling the same version also restores modified files.
    const storeName = `${t.name}@${manifest.version}-${actual.slice(0, 12)}-${Date.now().toString(36)}`;
    const final = join(store, storeName);
    const oldTarget = await readlink(join(installDir, t.name)).catch(() => undefined);
    const newTarget = `${STORE}/${storeName}`;
    const tmp = join(store, `.tmp-${t.name}-${process.pid}-${Date.now()}`);
    await writeTree(tmp, files);
    await rename(tmp, final);
    await syncDir(store);
    await switchLink(installDir, t.name, newTarget);
    try {
      // The kernel checks the grants against the new manifest; a refusal puts the old version back.
      await ctx.plugins.enable(t.name, { grants, tier });
    } catch (e) {
      if (oldTarget) await switchLink(installDir, t.name, oldTarget);
      else await rm(join(installDir, t.name), { force: true });
      await rm(final, { recursive: true, force: true });
      throw e;
    }
    const fileHashes = await hashTree(final);
    const lockFileName = lockPath(env.dataDir);
    const releaseLock = await lockFile(`${lockFileName}.lock`, 'the plugin lock file', 10_000);
    try {
      const lock = await readLock(lockFileName);
      const sigRecord: LockedPlugin['signature'] =
        signature.status === 'unsigned' ? signature : { ...signature, public_key: t.entry.signature!.public_key, signature: t.entry.signature!.signature };
      lock.plugins[t.name] = {
        version: manifest.version,
        ...(t.range ? { range: t.range } : {}),
        registry: t.registry,
        url,
        sha256: actual,
        signature: sigRecord,
        tier,
        grants,
        files: fileHashes,
        installed_at: new Date().toISOString(),
      };
      await writeLock(lockFileName, lock);
    } finally {
      await releaseLock();
    }
    if (oldTarget?.startsWith(`${STORE}/`)) {
      await rm(join(installDir, oldTarget), { recursive: true, force: true });
    }
    await ctx.journal({
      action: 'install', name: t.name, version: manifest.version, previous: previous?.version ?? null, registry: t.registry, url, sha256: actual,
      signature: signature.status, tier, grants,
    });
  } finally {
    await release();
  }
  return { ...result, installed: true };
}

/** Removes an installed plugin: disables it, removes its files and its lock entry. */
export async function removePlugin(ctx: InstallContext, name: string): Promise<LockedPlugin> {
  const file = lockPath(ctx.env.dataDir);
  const locked = (await readLock(file)).plugins[name];
  if (!locked) throw registryErrors.CX_ERR_NOT_INSTALLED({ plugin: name, lock: file });
  if (ctx.env.dryRun) {
    ctx.io.err(`dry run: would disable ${name} and remove ${join(ctx.plugins.installDir, name)}; nothing was changed.\n`);
    return locked;
  }
  await ctx.plugins.disable(name).catch(() => {});
  const installDir = ctx.plugins.installDir;
  const release = await takeInstallLock(installDir);
  try {
    const link = join(installDir, name);
    const target = await readlink(link).catch(() => undefined);
    await rm(link, { force: true });
    await syncDir(installDir);
    if (target?.startsWith(`${STORE}/`)) await rm(join(installDir, target), { recursive: true, force: true });
    const releaseLock = await lockFile(`${file}.lock`, 'the plugin lock file', 10_000);
    try {
      const lock = await readLock(file);
      delete lock.plugins[name];
      await writeLock(file, lock);
    } finally {
      await releaseLock();
    }
    await ctx.journal({ action: 'remove', name, version: locked.version, registry: locked.registry });
  } finally {
    await release();
  }
  return locked;
}

/** The install target for a locked plugin (repeat an install from a lock file). */
export function targetFromLock(name: string, locked: LockedPlugin, lockFileName: string): InstallTarget {
  const s = locked.signature;
  const signature: IndexSignature | undefined =
    s.status !== 'unsigned' && s.public_key && s.signature ? { algorithm: 'ed25519', key_id: s.key_id, public_key: s.public_key, signature: s.signature } : undefined;
  return {
    name,
    entry: { version: locked.version, archive: locked.url, sha256: locked.sha256, signature },
    registry: locked.registry,
    indexAt: locked.url,
    expectedFrom: `the lock file ${lockFileName}`,
    range: locked.range,
  };
}

/** The install target for an offer of a registry index. */
export function targetFromIndex(name: string, loaded: LoadedIndex, entry: IndexVersion, range?: string): InstallTarget {
  return { name, entry, registry: loaded.registry.name, indexAt: loaded.indexAt, expectedFrom: `the index of registry '${loaded.registry.name}' (${loaded.indexAt})`, range };
}
