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
 * Every write goes through ctx.localFs (audited) and every install holds the lock
 * 'plugin-installs' (ctx.lock). A dry run (and --dev) goes the same way with the writes recorded
 * instead of made, and reports them in `changes`.
 */
import { join } from 'node:path';
import satisfies from 'semver/functions/satisfies.js';
import {
  CxError,
  messageOf,
  type FsCapability,
  type IoCapability,
  type Json,
  type PluginsCapability,
  type RuntimeEnv,
  type Tier,
} from 'cx-ops/sdk';
import { changesText } from './change-list.js';
import { registryErrors } from './errors.js';
import type { LoadedIndex } from './index-cache.js';
import type { RegistryCaps } from './local-files.js';
import { hashFiles, lockPath, readLock, writeLock, type LockedPlugin } from './lock-file.js';
import type { ArchiveFile } from './plugin-archive.js';
import { requestedPermissions } from './plugin-manifest.js';
import { inspectArchive } from './publish.js';
import type { IndexSignature, IndexVersion } from './registry-index.js';
import { sha256 } from './sha256.js';
import { readPluginsSection } from './plugins-config.js';
import { checkSignature, describeStatus, readTrustedKeys, weakerSignature, type SignatureStatus } from './signing.js';
import { checkLocalReference, fetchBytes, MAX_DOWNLOAD_BYTES, resolveReference } from './transport.js';

/** The parts of the plugin context an install uses. */
export interface InstallContext extends RegistryCaps {
  /** Where the caps note each change they make (listingChanges), for a dry run's report. */
  changes: string[];
  env: Pick<
    RuntimeEnv,
    'configDir' | 'dataDir' | 'cacheDir' | 'stateDir' | 'kernelVersion' | 'dryRun' | 'assumeYes' | 'command'
  >;
  io: Pick<IoCapability, 'out' | 'err' | 'confirm' | 'interactive'>;
  plugins: Pick<PluginsCapability, 'enable' | 'disable' | 'list' | 'installDir'>;
  /** Appends a record to the plugin's run journal (the SDK's appendJournal). */
  journal(entry: Record<string, Json>): Promise<void>;
}

export interface InstallTarget {
  name: string;
  entry: Pick<IndexVersion, 'version' | 'archive' | 'sha256' | 'signature' | 'size'> & { cx_version?: string };
  /** Name of the registry it comes from. */
  registry: string;
  /** Where the archive reference resolves from (the index location). */
  indexAt: string;
  /** What the sha256 was read from, for the mismatch message. */
  expectedFrom: string;
  range?: string;
  /** The registry's own `require_signatures` (registries.yaml). */
  requireSignatures?: boolean;
  /** A lock install: the status the lock file recorded, which this install may not fall below. */
  locked?: SignatureStatus;
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
  /** --allow-weaker-signature: the operator accepts a lower signature status than before. */
  allowWeakerSignature?: boolean;
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
  /** What the install changed (a dry run: would change), as the capability records it. */
  changes: string[];
}

const STORE = '.store';

/** The version installed now (from the lock), if any. */
async function installedVersion(ctx: InstallContext, name: string): Promise<LockedPlugin | undefined> {
  return (await readLock(ctx.localFs, lockPath(ctx.env.dataDir))).plugins[name];
}

/** The one lock of plugin installs and removals (it covers the lock file too). */
function takeInstallLock(caps: RegistryCaps, what: string) {
  return caps.lock('plugin-installs', { waitMs: 30_000, what });
}

/** What chooseGrants decided: the grants, or declined; `pending` when a dry run left the question open. */
type GrantChoice = { grants: string[]; pending: boolean } | undefined;

/**
 * Asks for the requested permissions unless grants were given; undefined when declined. A dry
 * run never asks: it reports the request as pending, so it needs no terminal and no grants.
 */
