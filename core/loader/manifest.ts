/**
 * plugin.yaml: read, parse (with positions) and validate against schemas/plugin.schema.json.
 */
import { join } from 'node:path';
import { CxError } from '../errors.js';
import { describeSchemaError, shippedValidator } from '../schema.js';
import type { PluginManifest } from '../../schemas/types/plugin.js';

export type { PluginManifest };

export const MANIFEST_FILE = 'plugin.yaml';

/** Reads and validates dir/plugin.yaml. Throws CxError with file, line and field. */
export async function readManifest(dir: string): Promise<{ manifest: PluginManifest; file: string }> {
  const file = join(dir, MANIFEST_FILE);
  const { readYamlFile } = await import('./yaml.js');
  const yaml = await readYamlFile(file);
  if (!yaml) throw new CxError('CX_ERR_MANIFEST_MISSING', { dir });
  return { manifest: validateManifest(yaml.data, file, yaml.lineOf), file };
}

/** Validates manifest data; `lineOf` maps a field path to its line for the message. */
export function validateManifest(
  data: unknown,
  file: string,
  lineOf: (path: Array<string | number>) => number | undefined = () => undefined,
): PluginManifest {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new CxError('CX_ERR_MANIFEST_INVALID', {
      file,
      field: '(root)',
      detail: 'must be a mapping of fields (name, version, ...)',
      found: data,
    });
  }
  const validate = shippedValidator('plugin.schema.json');
  if (!validate(data)) {
    const p = describeSchemaError(validate.errors, data);
    throw new CxError('CX_ERR_MANIFEST_INVALID', {
      file,
      line: lineOf(p.path),
      field: p.field,
      detail: p.detail,
      found: p.found,
    });
  }
  return data as PluginManifest;
}
