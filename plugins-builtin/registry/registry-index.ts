/**
 * The registry index (index.yaml, schema schemas/registry-index.schema.json): every published
 * version of every plugin with its cx_version range, requested permissions, archive URL,
 * sha256 and signature. Parsing reports a malformed index as `source:line: field '...'`.
 */
import { CxError, isCxError } from 'cx-ops/sdk';
import { describeSchemaError, parseYaml, type YamlDocument } from 'cx-ops/sdk/host';
import { stringify } from 'yaml';
import { registryErrors } from './errors.js';
import { schemaValidator, type SchemaName } from './schemas.js';

/** An ed25519 signature as the index stores it. */
export interface IndexSignature {
  algorithm: 'ed25519';
  key_id: string;
  public_key: string;
  signature: string;
}

/** One published version of a plugin. */
export interface IndexVersion {
  version: string;
  description: string;
  author?: string;
  license?: string;
  homepage?: string;
  keywords?: string[];
  plugin_type: string;
  cx_version: string;
  tier?: 'trusted' | 'sandboxed';
  permissions: string[];
  archive: string;
  sha256: string;
  size?: number;
  signature?: IndexSignature;
  published?: string;
}

export interface RegistryIndex {
  api_version: 1;
  generated?: string;
  plugins: Record<string, IndexVersion[]>;
}

export const INDEX_FILE = 'index.yaml';

export function emptyIndex(): RegistryIndex {
  return { api_version: 1, plugins: {} };
}

/** The error of a document that does not match its schema (a registry index, or a plugin.yaml inside an archive). */
function invalid(
  code: 'CX_ERR_REGISTRY_INDEX_INVALID' | 'CX_ERR_MANIFEST_INVALID',
  p: { source: string; file: string; line?: number; field: string; detail: string; found?: unknown },
): CxError {
  return code === 'CX_ERR_MANIFEST_INVALID' ? new CxError(code, p) : registryErrors.CX_ERR_REGISTRY_INDEX_INVALID(p);
}

/**
 * Parses YAML text and validates it against a shipped schema; any problem is `code` with the
 * source, line, field, detail and found value.
 */
export function parseValidated(
  text: string | Uint8Array,
  source: string,
  schema: SchemaName,
  code: 'CX_ERR_REGISTRY_INDEX_INVALID' | 'CX_ERR_MANIFEST_INVALID',
): unknown {
  let doc: YamlDocument;
  try {
    doc = parseYaml(text, source);
  } catch (e) {
    if (isCxError(e) && e.code === 'CX_ERR_YAML_SYNTAX')
      throw invalid(code, {
        source,
        file: source,
        line: e.params.line,
        field: '(root)',
        detail: `is not valid YAML: ${e.params.detail}`,
      });
    throw e;
  }
  const validate = schemaValidator(schema);
  if (!validate(doc.data)) {
    const p = describeSchemaError(validate.errors, doc.data);
    throw invalid(code, {
      source,
      file: source,
      line: doc.lineOf(p.path),
      field: p.field,
      detail: p.detail,
      found: p.found,
    });
  }
  return doc.data;
}

/** Parses and validates index text; `source` names where it came from (URL or path). */
export function parseIndex(text: string | Uint8Array, source: string): RegistryIndex {
  return parseValidated(text, source, 'registry-index.schema.json', 'CX_ERR_REGISTRY_INDEX_INVALID') as RegistryIndex;
}

/** The index as YAML, plugins and versions sorted. */
export function serializeIndex(index: RegistryIndex): string {
  const plugins: Record<string, IndexVersion[]> = {};
  for (const name of Object.keys(index.plugins).sort()) plugins[name] = index.plugins[name]!;
  return `# cx-ops plugin registry index (schemas/registry-index.schema.json); written by cx-ops registry publish\n${stringify({ ...index, plugins }, { lineWidth: 0 })}`;
}