async function chooseGrants(
  ctx: InstallContext,
  t: InstallTarget,
  requested: string[],
  c: InstallChoices,
  header: string,
): Promise<GrantChoice> {
  if (c.grants) return { grants: c.grants, pending: false };
  if (!requested.length) return { grants: [], pending: false };
  if (c.previousGrants && requested.every((r) => c.previousGrants!.includes(r)))
    return { grants: requested, pending: false };
  if (ctx.env.dryRun && !ctx.env.assumeYes) return { grants: [], pending: true };
  ctx.io.err(`${header}\nIt requests these permissions:\n${requested.map((g) => `  - ${g}`).join('\n')}\n`);
  if (ctx.env.assumeYes) return { grants: requested, pending: false };
  if (!ctx.io.interactive) {
    const retry = c.retry ?? `${ctx.env.command} plugins install ${t.name}@${t.entry.version}`;
    throw new CxError('CX_ERR_USAGE', {
      detail: `plugin '${t.name}' requests permissions and there is no terminal to ask; nothing was installed.`,
      hint: `${retry} ${requested.map((g) => `--grant '${g}'`).join(' ')}   (or -y to grant all requested)`,
    });
  }
  return (await ctx.io.confirm('Install and grant these permissions?'))
    ? { grants: requested, pending: false }
    : undefined;
}

/** Writes the archive's files into a fresh directory (directories 0755, files 0644 or 0755), each atomically. */
async function writeTree(fs: FsCapability, dir: string, files: ArchiveFile[]): Promise<void> {
  await fs.mkdir(dir, { mode: 0o755 });
  const made = new Set([dir]);
  const mkdirOnce = async (d: string) => {
    if (!made.has(d)) await fs.mkdir(d, { mode: 0o755 });
    made.add(d);
  };
  for (const f of files) {
    const target = join(dir, f.path);
    if (f.type === 'directory') {
      await mkdirOnce(target);
      continue;
    }
    await mkdirOnce(join(target, '..'));
    await fs.writeBytes(target, f.data, { mode: f.mode & 0o111 ? 0o755 : 0o644 });
  }
}

/** Points installDir/name at `storeRel` with one atomic rename. */
async function switchLink(fs: FsCapability, installDir: string, name: string, storeRel: string): Promise<void> {
  const link = join(installDir, name);
  const st = await fs.lstat(link);
  if (st && st.type !== 'symlink') {
    throw new CxError('CX_ERR_USAGE', {
      detail: `${link} exists and was not installed by cx-ops plugins install; nothing was changed.`,
      hint: `move ${link} away, then install again`,
    });
  }
  const tmp = join(installDir, `.${name}.link-${process.pid}-${Date.now()}`);
  await fs.symlink(storeRel, tmp);
  await fs.rename(tmp, link);
}

/**
 * Removes what killed installs, updates and removals of `name` left: temp directories and links,
 * and store versions the link does not point at (an update killed after switching the link keeps
 * the old version; killed just before, a second new one). Runs under the install lock, so no
 * other run is writing them; only this plugin's own names are touched.
 */
async function sweep(fs: FsCapability, installDir: string, name: string): Promise<void> {
  const store = join(installDir, STORE);
  const current = (await fs.lstat(join(installDir, name)))?.target;
  for (const e of await fs.readDir(store).catch(() => [])) {
    const orphan = e.name.startsWith(`${name}@`) && current !== `${STORE}/${e.name}`;
    if (orphan || e.name.startsWith(`.tmp-${name}-`)) await fs.remove(join(store, e.name), { recursive: true });
  }
  for (const e of await fs.readDir(installDir).catch(() => []))
    if (e.name.startsWith(`.${name}.link-`)) await fs.remove(join(installDir, e.name));
}

/** Records the install in the lock file. */
async function lockInstall(fs: FsCapability, dataDir: string, name: string, entry: LockedPlugin): Promise<void> {
  const file = lockPath(dataDir);
  const lock = await readLock(fs, file);
  lock.plugins[name] = entry;
  await writeLock(fs, file, lock);
}

/**
 * The rules on an archive's signature status, before anything is written: `require_signatures`
 * (config.yaml's plugins section, or the registry's entry in registries.yaml) refuses anything
 * not trusted; and a status below what this host installed before, or below what the lock file
 * recorded, is refused naming the change, unless the operator passed --allow-weaker-signature.
 */
