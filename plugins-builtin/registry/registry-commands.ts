/**
 * `cx-ops registry add|list|remove|refresh|publish`.
 */
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CxError,
  appendJournal,
  defineCommand,
  errorText,
  messageOf,
  type Contribution,
  type FsCapability,
} from 'cx-ops/sdk';
import { changesText, listingChanges } from './change-list.js';
import { loadOptions, print, str, table } from './command-support.js';
import { cachedIndex, formatAge, loadIndex } from './index-cache.js';
import { publishArchive } from './publish.js';
import { addRegistry, readRegistries, registriesFile, removeRegistry, requireRegistry } from './registry-sources.js';
import { canonicalLocation, indexLocation } from './transport.js';

const json = { flags: '--json', description: 'print JSON' };

/** For a local registry location: why its index is not there (no directory, no index.yaml) and the directory;
 * undefined when it is there, or for http(s). */
async function missingLocalIndex(
  fs: FsCapability,
  location: string,
): Promise<{ problem: string; dir: string } | undefined> {
  if (/^https?:\/\//i.test(location)) return undefined;
  const index = indexLocation(location);
  const path = index.startsWith('file:') ? fileURLToPath(index) : index;
  const dir = dirname(path);
  const st = await fs.stat(path).catch(() => null);
  if (st?.type === 'file') return undefined;
  if (st) return { problem: `${path} is not a file`, dir };
  const dirSt = await fs.stat(dir).catch(() => null);
  if (!dirSt) return { problem: `the directory ${dir} does not exist`, dir };
  if (dirSt.type !== 'directory') return { problem: `${dir} is not a directory`, dir };
  return { problem: `${dir} holds no ${basename(path)}`, dir };
}
const dryRun = { flags: '--dry-run', description: 'show what would change; change nothing' };

export const registryCommands: Contribution[] = [
  defineCommand({
    name: 'registry add',
    description: 'add a plugin registry: a directory, a file:// URL or an http(s):// URL serving index.yaml',
    arguments: [
      { name: 'name', description: 'a short name for the registry', required: true },
      { name: 'url', description: 'where its index.yaml is: a directory, file:// or http(s):// URL', required: true },
    ],
    options: [
      { flags: '--force', description: 'add a local registry even though its index.yaml does not exist (yet)' },
      json,
      dryRun,
    ],
    dryRun: true,
    help: 'A local registry (a directory or file:// URL) must already hold index.yaml (cx-ops registry publish DIR ARCHIVE\nmakes it); --force adds it anyway. An http(s) registry that cannot be reached now is added with a warning.\nExample:\n  cx-ops registry add team https://plugins.example.com/cx/\n  cx-ops registry add local ./my-registry',
    async run(ctx, input) {
      const name = String(input.args.name);
      let url: string;
      try {
        url = canonicalLocation(String(input.args.url));
      } catch (e) {
        throw new CxError('CX_ERR_USAGE', {
          detail: messageOf(e),
          hint: `${ctx.env.command} registry add ${name} https://plugins.example.com/cx/`,
        });
      }
      const source = { name, url, added: new Date().toISOString() };
      const dry = ctx.env.dryRun;
      const missing = input.options.force === true ? undefined : await missingLocalIndex(ctx.localFs, url);
      if (missing) {
        throw new CxError('CX_ERR_USAGE', {
          detail: `registry '${name}': ${missing.problem}; nothing was added.`,
          hint: `check the path, or make it a registry with: ${ctx.env.command} registry publish ${missing.dir} ARCHIVE   (or add it anyway: ${ctx.env.command} registry add ${name} ${String(input.args.url)} --force)`,
        });
      }
      const { caps, changes } = listingChanges(ctx); // a dry run records the writes instead, and lists them
      await addRegistry(caps, ctx.env.configDir, source);
      await appendJournal(ctx, { action: 'registry-add', registry: name, url });
      // Read the index now (and cache it): a wrong URL shows at once, not at the first install.
      let plugins: number | null = null;
      let problem: string | null = null;
      try {
        const loaded = await loadIndex(source, loadOptions(ctx, caps));
        plugins = Object.keys(loaded.index.plugins).length;
      } catch (e) {
        if (!(e instanceof CxError)) throw e;
        problem = e.message.split('\n')[0]!;
        ctx.io.err(
          `warning: the registry was ${dry ? 'checked' : 'added'}, but its index cannot be used now: ${problem}\n`,
        );
      }
      const count = plugins === null ? '' : `: ${plugins} plugin${plugins === 1 ? '' : 's'}`;
      if (dry) ctx.io.err(changesText(changes));
      print(
        ctx,
        input.options.json === true,
        {
          ...source,
          index: indexLocation(url),
          plugins,
          problem,
          dry_run: dry,
          ...(dry ? { would_change: changes } : {}),
        },
        `${dry ? 'dry run: would add' : 'added'} registry ${name} (${indexLocation(url)})${count}\nNext: ${ctx.env.command} plugins search TEXT`,
      );
      return 0;
    },
  }),
  defineCommand({
    name: 'registry list',
    description: 'list the configured plugin registries and how old their cached indexes are',
    options: [json],
    async run(ctx, input) {
      const list = await readRegistries(ctx.localFs, ctx.env.configDir);
      const rows = [];
      for (const r of list) {
        const cached = await cachedIndex(ctx.localFs, ctx.env.cacheDir, r).catch(() => undefined);
        rows.push({
          name: r.name,
          url: r.url,
          index: indexLocation(r.url),
          cached_at: cached?.fetchedAt ?? null,
          plugins: cached ? Object.keys(cached.index.plugins).length : null,
        });
      }
      if (input.options.json === true) return (print(ctx, true, rows, ''), 0);
      if (!rows.length) {
        ctx.io.out(
          `No registries configured (${registriesFile(ctx.env.configDir)}).\nAdd one with: ${ctx.env.command} registry add NAME URL\n`,
        );
        return 0;
      }
      ctx.io.out(
        table([
          ['NAME', 'PLUGINS', 'INDEX FETCHED', 'URL'],
          ...rows.map((r) => [
            r.name,
            r.plugins === null ? '-' : String(r.plugins),
            r.cached_at ? `${formatAge(Date.now() - Date.parse(r.cached_at))} ago` : 'never',
            r.url,
          ]),
        ]),
      );
      return 0;
    },
  }),
  defineCommand({
    name: 'registry remove',
    description: 'remove a configured plugin registry (installed plugins stay)',
    arguments: [{ name: 'name', required: true }],
    options: [json, dryRun],
    dryRun: true,
    async run(ctx, input) {
      const name = String(input.args.name);
      const dry = ctx.env.dryRun;
      const { caps, changes } = listingChanges(ctx); // a dry run records the writes instead, and lists them
      const removed = await removeRegistry(caps, ctx.env.configDir, name);
      await appendJournal(ctx, { action: 'registry-remove', registry: name, url: removed.url });
      if (dry) ctx.io.err(changesText(changes));
      print(
        ctx,
        input.options.json === true,
        { ...removed, removed: !dry, ...(dry ? { would_change: changes } : {}) },
        `${dry ? 'dry run: would remove' : 'removed'} registry ${name} (${removed.url})`,
      );
      return 0;
    },
  }),
  defineCommand({
    name: 'registry refresh',
    description: 'fetch the indexes of all (or one) registries into the cache',
    arguments: [{ name: 'name', description: 'only this registry' }],
    options: [json],
    async run(ctx, input) {
      const all = await readRegistries(ctx.localFs, ctx.env.configDir);
      const name = str(input.args.name);
      const list = name ? [requireRegistry(all, name)] : all;
      if (!list.length)
        throw new CxError('CX_ERR_USAGE', {
          detail: 'no registries are configured.',
          hint: `${ctx.env.command} registry add NAME URL`,
        });
      const rows: Array<{
        name: string;
        ok: boolean;
        from_cache?: boolean;
        fetched_at?: string;
        plugins?: number;
        versions?: number;
        error?: string;
      }> = [];
      let code = 0;
      for (const r of list) {
        try {
          const l = await loadIndex(r, loadOptions(ctx));
          rows.push({
            name: r.name,
            ok: !l.fromCache,
            from_cache: l.fromCache,
            fetched_at: l.fetchedAt,
            plugins: Object.keys(l.index.plugins).length,
            versions: Object.values(l.index.plugins).reduce((n, v) => n + v.length, 0),
          });
          if (l.fromCache) code = 1;
        } catch (e) {
          if (!(e instanceof CxError) || list.length === 1) throw e;
          ctx.io.err(`${errorText(e)}\n`);
          rows.push({ name: r.name, ok: false, error: e.code });
          code = 1;
        }
      }
      print(
        ctx,
        input.options.json === true,
        rows,
        rows
          .map((r) =>
            r.ok
              ? `${r.name}: ${r.plugins} plugin${r.plugins === 1 ? '' : 's'}, ${r.versions} version${r.versions === 1 ? '' : 's'}`
              : `${r.name}: ${r.from_cache ? `unreachable; cached index from ${r.fetched_at} kept` : `failed (${r.error})`}`,
          )
          .join('\n'),
      );
      return code;
    },
  }),
  defineCommand({
    name: 'registry publish',
    description:
      'add a packed (and signed) plugin archive to a registry directory; existing versions are never replaced',
    arguments: [
      { name: 'dir', description: 'the registry directory (holds index.yaml and archives/)', required: true },
      {
        name: 'archive',
        description: 'the archive made by cx-ops plugins pack (ARCHIVE.sig beside it is published too)',
        required: true,
      },
    ],
    options: [
      { flags: '--signature <file>', description: 'the signature file (default: ARCHIVE.sig when it exists)' },
      json,
      dryRun,
    ],
    dryRun: true,
    async run(ctx, input) {
      const { caps, changes } = listingChanges(ctx); // a dry run records the writes instead, and lists them
      const out = await publishArchive(caps, String(input.args.dir), String(input.args.archive), {
        signatureFile: str(input.options.signature),
      });
      const signed = out.entry.signature ? `signed by key ${out.entry.signature.key_id}` : 'unsigned';
      const dry = ctx.env.dryRun;
      if (dry) ctx.io.err(changesText(changes));
      print(
        ctx,
        input.options.json === true,
        { ...out, dry_run: dry, ...(dry ? { would_change: changes } : {}) },
        `${ctx.env.dryRun ? 'dry run: would publish' : 'published'} ${out.name} ${out.version} (${signed}, sha256 ${out.entry.sha256}) in ${out.registry}`,
      );
      return 0;
    },
  }),
];
