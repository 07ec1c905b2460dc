/**
 * Kernel commands: plugins list | info | enable | disable | grant | create | build.
 */
import type { Command } from 'commander';
import type { Json } from '../../sdk/types.js';
import type { Terminal } from '../context.js';
import { CxError, messageOf } from '../errors.js';
import type { Kernel, PluginRecord } from '../kernel.js';
import { formatGrants, parseGrant, requestedGrants } from '../permissions/grants.js';
import { shellQuote } from '../permissions/explain.js';
import { errorText } from './print-error.js';
import { buildPluginDir, createPluginScaffold, SCAFFOLD_TYPES } from './scaffold.js';

/** Sub-commands that need only manifests and state, not plugin code. */
export const KERNEL_ONLY = new Set(['list', 'enable', 'disable', 'grant', 'create', 'build']);

function requested(p: PluginRecord): string[] {
  return formatGrants(requestedGrants(p.manifest.permissions ?? {}));
}

/**
 * The one status vocabulary of every plugin listing (text, --json, --available, info):
 * enabled, disabled or failed. Whether an enabled plugin's code is loaded yet is not shown.
 */
export function statusOf(p: PluginRecord): 'enabled' | 'disabled' | 'failed' {
  if (!p.enabled) return 'disabled';
  return p.status === 'failed' ? 'failed' : 'enabled';
}

const STATUS_HELP = `
STATUS is one of:
  enabled   runs when a command needs it (its code loads on first use)
  disabled  installed but off; turn it on with: cx-ops plugins enable NAME
  failed    enabled but could not load; the reason is printed below the list and by: cx-ops plugins info NAME
Plain \`plugins list\` reads manifests and state only (it is fast), so it cannot see a load failure;
\`plugins list --available\` and \`plugins info NAME\` load the plugins and show it.`;

