/**
 * JSON Schema validation (ajv) for every file format. Errors become "field, expected, found"
 * problems through the SDK's one formatter (sdk/schema-check.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ValidateFunction } from 'ajv';

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
  const candidates = [
    new URL(`../schemas/${name}`, import.meta.url),
    new URL(`../../schemas/${name}`, import.meta.url),
  ];
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

export { describeSchemaError, type SchemaProblem } from '../sdk/schema-check.js';
