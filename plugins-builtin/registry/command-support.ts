/**
 * What every command of the registry plugin shares: option parsing, and the context pieces the
 * work functions take. (Its errors are thrown: the kernel attributes and prints them.)
 */
import { appendJournal, type CommandInput, type Json, type PluginContext } from 'cx-ops/sdk';
import { listingChanges } from './change-list.js';
import type { LoadOptions } from './index-cache.js';
import type { InstallContext } from './install.js';

export const str = (v: Json | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const strings = (v: Json | undefined): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : undefined;

/**
 * The InstallContext of a command run: its capabilities note every change they make (the list a
 * dry run reports). Commands that change things declare `dryRun: true`, so their --dry-run (like
 * global --dev) makes ctx.env.dryRun true and the capabilities record instead of performing.
 */
export function installContext(ctx: PluginContext, input: CommandInput): InstallContext {
  const { caps, changes } = listingChanges(ctx);
  return {
    ...caps,
    changes,
    env: { ...ctx.env, assumeYes: ctx.env.assumeYes || input.options.yes === true },
    io: ctx.io,
    plugins: ctx.plugins,
    journal: (entry) => appendJournal(ctx, entry),
  };
}

/** Index loading options of a command run (through `caps`: the command's own, or an InstallContext's). */
export function loadOptions(ctx: PluginContext, caps: LoadOptions['caps'] = ctx): LoadOptions {
  return { caps, cacheDir: ctx.env.cacheDir, warn: (m) => ctx.io.err(m) };
}

/** Prints JSON or text. */
export function print(ctx: PluginContext, json: boolean, data: unknown, text: string): void {
  ctx.io.out(json ? `${JSON.stringify(data, null, 2)}\n` : text.endsWith('\n') || text === '' ? text : `${text}\n`);
}

/** A plain text table. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
