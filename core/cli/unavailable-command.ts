/**
 * Why a command is unknown: often it is not unknown at all, its plugin is disabled or failed to
 * load. The kernel knows which plugins did not load (state, boot errors) and, from the shape
 * cache, what each of them contributed when it last loaded; a plugin named like the command is
 * the next best guess. The headline then says which plugin it is and how to make it available.
 */
import { join } from 'node:path';
import { CxError } from '../errors.js';
import type { Kernel, PluginRecord } from '../kernel.js';
import { readShapeCache, type ShapeCache } from '../loader/shape-cache.js';

/** The error for an unknown command, plus the boot error it already shows (not to list twice). */
export interface UnknownCommandReport {
  error: CxError;
  shown?: CxError;
}

function notLoaded(kernel: Kernel): PluginRecord[] {
  return [...kernel.plugins.values()]
    .filter((p) => p.status === 'disabled' || p.status === 'failed')
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Plugins the state has enabled that no plugin directory of this run holds: enabled from a
 * --plugin-dir (or CX_PLUGIN_PATH) that was not given this time.
 */
function notFound(kernel: Kernel): string[] {
  return Object.entries(kernel.state.plugins)
    .filter(([name, s]) => s?.enabled && !kernel.plugins.has(name))
    .map(([name]) => name)
    .sort();
}

/** Whether the plugin's command `command`, when it last loaded, said its exit code is a monitoring status. */
function statusCommand(cache: ShapeCache, p: PluginRecord, command: string): boolean {
  const c = cache[p.name]?.shape.contributes.find((x) => x.kind === 'command' && x.id === command);
  return (c?.meta as { status_exit?: unknown } | undefined)?.status_exit === true;
}

/** The not-loaded plugin that provides the command `words` (e.g. ['repair', 'apt']), if known. */
function providerOf(cache: ShapeCache, words: string[], candidates: PluginRecord[]): PluginRecord | undefined {
  const wanted = words.join(' ');
  for (const p of candidates) {
    const ids = cache[p.name]?.shape.contributes.filter((c) => c.kind === 'command').map((c) => c.id) ?? [];
    if (ids.some((id) => id === wanted || id.startsWith(`${wanted} `))) return p;
  }
  const last = words[words.length - 1]!;
  return candidates.find((p) => p.name === last || p.name === words.join('-'));
}

/**
 * Explains `cx-ops <words>` where the last word is the unknown one. `suggestion` is commander's
 * "(Did you mean …?)" line, kept when no plugin is known to provide the command.
 */
export async function explainUnknownCommand(
  kernel: Kernel,
  words: string[],
  suggestion: string,
): Promise<UnknownCommandReport> {
  const command = words.join(' ');
  const candidates = notLoaded(kernel);
  const cache = await readShapeCache(join(kernel.paths.cacheDir, 'shapes.json'));
  const p = providerOf(cache, words, candidates);
  if (p?.status === 'disabled') {
    const switchedOff = !p.builtin && !kernel.config.plugins.enabled;
    return {
      error: new CxError('CX_ERR_PLUGIN_DISABLED', {
        command,
        plugin: p.name,
        fix: switchedOff
          ? `Third-party plugins are switched off in ${kernel.config.file} (plugins.enabled: false). Set it to true, then: cx-ops plugins enable ${p.name}`
          : undefined,
      }),
    };
  }
  if (p?.status === 'failed' && p.error) {
    const message = `'${command}' is not available: plugin '${p.name}' failed to load:\n${p.error.message}`;
    // A monitoring command (doctor) that cannot run is UNKNOWN (3) to Nagios, not CRITICAL (2).
    const exit = statusCommand(cache, p, command) ? 3 : p.error.exitCode;
    return { error: CxError.fromData({ ...p.error.toData(), message, exit, plugin: p.name }), shown: p.error };
  }
  const gone = notFound(kernel);
  const last = words[words.length - 1]!;
  const goneProvider = gone.find((n) => n === last || n === words.join('-'));
  if (goneProvider) {
    return {
      error: new CxError('CX_ERR_USAGE', {
        detail: `'${command}' is not available: plugin '${goneProvider}' is enabled, but it is not in any plugin directory of this run.`,
        hint: `give the directory it was enabled from: ${kernel.command} --plugin-dir DIR ${command}   (or set CX_PLUGIN_PATH=DIR)`,
      }),
    };
  }
  const unknown = `unknown command '${last}'${gone.length ? '' : suggestion}`;
  if (gone.length) {
    return {
      error: new CxError('CX_ERR_USAGE', {
        detail: `${unknown}\nIt may come from a plugin that is enabled but not in any plugin directory of this run: ${gone.join(', ')}${candidates.length ? `; or from one that is not loaded: ${candidates.map((c) => c.name).join(', ')}` : ''}.`,
        hint: `give the directory it was enabled from: ${kernel.command} --plugin-dir DIR ${command}   (or set CX_PLUGIN_PATH=DIR)`,
      }),
    };
  }
  if (candidates.length === 0) {
    return {
      error: new CxError('CX_ERR_USAGE', {
        detail: unknown,
        hint: `cx-ops ${words.slice(0, -1).concat('').join(' ')}--help`,
      }),
    };
  }
  const listed = candidates.map(
    (c) => `${c.name} (${c.status === 'failed' ? `failed to load: ${c.error?.code ?? 'see below'}` : 'disabled'})`,
  );
  return {
    error: new CxError('CX_ERR_USAGE', {
      detail: `${unknown}\nIt may come from a plugin that is not loaded: ${listed.join(', ')}.`,
      hint: `cx-ops plugins list   (then: cx-ops plugins enable NAME${candidates.some((c) => c.status === 'failed') ? ', or fix what the failure below says' : ''})`,
    }),
  };
}
