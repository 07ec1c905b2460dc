/**
 * Validators for the JSON Schemas shipped in schemas/ that the registry reads (a registry index,
 * registries.yaml, the lock file, plugin.yaml), through the SDK's one loader.
 */
import type { ValidateFunction } from 'ajv';
import { shippedSchemaValidator } from 'cx-ops/sdk/host';

export type SchemaName =
  'registry-index.schema.json' | 'registries.schema.json' | 'plugins-lock.schema.json' | 'plugin.schema.json';

/** The compiled validator of a shipped schema (compiled once, ajv strict). */
export function schemaValidator(name: SchemaName): ValidateFunction {
  return shippedSchemaValidator(name) as ValidateFunction;
}