function summary(p: PluginRecord) {
  return {
    name: p.name,
    version: p.manifest.version,
    description: p.manifest.description,
    plugin_type: p.manifest.plugin_type,
    source: p.source,
    dir: p.dir,
    enabled: p.enabled,
    tier: p.tier,
    status: statusOf(p),
    requested_permissions: requested(p),
    grants: p.tier === 'trusted' ? ['(all: trusted)'] : p.grantStrings,
    read_only: p.readOnly,
    ...(p.error ? { error: p.error.toJSON() } : {}),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function addPluginCommands(
  program: Command,
  kernel: Kernel,
  terminal: Terminal,
  setCode: (c: number) => void,
): void {
  const plugins = program.command('plugins').description('list, enable, disable, inspect and create plugins');

  plugins
    .command('list')
    .description('list installed plugins (enabled and disabled)')
    .option('--available', 'also list plugins available from plugin registries')
    .option('--json', 'print JSON')
    .addHelpText('after', STATUS_HELP)
    .action(async (o: { available?: boolean; json?: boolean }) => {
      const rows = [...kernel.plugins.values()]
        .sort((a, b) => Number(b.builtin) - Number(a.builtin) || a.name.localeCompare(b.name))
        .map(summary);
      let available: Json[] = [];
      if (o.available) {
        for (const cat of kernel.registry.list('plugin-catalog')) {
          try {
            const out = await kernel.invoke('plugin-catalog', cat.id, null);
            if (Array.isArray(out)) available.push(...out);
          } catch (e) {
            terminal.err(`warning: catalog '${cat.id}' of plugin '${cat.plugin}' failed: ${messageOf(e)}\n`);
          }
        }
        const installed = new Set(rows.map((r) => r.name));
        available = available.filter(
          (a) => !(a && typeof a === 'object' && !Array.isArray(a) && installed.has(String(a.name))),
        );
      }
      if (o.json) {
        terminal.out(`${JSON.stringify(o.available ? { installed: rows, available } : rows, null, 2)}\n`);
        return;
      }
      const head = ['NAME', 'VERSION', 'TIER', 'STATUS', 'SOURCE', 'DESCRIPTION'];
      terminal.out(table([head, ...rows.map((r) => [r.name, r.version, r.tier, r.status, r.source, r.description])]));
      if (o.available) {
        terminal.out(
          available.length
            ? `\nAvailable from registries:\n${table([['NAME', 'VERSION', 'REGISTRY', 'DESCRIPTION'], ...available.map((a: any) => [String(a.name), String(a.version), String(a.registry ?? ''), String(a.description ?? '')])])}`
            : '\nNo other plugins available from the configured registries.\n',
        );
      }
    });

  plugins
    .command('info')
    .description('show a plugin: manifest, tier, requested permissions, grants')
    .argument('<name>', 'plugin name')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      const p = kernel.requirePlugin(name);
      const info: Record<string, unknown> = {
        ...summary(p),
        author: p.manifest.author ?? null,
        cx_version: p.manifest.cx_version,
        requires: p.manifest.requires ?? {},
        main: p.manifest.main,
        config_key: p.manifest.config_key ?? p.name,
        read_only: p.readOnly,
        contributions: kernel.registry.kindNames().flatMap((k) =>
          kernel.registry
            .list(k)
            .filter((c) => c.plugin === name)
            .map((c) => `${c.kind}:${c.id}`),
        ),
      };
      for (const extra of kernel.registry.list('plugin-info')) {
        try {
          const out = await kernel.invoke('plugin-info', extra.id, { name } as Json);
          if (out && typeof out === 'object' && !Array.isArray(out)) Object.assign(info, out);
        } catch (e) {
          terminal.err(`warning: '${extra.plugin}' could not add to the info: ${messageOf(e)}\n`);
        }
      }
      if (o.json) {
        terminal.out(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const text = (k: string, v: unknown): string => {
        if (k === 'error' && p.error) return errorText(p.error).replace(/\n/g, `\n${' '.repeat(22)}`);
        if (Array.isArray(v)) return v.join(', ') || '(none)';
        return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
      };
      const lines = Object.entries(info).map(([k, v]) => `${k.padEnd(22)}${text(k, v)}`);
      terminal.out(`${lines.join('\n')}\n`);
    });

  plugins
    .command('enable')
    .description('enable a plugin; shows the permissions it requests and asks before granting them')
    .argument('<name>', 'plugin name')
    .option(
      '--grant <grant...>',
      "grant exactly these (e.g. 'exec:systemctl is-active *' read:/proc); must be within the request",
    )
    .option('--read-only', 'read-only tier: no exec, write or net, whatever is requested')
    .option('--json', 'print JSON')
    .option('-y, --yes', 'grant every permission it requests without asking')
    .action(async (name: string, o: { grant?: string[]; readOnly?: boolean; json?: boolean; yes?: boolean }) => {
      const p = kernel.requirePlugin(name);
      const req = requested(p);
      let grants: string[];
      if (o.grant) grants = o.grant;
      else if (p.builtin || req.length === 0) grants = [];
      else {
        terminal.err(
          `plugin '${name}' ${p.manifest.version} (${p.tier}) requests:\n${req.map((g) => `  - ${g}`).join('\n')}\n`,
        );
        const ok =
          kernel.options.assumeYes ||
          o.yes ||
          (terminal.interactive && terminal.ask
            ? /^y(es)?$/i.test(((await terminal.ask('Grant these permissions? [y/N] ')) ?? '').trim())
            : false);
        if (!ok) {
          if (!terminal.interactive && !kernel.options.assumeYes) {
            throw new CxError('CX_ERR_USAGE', {
              detail: `plugin '${name}' requests permissions and there is no terminal to ask.`,
              hint: `cx-ops plugins enable ${name} -y   (grant all requested) or --grant <grant...>`,
            });
          }
          terminal.err('Not enabled.\n');
          setCode(1);
          return;
        }
        grants = req;
      }
      const rec = await kernel.enable(name, { grants, readOnly: o.readOnly });
      if (o.json)
        terminal.out(
          `${JSON.stringify({ name, enabled: true, tier: rec.tier, grants: rec.grantStrings, read_only: Boolean(o.readOnly) }, null, 2)}\n`,
        );
      else
        terminal.out(
          `enabled ${name} (${rec.tier}${o.readOnly ? ', read-only' : ''})${rec.grantStrings.length ? ` with grants: ${rec.grantStrings.join(', ')}` : ''}\n`,
        );
    });

  plugins
    .command('disable')
    .description('disable a plugin (its files stay; enable it again at any time)')
    .argument('<name>', 'plugin name')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      await kernel.disable(name);
      terminal.out(o.json ? `${JSON.stringify({ name, enabled: false })}\n` : `disabled ${name}\n`);
    });

  plugins
    .command('grant')
    .description('add grants to a plugin (each within what its manifest requests)')
    .argument('<name>', 'plugin name')
    .argument('<grant...>', "grants, e.g. 'exec:systemctl is-active *' read:/proc net:127.0.0.1:8080")
    .option('--json', 'print the result as JSON')
    .action(async (name: string, grants: string[], o: { json?: boolean }) => {
      const p = kernel.requirePlugin(name);
      if (p.readOnly) {
        // The read-only tier keeps only read and registry grants: anything else would be dropped silently.
        const dropped = grants.filter((g) => {
          const parsed = parseGrant(g);
          return parsed.exec.length > 0 || parsed.write.length > 0 || parsed.net.length > 0;
        });
        if (dropped.length) {
          throw new CxError('CX_ERR_USAGE', {
            detail: `plugin '${name}' is enabled read-only, which allows no exec, write or net grant: ${dropped.map((g) => `'${g}'`).join(', ')} would have no effect; nothing was changed.`,
            hint: `leave read-only mode by enabling it again with the grants it needs: ${kernel.command} plugins enable ${shellQuote(name)} ${[...p.grantStrings, ...grants].map((g) => `--grant ${shellQuote(g)}`).join(' ')}`,
          });
        }
      }
      const rec = await kernel.enable(name, { grants: [...p.grantStrings, ...grants], readOnly: p.readOnly });
      terminal.out(
        o.json
          ? `${JSON.stringify({ name, grants: rec.grantStrings, read_only: p.readOnly })}\n`
          : `${name} now has grants: ${rec.grantStrings.join(', ')}\n`,
      );
    });

  plugins
    .command('create')
    .description('create a new plugin from a scaffold that passes its own test out of the box')
    .argument('<name>', 'kebab-case plugin name')
    .option('--type <type>', `plugin type: ${SCAFFOLD_TYPES.join(', ')}`, 'check')
    .option('--dir <dir>', 'parent directory (default: the current directory)')
    .action(async (name: string, o: { type: string; dir?: string }) => {
      const dir = await createPluginScaffold(name, o.type, o.dir ?? process.cwd(), kernel.version);
      terminal.out(
        `created ${dir}\nNext:\n  cd ${dir}\n  npm install        # the SDK and vitest\n  npm test           # runs the plugin under the real sandbox\n  cx-ops plugins build .\n`,
      );
    });

  plugins
    .command('build')
    .description("bundle a plugin's src/index.ts into the single file its manifest's main names")
    .argument('[dir]', 'plugin directory', '.')
    .action(async (dir: string) => {
      const out = await buildPluginDir(dir);
      terminal.out(`built ${out}\n`);
    });
}
