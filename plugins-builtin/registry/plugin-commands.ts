/**
 * `cx-ops plugins search|install|update|remove|pack|sign|keygen` (mounted under the kernel's own
 * `plugins` group).
 */
import { resolve } from 'node:path';
import satisfies from 'semver/functions/satisfies.js';
import { CxError, defineCommand, type CommandInput, type Contribution, type PluginContext } from 'cx-ops/sdk';
import { installContext, loadOptions, print, str, strings, table } from './command-support.js';
import { readBytesIfExists, writeFileAtomic } from './local-files.js';
import { loadIndex, loadIndexes, type LoadedIndex, type LoadOptions } from './index-cache.js';
import { installVersion, removePlugin, targetFromIndex, targetFromLock, type InstallResult } from './install.js';
import { lockPath, readLock } from './lock-file.js';
import { packPlugin } from './pack.js';
import { readPluginsSection } from './plugins-config.js';
import { inspectArchive } from './publish.js';
import { readRegistries, requireRegistry } from './registry-sources.js';
import { offersOf, parseSpec, selectVersion, worksWith } from './select-version.js';
import { describeStatus, generateKeys, signArchive } from './signing.js';
import { registryErrors } from './errors.js';

const json = { flags: '--json', description: 'print JSON' };
const dryRun = { flags: '--dry-run', description: 'check and show what would be installed; change nothing' };
const weaker = {
  flags: '--allow-weaker-signature',
  description: 'accept a lower signature status than installed now or locked (trusted -> unknown key -> unsigned)',
};

/** The configured registries' indexes (only --from's when given). */
async function indexesFor(
  ctx: PluginContext,
  from: string | undefined,
  caps: LoadOptions['caps'] = ctx,
): Promise<LoadedIndex[]> {
  const all = await readRegistries(ctx.localFs, ctx.env.configDir);
  if (!all.length)
    throw new CxError('CX_ERR_USAGE', {
      detail: 'no plugin registries are configured.',
      hint: `${ctx.env.command} registry add NAME URL`,
    });
  const list = from ? [requireRegistry(all, from)] : all;
  return loadIndexes(list, loadOptions(ctx, caps));
}

/** An install result as `--json` prints it (schemas/plugins-install-result.schema.json). */
function asJson(r: InstallResult) {
  return {
    name: r.name,
    version: r.version,
    previous: r.previous ?? null,
    registry: r.registry,
    tier: r.tier,
    signature: r.signature,
    grants: r.grants,
    requested: r.requested,
    grants_pending: r.grantsPending,
    dir: r.dir,
    installed: r.installed,
    dry_run: r.dryRun,
    ...(r.dryRun ? { would_change: r.changes } : {}),
  };
}

/** How a result's permissions read in the text report. */
function grantsText(r: InstallResult): string {
  if (r.grantsPending)
    return `, requests: ${r.requested.join(', ')} (not granted by this dry run: a real run asks, or give --grant or -y)`;
  return r.grants.length ? `, grants: ${r.grants.join(', ')}` : '';
}

