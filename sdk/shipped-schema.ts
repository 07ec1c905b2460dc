/**
 * Validators for the JSON Schemas shipped in schemas/ (beside sdk/ in the repository, and in
 * dist/schemas beside the built SDK), compiled once each with ajv in strict mode.
 */
import { createRequire } from 'node:module';
import type { SchemaValidator } from './schema-check.js';

const require = createRequire(import.meta.url);
const validators = new Map<string, SchemaValidator>();

/** The compiled validator of schemas/`name` (e.g. 'snapshot-manifest.schema.json'). */
export function shippedSchemaValidator(name: string): SchemaValidator {
  let v = validators.get(name);
  if (!v) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    v = new Ajv({ allErrors: false, strict: true, validateFormats: false }).compile(
      require(`../schemas/${name}`) as object,
    );
    validators.set(name, v);
  }
  return v;
}
