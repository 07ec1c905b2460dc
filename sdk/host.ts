/**
 * `cx-ops/sdk/host`: for plugins that change the system. The run journal and the
 * one YAML + JSON Schema reader that reports every mistake as file:line:col (field, expected,
 * found). Authoring (define*, results, errors, types) stays in `cx-ops/sdk`.
 */
export { appendJournal } from './journal.js';
export { MAX_ALIAS_COUNT, parseYaml, type FieldPath, type Position, type YamlDocument } from './yaml.js';
export {
  checkSchema,
  describeSchemaError,
  describeSchemaErrors,
  formatPath,
  pointerToPath,
  positionOf,
  type PositionedProblem,
  type SchemaProblem,
  type SchemaValidator,
} from './schema-check.js';
export { readYaml, type ReadYamlOptions } from './read-yaml.js';
export { parsePlainYaml } from './plain-yaml.js';
export { parseStateFile, readStateFile, type StateFileKind } from './state-file.js';
export { shippedSchemaValidator } from './shipped-schema.js';
export { holdStopSignals, releaseStopSignals, takeStopSignals } from './stop-signals.js';