async function checkSignaturePolicy(
  ctx: InstallContext,
  t: InstallTarget,
  c: InstallChoices,
  signature: SignatureStatus,
  previous: LockedPlugin | undefined,
  kept: string | undefined,
): Promise<void> {
  const what = { plugin: t.name, version: t.entry.version, kept };
  const config = join(ctx.env.configDir, 'config.yaml');
  if (signature.status !== 'trusted') {
    const rule = (await readPluginsSection(ctx.localFs, ctx.env.configDir)).require_signatures
      ? `plugins.require_signatures in ${config}`
      : t.requireSignatures
        ? `registry '${t.registry}' (require_signatures in ${join(ctx.env.configDir, 'registries.yaml')})`
        : undefined;
    if (rule)
      throw registryErrors.CX_ERR_SIGNATURE_REQUIRED({ ...what, status: describeStatus(signature), rule, config });
  }
  if (c.allowWeakerSignature) return;
  const floors: Array<[SignatureStatus, string]> = [];
  if (previous) floors.push([previous.signature, `${t.name} ${previous.version} installed now`]);
  if (t.locked) floors.push([t.locked, t.expectedFrom]);
  for (const [before, against] of floors) {
    const change = weakerSignature(before, signature);
    if (change)
      throw registryErrors.CX_ERR_SIGNATURE_WEAKER({
        ...what,
        change,
        against,
        retry: c.retry ?? `${ctx.env.command} plugins install ${t.name}@${t.entry.version}`,
      });
  }
}