/** A plugin spec as the user can paste it into a shell (a range with ^, ~, spaces or '<>' quoted). */
function shellSpec(name: string, range?: string): string {
  if (!range || range === '*') return name;
  return /^[A-Za-z0-9._-]+$/.test(range) ? `${name}@${range}` : `${name}@'${range.replace(/'/g, `'\\''`)}'`;
}

async function report(ctx: PluginContext, input: CommandInput, results: InstallResult[]): Promise<number> {
  if (results.some((r) => r.installed && !r.dryRun)) {
    const section = await readPluginsSection(ctx.localFs, ctx.env.configDir);
    if (!section.enabled)
      ctx.io.err(
        `warning: plugins.enabled is false in ${section.file}: third-party plugins, this one included, do not load until it is true.\n`,
      );
  }
  const declined = results.some((r) => !r.installed);
  const lines = results.map((r) =>
    !r.installed
      ? `not installed: ${r.name} ${r.version} (permissions not granted)`
      : `${r.dryRun ? 'dry run: would install' : 'installed'} ${r.name} ${r.version}${r.previous && r.previous !== r.version ? ` (was ${r.previous})` : ''} from ${r.registry}: ${r.tier}, signature ${describeStatus(r.signature)}${grantsText(r)}`,
  );
  print(ctx, input.options.json === true, results.map(asJson), lines.join('\n'));
  return declined ? 1 : 0;
}

/**
 * Repeats the installs a lock file records (default: this host's own), exactly: version, URL,
 * sha256, signature and grants. With NAME, only that plugin, which the lock must list (and at a
 * version within NAME@RANGE).
 */
async function installFromLock(ctx: PluginContext, input: CommandInput, spec: string | undefined): Promise<number> {
  const ictx = installContext(ctx, input);
  const grants = strings(input.options.grant);
  const given = str(input.options.lock);
  const file = resolve(given ?? lockPath(ctx.env.dataDir));
  const lock = await readLock(ctx.localFs, file, { mustExist: given !== undefined });
  let names = Object.keys(lock.plugins);
  if (spec) {
    const s = parseSpec(spec);
    const locked = lock.plugins[s.name];
    if (!locked || !satisfies(locked.version, s.range, { includePrerelease: true }))
      throw new CxError('CX_ERR_USAGE', {
        detail: `${file} ${locked ? `locks '${s.name}' at ${locked.version}, which is not within '${s.range}'` : `does not list '${s.name}'`}; nothing was installed.`,
        hint: `${ctx.env.command} plugins install --lock ${file}   (what it lists: ${names.join(', ') || 'nothing'}), or without --lock to install from the registries`,
      });
    names = [s.name];
  }
  if (!names.length)
    throw new CxError('CX_ERR_USAGE', {
      detail: `nothing to install: ${file} lists no plugins.`,
      hint: `${ctx.env.command} plugins install NAME[@RANGE]`,
    });
  const registries = await readRegistries(ctx.localFs, ctx.env.configDir);
  const results: InstallResult[] = [];
  for (const name of names) {
    const locked = lock.plugins[name]!;
    const required = registries.find((r) => r.name === locked.registry)?.require_signatures;
    results.push(
      await installVersion(ictx, targetFromLock(name, locked, file, required), {
        grants: grants ?? locked.grants ?? [],
        trusted: input.options.trusted === true || locked.tier === 'trusted',
        allowWeakerSignature: input.options.allowWeakerSignature === true,
        retry: `${ctx.env.command} plugins install${spec ? ` ${spec}` : ''} --lock ${file}`,
      }),
    );
  }
  return report(ctx, input, results);
}

async function install(ctx: PluginContext, input: CommandInput): Promise<number> {
  const ictx = installContext(ctx, input);
  const grants = strings(input.options.grant);
  const trusted = input.options.trusted === true;
  const spec = str(input.args.plugin);
  // No NAME: repeat every install of a lock file (default: this host's own); NAME --lock: that one.
  if (!spec || str(input.options.lock) !== undefined) return installFromLock(ctx, input, spec);
  const s = parseSpec(spec);
  const from = str(input.options.from);
  const indexes = await indexesFor(ctx, from, ictx);
  const offer = selectVersion(
    indexes,
    s,
    ctx.env.kernelVersion,
    from ? `registry '${from}'` : `the configured registries (${indexes.map((l) => l.registry.name).join(', ')})`,
  );
  const retry = `${ctx.env.command} plugins install ${shellSpec(s.name, s.range)}${from ? ` --from ${from}` : ''}`;
  const result = await installVersion(ictx, targetFromIndex(s.name, offer.loaded, offer.entry, s.range), {
    grants,
    trusted,
    retry,
    allowWeakerSignature: input.options.allowWeakerSignature === true,
  });
  return report(ctx, input, [result]);
}

async function update(ctx: PluginContext, input: CommandInput): Promise<number> {
  const ictx = installContext(ctx, input);
  const lock = await readLock(ctx.localFs, lockPath(ctx.env.dataDir));
  const only = str(input.args.plugin);
  if (only && !lock.plugins[only])
    throw registryErrors.CX_ERR_NOT_INSTALLED({ plugin: only, lock: lockPath(ctx.env.dataDir) });
  const names = only ? [only] : Object.keys(lock.plugins);
  const grants = strings(input.options.grant);
  if (grants && !only) {
    throw new CxError('CX_ERR_USAGE', {
      detail: 'plugins update --grant needs the name of the one plugin the grants are for; nothing was updated.',
      hint: `${ctx.env.command} plugins update NAME --grant GRANT...`,
    });
  }
  if (!names.length) {
    if (input.options.json === true) return (print(ctx, true, { updated: [], current: [] }, ''), 0);
    ctx.io.out(
      `No plugins installed from a registry (${lockPath(ctx.env.dataDir)} lists none): nothing to update.\nInstall one with: ${ctx.env.command} plugins install NAME\n`,
    );
    return 0;
  }
  const registries = await readRegistries(ctx.localFs, ctx.env.configDir);
  const results: InstallResult[] = [];
  const current: string[] = [];
  for (const name of names) {
    const locked = lock.plugins[name]!;
    const source = registries.find((r) => r.name === locked.registry);
    if (!source) {
      ctx.io.err(`warning: ${name} came from registry '${locked.registry}', which is no longer configured; skipped.\n`);
      continue;
    }
    const loaded = await loadIndex(source, loadOptions(ctx, ictx));
    const range = locked.range ?? '*';
    let offer;
    try {
      offer = selectVersion([loaded], { name, range }, ctx.env.kernelVersion, `registry '${source.name}'`);
    } catch (e) {
      if (!(e instanceof CxError) || e.code !== 'CX_ERR_VERSION_UNSATISFIED') throw e;
      current.push(`${name} ${locked.version} (nothing newer satisfies ${range})`);
      continue;
    }
    if (offer.entry.version === locked.version) {
      current.push(`${name} ${locked.version} is up to date`);
      continue;
    }
    results.push(
      await installVersion(ictx, targetFromIndex(name, loaded, offer.entry, range), {
        grants,
        previousGrants: locked.grants ?? [],
        trusted: locked.tier === 'trusted',
        retry: `${ctx.env.command} plugins update ${name}`,
        allowWeakerSignature: input.options.allowWeakerSignature === true,
      }),
    );
  }
  if (input.options.json === true) return (print(ctx, true, { updated: results.map(asJson), current }, ''), 0);
  if (current.length) ctx.io.out(`${current.join('\n')}\n`);
  return results.length ? report(ctx, input, results) : 0;
}

export const pluginCommands: Contribution[] = [
  defineCommand({
    name: 'plugins search',
    description: 'search the configured registries by name, description and keywords',
    arguments: [{ name: 'text', description: 'words to look for (none: list everything)' }],
    options: [{ flags: '--from <registry>', description: 'search only this registry' }, json],
    async run(ctx, input) {
      const words = (str(input.args.text) ?? '').toLowerCase().split(/\s+/).filter(Boolean);
      const indexes = await indexesFor(ctx, str(input.options.from));
      const rows = [];
      const seen = new Set<string>();
      for (const l of indexes) {
        for (const name of Object.keys(l.index.plugins).sort()) {
          if (seen.has(name)) continue;
          const offers = offersOf([l], name);
          const latest = offers.find((o) => worksWith(o.entry, ctx.env.kernelVersion)) ?? offers[0]!;
          const hay = [name, latest.entry.description, ...(latest.entry.keywords ?? [])].join(' ').toLowerCase();
          if (!words.every((w) => hay.includes(w))) continue;
          seen.add(name);
          rows.push({
            name,
            version: latest.entry.version,
            registry: l.registry.name,
            description: latest.entry.description,
            plugin_type: latest.entry.plugin_type,
            versions: offers.map((o) => o.entry.version),
            works_with_this_kernel: worksWith(latest.entry, ctx.env.kernelVersion),
            signed: Boolean(latest.entry.signature),
            permissions: latest.entry.permissions,
          });
        }
      }
      if (input.options.json === true) return (print(ctx, true, rows, ''), 0);
      if (!rows.length) return (ctx.io.out(`No plugins match '${words.join(' ')}'.\n`), 1);
      ctx.io.out(
        table([
          ['NAME', 'VERSION', 'REGISTRY', 'TYPE', 'DESCRIPTION'],
          ...rows.map((r) => [
            r.name,
            `${r.version}${r.works_with_this_kernel ? '' : ' (needs newer cx-ops)'}`,
            r.registry,
            r.plugin_type,
            r.description,
          ]),
        ]),
      );
      return 0;
    },
  }),
  defineCommand({
    name: 'plugins install',
    description:
      'install a plugin from a registry (sandboxed; the permissions it requests are shown and must be granted)',
    arguments: [
      {
        name: 'plugin',
        description: "NAME or NAME@RANGE (e.g. disk-guard@'^1.2'); none: install what the lock file lists",
      },
    ],
    options: [
      { flags: '--from <registry>', description: 'install from this registry only' },
      {
        flags: '--grant <grant...>',
        description: "grant exactly these (e.g. read:/proc/loadavg 'exec:df -h'), for scripts; -y grants all requested",
      },
      {
        flags: '--trusted',
        description: 'install in the trusted tier (only for archives signed by a key in plugins.trusted_sources)',
      },
      {
        flags: '--lock <file>',
        description:
          "install exactly what this lock file lists (default: this host's plugins.lock.json); with NAME, only that plugin",
      },
      weaker,
      json,
      dryRun,
    ],
    dryRun: true,
    help: 'The highest version satisfying both RANGE and this cx-ops version is installed. sha256 is always checked;\nsignatures are checked against plugins.trusted_sources in config.yaml. To repeat an install on another host,\ncopy ${dataDir}/plugins.lock.json there and run: cx-ops plugins install --lock plugins.lock.json',
    run: (ctx, input) => install(ctx, input),
  }),
  defineCommand({
    name: 'plugins update',
    description: 'update installed plugins (or one) to the newest version within the range they were installed with',
    arguments: [{ name: 'plugin', description: 'only this plugin' }],
    options: [
      {
        flags: '--grant <grant...>',
        description:
          'with NAME: grant exactly these to the new version (e.g. read:/proc/loadavg), for scripts; -y grants all requested',
      },
      weaker,
      json,
      dryRun,
    ],
    dryRun: true,
    help: 'Grants are kept without asking when the new version requests nothing more; otherwise the new request is\nshown and must be granted (prompt, --grant, or -y). Example: cx-ops plugins update disk-guard --grant read:/proc/loadavg',
    run: (ctx, input) => update(ctx, input),
  }),
  defineCommand({
    name: 'plugins remove',
    description: 'disable and delete a plugin installed from a registry',
    arguments: [{ name: 'plugin', required: true }],
    options: [json, { flags: '--dry-run', description: 'show what would be disabled and removed; change nothing' }],
    dryRun: true,
    async run(ctx, input) {
      const name = String(input.args.plugin);
      const { locked, changes } = await removePlugin(installContext(ctx, input), name);
      const dry = ctx.env.dryRun;
      print(
        ctx,
        input.options.json === true,
        { name, version: locked.version, removed: !dry, ...(dry ? { would_change: changes } : {}) },
        dry ? '' : `removed ${name} ${locked.version}`,
      );
      return 0;
    },
  }),
  defineCommand({
    name: 'plugins pack',
    description: 'bundle a plugin directory into one archive: NAME-VERSION.tgz (plugin.yaml + bundled main + README)',
    arguments: [{ name: 'dir', description: 'the plugin directory (default: .)' }],
    options: [{ flags: '--out <file>', description: 'archive path (default: ./NAME-VERSION.tgz)' }, json],
    async run(ctx, input) {
      const p = await packPlugin(ctx.localFs, str(input.args.dir) ?? '.', { out: str(input.options.out) });
      print(
        ctx,
        input.options.json === true,
        p,
        `${ctx.env.dryRun ? 'dry run: would pack' : 'packed'} ${p.name} ${p.version}: ${p.file}\n  sha256 ${p.sha256}\n  ${p.entries.join(', ')}\nNext: ${ctx.env.command} plugins sign ${p.file} --key KEY`,
      );
      return 0;
    },
  }),
  defineCommand({
    name: 'plugins sign',
    description: 'sign a plugin archive with an ed25519 private key; writes ARCHIVE.sig',
    arguments: [{ name: 'archive', required: true }],
    options: [{ flags: '--key <file>', description: 'the PEM private key (from cx-ops plugins keygen)' }, json],
    async run(ctx, input) {
      const key = str(input.options.key);
      if (!key)
        throw new CxError('CX_ERR_USAGE', {
          detail: 'plugins sign needs --key FILE.',
          hint: `${ctx.env.command} plugins keygen --out mykey   then   ${ctx.env.command} plugins sign ARCHIVE --key mykey.key`,
        });
      const archive = resolve(String(input.args.archive));
      const bytes = await readBytesIfExists(ctx.localFs, archive);
      if (!bytes)
        throw new CxError('CX_ERR_USAGE', {
          detail: `${archive}: does not exist.`,
          hint: `${ctx.env.command} plugins pack DIR`,
        });
      const { manifest } = await inspectArchive(bytes, archive); // sign only what an install would accept
      const sig = await signArchive(ctx.localFs, bytes, resolve(key));
      await writeFileAtomic(ctx.localFs, `${archive}.sig`, `${JSON.stringify(sig, null, 2)}\n`);
      print(
        ctx,
        input.options.json === true,
        { file: `${archive}.sig`, ...sig },
        `${ctx.env.dryRun ? 'dry run: would sign' : 'signed'} ${manifest.name} ${manifest.version} (${archive}) with key ${sig.key_id}: ${archive}.sig\nNext: ${ctx.env.command} registry publish REGISTRY_DIR ${archive}`,
      );
      return 0;
    },
  }),
  defineCommand({
    name: 'plugins keygen',
    description: 'make an ed25519 key pair for signing plugins: PREFIX.key (private, mode 0600) and PREFIX.pub',
    options: [
      { flags: '--out <prefix>', description: 'path prefix of the two files (e.g. ~/.cx/acme)' },
      { flags: '--force', description: 'replace existing key files' },
      json,
    ],
    async run(ctx, input) {
      const prefix = str(input.options.out);
      if (!prefix)
        throw new CxError('CX_ERR_USAGE', {
          detail: 'plugins keygen needs --out PREFIX.',
          hint: `${ctx.env.command} plugins keygen --out acme`,
        });
      const base = resolve(prefix);
      const keys = generateKeys();
      if (input.options.force !== true) {
        for (const f of [`${base}.key`, `${base}.pub`]) {
          if (await ctx.localFs.lstat(f))
            throw new CxError('CX_ERR_USAGE', {
              detail: `${f} already exists; nothing was written.`,
              hint: `choose another --out, or add --force to replace it`,
            });
        }
      }
      await writeFileAtomic(ctx.localFs, `${base}.key`, keys.privatePem, 0o600);
      await writeFileAtomic(ctx.localFs, `${base}.pub`, keys.publicPem, 0o644);
      print(
        ctx,
        input.options.json === true,
        {
          private_key: `${base}.key`,
          public_key: `${base}.pub`,
          key_id: keys.keyId,
          public_key_base64: keys.publicRaw,
        },
        `${ctx.env.dryRun ? 'dry run: would write' : 'wrote'} ${base}.key (private, keep it secret) and ${base}.pub, key id ${keys.keyId}\nUsers who trust you add to config.yaml:\n  plugins:\n    trusted_sources:\n      - name: YOUR-NAME\n        public_key: ${keys.publicRaw}`,
      );
      return 0;
    },
  }),
];
