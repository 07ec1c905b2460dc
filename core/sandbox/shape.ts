/**
 * The plain-data description of a plugin (what it contributes, taps, declares), validated
 * against schemas/plugin-shape.schema.json: a sandboxed plugin's from the JSON text its isolate
 * produced, a trusted plugin's from its definition (core/kernel/code-loading.ts), a cached one
 * when the shape cache is read. Its type is generated from the same schema.
 */
import type { ValidateFunction } from 'ajv';
import { describeSchemaError, shippedValidator } from '../schema.js';
import type { PluginShape } from '../../schemas/types/plugin-shape.js';

export type { PluginShape };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keeps only `keys` of an object (anything else is left for the schema to report). */
const pick = (v: unknown, keys: string[]): unknown =>
  isObject(v) ? Object.fromEntries(keys.filter((k) => k in v).map((k) => [k, v[k]])) : v;

/**
 * Declared kinds and hooks come from the definition as the plugin wrote them (often tokens from
 * defineKind/defineHook): fields the shape does not carry are dropped, as they always were. A tap
 * without a priority crosses the sandbox as `priority: null`.
 */
function normalize(v: Record<string, unknown>): Record<string, unknown> {
  const out = { ...v };
  if (Array.isArray(v.kinds)) out.kinds = v.kinds.map((k) => pick(k, ['kind', 'description', 'metaSchema']));
  if (Array.isArray(v.hooks)) out.hooks = v.hooks.map((h) => pick(h, ['name', 'description', 'type']));
  if (Array.isArray(v.taps))
    out.taps = v.taps.map((t) => (isObject(t) && t.priority === null ? pick(t, ['hook', 'index']) : t));
  if (Array.isArray(v.errors) && v.errors.length === 0) delete out.errors;
  return out;
}

/** What each part of a shape needs, said as a plugin author writes it; `item` is the offending element. */
function needs(section: unknown, index: number | undefined, item: unknown, field: string): string {
  const o = isObject(item) ? item : {};
  const str = (x: unknown) => (typeof x === 'string' ? x : undefined);
  if (index === undefined && section !== 'name') return 'its definition is not a plugin definition';
  switch (section) {
    case 'name':
      return "its definition has no name (definePlugin({ name: '...' }))";
    case 'contributes': {
      const which = str(o.kind) && str(o.id) ? ` (${o.kind} '${o.id}')` : '';
      return `contribution #${index}${which} needs a kind, an id and a meta object`;
    }
    case 'taps':
      return field.endsWith('.priority') && str(o.hook)
        ? `the tap on '${o.hook}' has a priority that is not a number`
        : `tap #${index} needs a hook name`;
    case 'kinds':
      return field.endsWith('.metaSchema') && str(o.kind)
        ? `kind '${o.kind}' has a metaSchema that is not an object`
        : 'a declared kind needs a kind and a description';
    case 'hooks':
      return "a declared hook needs a name, a description and a type of 'series', 'bail' or 'waterfall'";
    case 'errors':
      return 'a declared error code needs a code, an exit code from 1 to 125 and a summary (defineErrors)';
    default:
      return 'its definition is not a plugin definition';
  }
}

/** A value as the message shows it: JSON, cut short. */
function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Checks a shape given as data; returns it or a message naming the field, what it must be and what was found. */
export function checkShape(data: unknown): PluginShape | string {
  if (!isObject(data)) return 'its default export is not an object';
  const v = normalize(data);
  const validate = shippedValidator('plugin-shape.schema.json') as ValidateFunction<PluginShape>;
  if (validate(v)) return v;
  const p = describeSchemaError(validate.errors, v);
  const [section, index] = p.path;
  const item = typeof index === 'number' ? (v[section as string] as unknown[])[index] : undefined;
  const found = p.found === undefined ? '' : `, found ${shown(p.found)}`;
  return `${needs(section, typeof index === 'number' ? index : undefined, item, p.field)}: ${p.field} ${p.detail}${found}`;
}

/** Parses and checks the shape text; returns the shape or a message saying what is wrong. */
export function parseShape(text: string): PluginShape | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'its definition is not plain data';
  }
  return checkShape(v);
}
