/**
 * The plain-data description of a sandboxed plugin (what it contributes, taps, declares),
 * validated on the host side from the JSON text the isolate produced.
 */
import type { ContributionKindDefinition, HookDeclaration, Json } from '../../sdk/types.js';

export interface PluginShape {
  name: string;
  contributes: Array<{ kind: string; id: string; meta: Record<string, Json>; configField?: string }>;
  taps: Array<{ hook: string; priority?: number; index: number }>;
  kinds: ContributionKindDefinition[];
  hooks: HookDeclaration[];
  hasActivate: boolean;
  hasDeactivate: boolean;
  /** The plugin's own error codes (defineErrors), with their exit codes. */
  errors?: Array<{ code: string; exit: number; summary: string }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;

/** Parses and checks the shape text; returns the shape or a message saying what is wrong. */
export function parseShape(text: string): PluginShape | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'its definition is not plain data';
  }
  if (!isObject(v)) return 'its default export is not an object';
  if (!isString(v.name)) return "its definition has no name (definePlugin({ name: '...' }))";
  const out: PluginShape = {
    name: v.name,
    contributes: [],
    taps: [],
    kinds: [],
    hooks: [],
    hasActivate: v.hasActivate === true,
    hasDeactivate: v.hasDeactivate === true,
  };
  for (const [i, c] of (v.contributes as unknown[]).entries()) {
    if (!isObject(c) || !isString(c.kind) || !isString(c.id) || !isObject(c.meta))
      return `contribution #${i} needs a kind, an id and a meta object`;
    out.contributes.push({
      kind: c.kind,
      id: c.id,
      meta: c.meta as Record<string, Json>,
      ...(isString(c.configField) ? { configField: c.configField } : {}),
    });
  }
  for (const t of v.taps as unknown[]) {
    if (!isObject(t) || !isString(t.hook) || !Number.isInteger(t.index)) return 'a tap needs a hook name';
    if (t.priority !== null && typeof t.priority !== 'number')
      return `the tap on '${t.hook}' has a priority that is not a number`;
    out.taps.push({
      hook: t.hook,
      index: t.index as number,
      ...(typeof t.priority === 'number' ? { priority: t.priority } : {}),
    });
  }
  for (const k of v.kinds as unknown[]) {
    if (!isObject(k) || !isString(k.kind) || typeof k.description !== 'string')
      return 'a declared kind needs a kind and a description';
    if (k.metaSchema !== undefined && !isObject(k.metaSchema))
      return `kind '${k.kind}' has a metaSchema that is not an object`;
    out.kinds.push({
      kind: k.kind,
      description: k.description,
      ...(k.metaSchema ? { metaSchema: k.metaSchema as Record<string, Json> } : {}),
    });
  }
  for (const e of (Array.isArray(v.errors) ? v.errors : []) as unknown[]) {
    if (
      !isObject(e) ||
      !isString(e.code) ||
      !/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(e.code) ||
      !Number.isInteger(e.exit) ||
      (e.exit as number) < 1 ||
      (e.exit as number) > 125 ||
      typeof e.summary !== 'string'
    ) {
      return 'a declared error code needs a code, an exit code from 1 to 125 and a summary (defineErrors)';
    }
    (out.errors ??= []).push({ code: e.code, exit: e.exit as number, summary: e.summary });
  }
  for (const h of v.hooks as unknown[]) {
    if (
      !isObject(h) ||
      !isString(h.name) ||
      typeof h.description !== 'string' ||
      !['series', 'bail', 'waterfall'].includes(h.type as string)
    ) {
      return "a declared hook needs a name, a description and a type of 'series', 'bail' or 'waterfall'";
    }
    out.hooks.push({ name: h.name, description: h.description, type: h.type as HookDeclaration['type'] });
  }
  return out;
}