/** Installs one version. Every check runs before anything is written. */
export async function installVersion(
  ctx: InstallContext,
  t: InstallTarget,
  c: InstallChoices = {},
): Promise<InstallResult> {
  const { env } = ctx;
  const fs = ctx.localFs;
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
  let bytes: Uint8Array;
  const { size } = t.entry;
  try {
    url = resolveReference(t.indexAt, t.entry.archive);
    await checkLocalReference(fs, t.indexAt, url);
    // The index's size bounds the download: no more is read than it promised.
    bytes = await fetchBytes(ctx, url, undefined, size !== undefined ? Math.min(size, MAX_DOWNLOAD_BYTES) : undefined);
  } catch (e) {
    throw new CxError(
      'CX_ERR_IO',
      { path: url, detail: `cannot download the archive of '${t.name}' ${t.entry.version}: ${messageOf(e)}` },
      { cause: e },
    );
  }
  if (size !== undefined && bytes.byteLength !== size)
    throw registryErrors.CX_ERR_ARCHIVE_INVALID({
      archive: url,
      detail: `is ${bytes.byteLength} bytes, but ${t.expectedFrom} says ${size}; nothing was installed${kept ? `; ${kept}` : ''}.`,
    });
  const actual = sha256(bytes);
  if (actual !== t.entry.sha256) {
    const { version } = t.entry;
    throw registryErrors.CX_ERR_CHECKSUM_MISMATCH({
      plugin: t.name,
      version,
      url,
      actual,
      expected: t.entry.sha256,
      expectedFrom: t.expectedFrom,
      kept,
    });
  }
  const trustedKeys = await readTrustedKeys(ctx.localFs, env.configDir, (m) => ctx.io.err(m));
  const signature = checkSignature(bytes, t.entry.signature, trustedKeys, {
    plugin: t.name,
    version: t.entry.version,
    kept,
    from: t.expectedFrom,
  });
  if (c.trusted && signature.status !== 'trusted') {
    throw registryErrors.CX_ERR_NOT_TRUSTED({
      plugin: t.name,
      version: t.entry.version,
      status: describeStatus(signature),
      config: join(env.configDir, 'config.yaml'),
    });
  }
  await checkSignaturePolicy(ctx, t, c, signature, previous, kept);
  const { manifest, files } = await inspectArchive(bytes, url);
  if (manifest.name !== t.name || manifest.version !== t.entry.version) {
    throw registryErrors.CX_ERR_ARCHIVE_INVALID({
      archive: url,
      detail: `holds ${manifest.name} ${manifest.version}, but ${t.expectedFrom} lists it as ${t.name} ${t.entry.version}.`,
    });
  }
  if (!satisfies(env.kernelVersion, manifest.cx_version, { includePrerelease: true })) {
    throw registryErrors.CX_ERR_ARCHIVE_INVALID({
      archive: url,
      detail: `its plugin.yaml needs cx-ops ${manifest.cx_version}, but this is cx-ops ${env.kernelVersion}.`,
    });
  }
  if (c.trusted && manifest.tier !== 'trusted') {
    throw new CxError('CX_ERR_USAGE', {
      detail: `'${t.name}' ${manifest.version} asks to run sandboxed (its plugin.yaml has no 'tier: trusted'); nothing was installed.`,
      hint: `${ctx.env.command} plugins install ${t.name}@${manifest.version}   (without --trusted)`,
    });
  }
  const tier: Tier = c.trusted ? 'trusted' : 'sandboxed';
  const requested = requestedPermissions(manifest);
  const header = `plugin '${t.name}' ${manifest.version} from registry '${t.registry}' (${tier}; signature: ${describeStatus(signature)})`;
  const choice: GrantChoice =
    tier === 'trusted' ? { grants: [], pending: false } : await chooseGrants(ctx, t, requested, c, header);
  const result: InstallResult = {
    name: t.name,
    version: manifest.version,
    registry: t.registry,
    tier,
    signature,
    grants: choice?.grants ?? [],
    requested: tier === 'trusted' ? [] : requested,
    grantsPending: choice?.pending ?? false,
    dir: join(ctx.plugins.installDir, t.name),
    previous: previous?.version,
    dryRun: env.dryRun,
    installed: false,
    changes: [],
  };
  if (!choice) return result;
  const { grants } = choice;
  const installDir = ctx.plugins.installDir;
  const store = join(installDir, STORE);
  const lock = await takeInstallLock(ctx, `plugins install ${t.name}`);
  try {
    if (!(await fs.stat(store))) await fs.mkdir(store);
    await sweep(fs, installDir, t.name);
    // A fresh directory every time: reinstalling the same version also restores modified files.
    const storeName = `${t.name}@${manifest.version}-${actual.slice(0, 12)}-${Date.now().toString(36)}`;
    const final = join(store, storeName);
    const oldTarget = (await fs.lstat(join(installDir, t.name)))?.target;
    const tmp = join(store, `.tmp-${t.name}-${process.pid}-${Date.now()}`);
    await writeTree(fs, tmp, files);
    await fs.rename(tmp, final);
    await switchLink(fs, installDir, t.name, `${STORE}/${storeName}`);
    if (env.dryRun) {
      // Enabling changes the kernel's state: a dry run names it instead.
      ctx.changes.push(`enable: ${t.name} ${tier}${grants.length ? ` with grants ${grants.join(', ')}` : ''}`);
    } else {
      try {
        // The kernel checks the grants against the new manifest; a refusal puts the old version back.
        await ctx.plugins.enable(t.name, { grants, tier });
      } catch (e) {
        if (oldTarget) await switchLink(fs, installDir, t.name, oldTarget);
        else await fs.remove(join(installDir, t.name));
        await fs.remove(final, { recursive: true });
        throw e;
      }
    }
    const sigRecord: LockedPlugin['signature'] =
      signature.status === 'unsigned'
        ? signature
        : { ...signature, public_key: t.entry.signature!.public_key, signature: t.entry.signature!.signature };
    await lockInstall(fs, env.dataDir, t.name, {
      version: manifest.version,
      ...(t.range ? { range: t.range } : {}),
      registry: t.registry,
      url,
      sha256: actual,
      signature: sigRecord,
      tier,
      grants,
      files: hashFiles(files),
      installed_at: new Date().toISOString(),
    });
    if (oldTarget?.startsWith(`${STORE}/`)) await fs.remove(join(installDir, oldTarget), { recursive: true });
    await ctx.journal({
      action: 'install',
      name: t.name,
      version: manifest.version,
      previous: previous?.version ?? null,
      registry: t.registry,
      url,
      sha256: actual,
      signature: signature.status,
      tier,
      grants,
    });
  } finally {
    await lock.release();
  }
  // This install's changes, with the index cache writes that led to it.
  const changes = ctx.changes.splice(0);
  if (env.dryRun) {
    const granting = choice.pending
      ? ` once its requested permissions are granted (${requested.join(', ')})`
      : grants.length
        ? ` with grants: ${grants.join(', ')}`
        : '';
    ctx.io.err(
      `dry run: would install ${t.name} ${manifest.version} into ${result.dir}${previous ? ` (replacing ${previous.version})` : ''} and enable it ${tier}${granting}; nothing was changed.\n${changesText(changes)}`,
    );
  }
  return { ...result, installed: true, changes };
}

