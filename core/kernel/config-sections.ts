/**
 * Top-level sections of config.yaml that nothing reads. A section whose name is close to one a
 * plugin reads (`dcotor:` for `doctor:`) is a typo: that plugin fails with CX_ERR_CONFIG_INVALID
 * naming the line and the close name, so its settings are not silently left at their defaults.
 * A section close to nothing (a plugin that was removed) is a one-line note.
 */
import { closest } from '../../sdk/closest.js';
import type { LoadedConfig } from '../config.js';
import { CxError } from '../errors.js';
import type { PluginManifest } from '../loader/manifest.js';
import { shippedSchema } from '../schema.js';

export interface UnknownSections {
  /** Plugin name -> the error that fails it (the typo'd section is meant for it). */
  typos: Map<string, CxError>;
  /** Errors for typos of the kernel's own sections (`plugins:`, `audit:`). */
  kernel: CxError[];
  notes: string[];
}

/** `command`: how the operator runs cx-ops (with --root and friends), for the note's hint. */
export function unknownSections(
  config: LoadedConfig,
  manifests: Iterable<PluginManifest>,
  command: string,
): UnknownSections {
  const readers = new Map<string, string[]>();
  for (const m of manifests) {
    const key = m.config_key ?? m.name;
    readers.set(key, [...(readers.get(key) ?? []), m.name]);
  }
  const kernelKeys = Object.keys((shippedSchema('config.schema.json').properties ?? {}) as Record<string, unknown>);
  const known = [...kernelKeys, ...readers.keys()];
  const out: UnknownSections = { typos: new Map(), kernel: [], notes: [] };
  for (const section of Object.keys(config.data)) {
    if (known.includes(section)) continue;
    const line = config.yaml?.lineOf([section], true);
    const where = `${config.file}${line ? `:${line}` : ''}`;
    const near = closest(section, known, 1);
    if (!near.length) {
      out.notes.push(
        `${where}: no installed plugin reads the section '${section}:', so it is ignored (delete it, or install the plugin that reads it; '${command} plugins info NAME' shows the section a plugin reads, as config_key)`,
      );
      continue;
    }
    const error = new CxError('CX_ERR_CONFIG_INVALID', {
      file: config.file,
      line,
      field: section,
      detail: `is not a section any installed plugin reads (did you mean '${near[0]}'?): rename it to '${near[0]}:'`,
      plugin: readers.get(near[0])?.[0] ?? 'kernel',
    });
    const plugins = readers.get(near[0]);
    if (!plugins) out.kernel.push(error);
    for (const name of plugins ?? []) if (!out.typos.has(name)) out.typos.set(name, error);
  }
  return out;
}
