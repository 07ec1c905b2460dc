/**
 * JSON Schema validation (ajv) for every file format, with errors turned into
 * "field, expected, found" triples that point at a line of the source file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

/** ajv itself is loaded only when a schema must be compiled at run time (plugin config schemas). */
function instance(): Ajv {
  if (!ajv) {
    const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
    ajv = new AjvClass({ allErrors: false, strict: true, useDefaults: true });
  }
  return ajv;
}

/** The build precompiles the kernel's schemas (dist/core/validators/*.cjs); from sources, compile. */
function precompiled(name: string): ValidateFunction | undefined {
  try {
    const mod = require(`./validators/${name.replace(/\.json$/, '.cjs')}`);
    return (mod.default ?? mod) as ValidateFunction;
  } catch {
    return undefined;
  }
}

/** Loads a schema shipped in schemas/ (next to the compiled kernel in dist/schemas). */
export function shippedSchema(name: string): Record<string, unknown> {
  const candidates = [new URL(`../schemas/${name}`, import.meta.url), new URL(`../../schemas/${name}`, import.meta.url)];
  for (const url of candidates) {
    try {
      return JSON.parse(readFileSync(fileURLToPath(url), 'utf8'));
    } catch {
      /* try the next location */
    }
  }
  throw new Error(`schema ${name} is not shipped`);
}

/** A validator for a shipped schema, compiled once. */
export function shippedValidator(name: string): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    v = precompiled(name) ?? instance().compile(shippedSchema(name));
    compiled.set(name, v);
  }
  return v;
}

/** A validator for a schema given as data (a plugin's config_schema). Defaults are applied. */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  return instance().compile(schema);
}

export interface SchemaProblem {
  /** Dotted field path, e.g. "permissions.exec[0]". */
  field: string;
  path: Array<string | number>;
  /** What was expected. */
  detail: string;
  found: unknown;
}

/** The first ajv error as a readable problem. */
export function describeSchemaError(errors: ErrorObject[] | null | undefined, data: unknown): SchemaProblem {
  const e = errors?.[0];
  if (!e) return { field: '(root)', path: [], detail: 'is invalid', found: undefined };
  const path = pointerToPath(e.instancePath);
  let detail: string;
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      path.push(extra);
      detail = 'is not allowed here (unknown field)';
      break;
    }
    case 'required':
      path.push((e.params as { missingProperty: string }).missingProperty);
      detail = 'is required but missing';
      break;
    case 'enum':
      detail = `must be one of: ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'type':
      detail = `must be of type ${(e.params as { type: string }).type}`;
      break;
    case 'pattern':
      detail = `must match the pattern ${(e.params as { pattern: string }).pattern}`;
      break;
    default:
      detail = e.message ?? 'is invalid';
  }
  const found = e.keyword === 'required' ? undefined : valueAt(data, path);
  return { field: formatPath(path), path, detail, found };
}

function valueAt(data: unknown, path: Array<string | number>): unknown {
  let cur: any = data;
  for (const k of path) {
    if (cur == null || typeof cur !== 'object') return undefined;
    cur = cur[k as any];
  }
  return cur;
}

/** ['a', 0, 'b'] -> "a[0].b" */
export function formatPath(path: Array<string | number>): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Splits an ajv instancePath ("/permissions/exec/0") into path segments. */
export function pointerToPath(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
