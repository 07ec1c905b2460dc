/**
 * Choosing a fix by what is installed: a check can name a fix another plugin owns (e.g. the apt
 * repair) and fall back to its own simpler one when that plugin is not loaded.
 */
import type { PluginContext } from './types.js';

/** The first of `fixIds` some loaded plugin contributes, else the last one (the check's own). */
export async function preferredFix(
  ctx: Pick<PluginContext<unknown>, 'registry'>,
  fixIds: readonly string[],
): Promise<string> {
  try {
    const registered = new Set((await ctx.registry.list('fix')).map((f) => f.id));
    const found = fixIds.find((id) => registered.has(id));
    if (found) return found;
  } catch {
    /* a plugin that may not list the registry gets its own fix */
  }
  return fixIds[fixIds.length - 1]!;
}
