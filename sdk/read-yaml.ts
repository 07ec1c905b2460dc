/** Reading a YAML or JSON file through a capability, checked against a schema, with positions. */
import type { ErrorCode } from './errors.js';
import { checkSchema, type SchemaValidator } from './schema-check.js';
import type { FsCapability } from './types.js';
import { parseYaml, type YamlDocument } from './yaml.js';

export interface ReadYamlOptions {
  /** The schema the data must satisfy, and the catalogue code of a mismatch. */
  schema?: { validate: SchemaValidator; code: ErrorCode; extra?: Record<string, unknown> };
  /** Refuse files larger than this (default: the capability's cap). */
  maxBytes?: number;
}

/**
 * Reads `path` with `fs` (ctx.fs for host files, ctx.localFs for cx-ops' own and typed paths;
 * audited, a regular file under the cap), parses it as YAML (JSON is YAML) and checks it: any
 * problem is a CxError naming the file with line and column. Resolves null when it is absent.
 */
export async function readYaml(
  fs: FsCapability,
  path: string,
  options: ReadYamlOptions = {},
): Promise<YamlDocument | null> {
  if (!(await fs.lstat(path))) return null;
  const doc = parseYaml(await fs.readBytes(path, { maxBytes: options.maxBytes }), fs.diskPath(path));
  if (options.schema) checkSchema(doc, options.schema.validate, options.schema.code, options.schema.extra);
  return doc;
}
