/**
 * Reading a file cx-ops wrote for itself (state, journals, manifests): the one parse and shape
 * check, so a damaged file is CX_ERR_STATE_INVALID naming the file, what is wrong (JSON syntax,
 * or field, expected and found) and that it must be moved aside, never `Cannot read properties
 * of null` or a silent "nothing there". Used by the kernel (core/state.ts) and, through
 * `cx-ops/sdk/host`, by plugins.
 */
import { CxError } from './errors.js';
import { describeSchemaError, type SchemaValidator } from './schema-check.js';
import type { FsCapability } from './types.js';

/** What the file is, for the message. */
export interface StateFileKind {
  /** e.g. "cx-ops state file", "permissions journal". */
  what: string;
  /** The schema that describes it, e.g. "schemas/state.schema.json". */
  schema: string;
  validate: SchemaValidator;
  /** What moving it aside means, e.g. "the plugins are then at their defaults". */
  consequence?: string;
}

/** Parses the bytes of `file` as JSON and checks them; returns the data or throws CX_ERR_STATE_INVALID. */
export function parseStateFile<T>(bytes: Uint8Array, file: string, kind: StateFileKind): T {
  const fail = (detail: string, cause?: unknown): never => {
    throw new CxError(
      'CX_ERR_STATE_INVALID',
      { file, detail, what: kind.what, schema: kind.schema, consequence: kind.consequence },
      cause ? { cause } : undefined,
    );
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    return fail('is not UTF-8 text', e);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail(`is not JSON (${(e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ')})`, e);
  }
  if (!kind.validate(data)) {
    const p = describeSchemaError(kind.validate.errors, data);
    const found = p.found === undefined ? '' : ` (found: ${JSON.stringify(p.found)?.slice(0, 80)})`;
    fail(`field '${p.field}' ${p.detail}${found}`);
  }
  return data as T;
}

/**
 * Reads and checks a state file through a capability (ctx.localFs: a regular file under the cap);
 * null when it does not exist.
 */
export async function readStateFile<T>(fs: FsCapability, path: string, kind: StateFileKind): Promise<T | null> {
  if (!(await fs.lstat(path))) return null;
  return parseStateFile<T>(await fs.readBytes(path), fs.diskPath(path), kind);
}
