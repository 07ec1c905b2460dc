/**
 * YAML text of the registry's files (an index, registries.yaml, a lock file) through the SDK's
 * one YAML reader and schema formatter (cx-ops/sdk/host), for callers that name the file later.
 */
import { isCxError } from 'cx-ops/sdk';
import { describeSchemaError, formatPath, parseYaml, type FieldPath, type SchemaProblem } from 'cx-ops/sdk/host';

export { describeSchemaError, formatPath, type SchemaProblem };

export interface YamlSource {
  data: unknown;
  /** 1-based line of the node at a path; the closest parent's line when absent (`atKey`: the key's line). */
  lineOf(path: FieldPath, atKey?: boolean): number | undefined;
}

/** A YAML syntax problem: line, column and message (the caller knows the file). */
export class YamlSyntaxError extends Error {
  constructor(readonly line: number, readonly column: number, detail: string) {
    super(detail);
  }
}

export function parseYamlSource(text: string | Uint8Array): YamlSource {
  try {
    return parseYaml(text, '(text)');
  } catch (e) {
    if (isCxError(e) && e.code === 'CX_ERR_YAML_SYNTAX') throw new YamlSyntaxError(e.params.line, e.params.column, e.params.detail);
    throw e;
  }
}
