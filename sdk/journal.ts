/**
 * The run journal of a plugin that changes the system: one JSON line per run in
 * `${ctx.env.stateDir}/journal.jsonl` saying what it changed, so a person (or an undo) can see
 * it afterwards. Nothing is written in a dry run. Uses only ctx.localFs, so it works in both tiers.
 */
import type { Json, PluginContext } from './types.js';

/** Appends `entry` (with the time and the plugin's name) to the plugin's run journal. */
export async function appendJournal(ctx: PluginContext<unknown>, entry: Record<string, Json>): Promise<void> {
  if (ctx.env.dryRun) return;
  await ctx.localFs.mkdir(ctx.env.stateDir, { mode: 0o700 });
  const line = JSON.stringify({ ts: new Date().toISOString(), plugin: ctx.plugin, ...entry });
  await ctx.localFs.writeFile(`${ctx.env.stateDir}/journal.jsonl`, `${line}\n`, { append: true, mode: 0o600 });
}