/** Removes an installed plugin: disables it, removes its files and its lock entry. A dry run lists what it would change. */
export async function removePlugin(
  ctx: InstallContext,
  name: string,
): Promise<{ locked: LockedPlugin; changes: string[] }> {
  const file = lockPath(ctx.env.dataDir);
  const locked = (await readLock(ctx.localFs, file)).plugins[name];
  if (!locked) throw registryErrors.CX_ERR_NOT_INSTALLED({ plugin: name, lock: file });
  const fs = ctx.localFs;
  const installDir = ctx.plugins.installDir;
  const link = join(installDir, name);
  if (ctx.env.dryRun) ctx.changes.push(`disable: ${name}`);
  else await ctx.plugins.disable(name).catch(() => {});
  const lock = await takeInstallLock(ctx, `plugins remove ${name}`);
  try {
    await sweep(fs, installDir, name);
    const st = await fs.lstat(link);
    if (st) await fs.remove(link);
    if (st?.target?.startsWith(`${STORE}/`) && (await fs.lstat(join(installDir, st.target))))
      await fs.remove(join(installDir, st.target), { recursive: true });
    const all = await readLock(fs, file);
    delete all.plugins[name];
    await writeLock(fs, file, all);
    await ctx.journal({ action: 'remove', name, version: locked.version, registry: locked.registry });
  } finally {
    await lock.release();
  }
  const changes = ctx.changes.splice(0);
  if (ctx.env.dryRun)
    ctx.io.err(`dry run: would disable ${name} and remove ${link}; nothing was changed.\n${changesText(changes)}`);
  return { locked, changes };
}

/** The install target for a locked plugin (repeat an install from a lock file). */
export function targetFromLock(
  name: string,
  locked: LockedPlugin,
  lockFileName: string,
  requireSignatures?: boolean,
): InstallTarget {
  const s = locked.signature;
  const signature: IndexSignature | undefined =
    s.status !== 'unsigned' && s.public_key && s.signature
      ? { algorithm: 'ed25519', key_id: s.key_id, public_key: s.public_key, signature: s.signature }
      : undefined;
  return {
    name,
    entry: { version: locked.version, archive: locked.url, sha256: locked.sha256, signature },
    registry: locked.registry,
    indexAt: locked.url,
    expectedFrom: `the lock file ${lockFileName}`,
    range: locked.range,
    requireSignatures,
    locked: statusOf(s),
  };
}

/** The install target for an offer of a registry index. */
export function targetFromIndex(name: string, loaded: LoadedIndex, entry: IndexVersion, range?: string): InstallTarget {
  return {
    name,
    entry,
    registry: loaded.registry.name,
    indexAt: loaded.indexAt,
    expectedFrom: `the index of registry '${loaded.registry.name}' (${loaded.indexAt})`,
    range,
    requireSignatures: loaded.registry.require_signatures,
  };
}

/** The status part of a lock file's signature record. */
function statusOf(s: LockedPlugin['signature']): SignatureStatus {
  if (s.status === 'trusted') return { status: 'trusted', key_id: s.key_id, source: s.source };
  if (s.status === 'unknown-key') return { status: 'unknown-key', key_id: s.key_id };
  return { status: 'unsigned' };
}
