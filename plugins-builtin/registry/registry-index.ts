/**
 * The registry index (index.yaml, schema schemas/registry-index.schema.json): every published
 * version of every plugin with its cx_version range, requested permissions, archive URL,
 * sha256 and signature. Parsing reports a malformed index as `source:line: field '...'`.
 */
import { CxError } from 'cx-ops/sdk';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { stringify } from 'yaml';
import { describeSchemaError, parseYamlSource, YamlSyntaxError } from './yaml-source.js';
import { registryErrors } from './errors.js';

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

const require = createRequire(import.meta.url);
const validators = new Map<string, ValidateFunction>();

/** A validator for a schema shipped in schemas/ (dist/schemas beside the compiled plugins). */
export function schemaValidator(name: string): ValidateFunction {
  let v = validators.get(name);
  if (!v) {
    const schema = JSON.parse(readFileSync(fileURLToPath(new URL(`../../schemas/${name}`, import.meta.url)), 'utf8'));
    const { Ajv } = require('ajv') as typeof import('ajv');
    v = new Ajv({ allErrors: false, strict: true }).compile(schema);
    validators.set(name, v);
  }
  return v;
}

export function emptyIndex(): RegistryIndex {
  return { api_version: 1, plugins: {} };
}

/** The error of a document that does not match its schema (a registry index, or a plugin.yaml inside an archive). */
function invalid(code: 'CX_ERR_REGISTRY_INDEX_INVALID' | 'CX_ERR_MANIFEST_INVALID', p: { source: string; file: string; line?: number; field: string; detail: string; found?: unknown }): CxError {
  return code === 'CX_ERR_MANIFEST_INVALID' ? new CxError(code, p) : registryErrors.CX_ERR_REGISTRY_INDEX_INVALID(p);
}

/**
 * Parses YAML text and validates it against a shipped schema; any problem is `code` with the
 * source, line, field, detail and found value.
 */
export function parseValidated(text: string, source: string, schema: string, code: 'CX_ERR_REGISTRY_INDEX_INVALID' | 'CX_ERR_MANIFEST_INVALID'): unknown {
  let doc;
  try {
    doc = parseYamlSource(text);
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw invalid(code, { source, file: source, line: e.line, field: '(root)', detail: `is not valid YAML: ${e.message}` });
    throw e;
  }
  const validate = schemaValidator(schema);
  if (!validate(doc.data)) {
    const p = describeSchemaError(validate.errors, doc.data);
    throw invalid(code, { source, file: source, line: doc.lineOf(p.path), field: p.field, detail: p.detail, found: p.found });
  }
  return doc.data;
}

/** Parses and validates index text; `source` names where it came from (URL or path). */
export function parseIndex(text: string, source: string): RegistryIndex {
  return parseValidated(text, source, 'registry-index.schema.json', 'CX_ERR_REGISTRY_INDEX_INVALID') as RegistryIndex;
}

/** The index as YAML, plugins and versions sorted. */
export function serializeIndex(index: RegistryIndex): string {
  const plugins: Record<string, IndexVersion[]> = {};
  for (const name of Object.keys(index.plugins).sort()) plugins[name] = index.plugins[name]!;
  return `# cx-ops plugin registry index (schemas/registry-index.schema.json); written by cx-ops registry publish\n${stringify({ ...index, plugins }, { lineWidth: 0 })}`;
}
