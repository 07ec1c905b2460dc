/**
 * Validators for the JSON Schemas shipped in schemas/ (a registry index, registries.yaml, the
 * lock file, plugin.yaml). The schema files are loaded as JSON modules: ../../schemas is the
 * repository's schemas/ beside the TypeScript sources and dist/schemas beside the built ones.
 */
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
const validators = new Map<string, ValidateFunction>();

export type SchemaName =
  'registry-index.schema.json' | 'registries.schema.json' | 'plugins-lock.schema.json' | 'plugin.schema.json';

/** The compiled validator of a shipped schema (compiled once, ajv strict). */
export function schemaValidator(name: SchemaName): ValidateFunction {
  let v = validators.get(name);
  if (!v) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    v = new Ajv({ allErrors: false, strict: true }).compile(require(`../../schemas/${name}`) as object);
    validators.set(name, v);
  }
  return v;
}
