/**
 * JSON Schema results as positioned errors: the one formatter of ajv errors ("field, expected,
 * found") and the one check that turns a failed validation of a YAML/JSON document into a
 * catalogue CxError naming file:line:col, the field, what was expected and what was found.
 */
import type { ErrorObject } from 'ajv';
import { CxError, showable, type ErrorCode } from './errors.js';
import type { FieldPath, Position, YamlDocument } from './yaml.js';

/** One schema problem: where (field path) and what. */
export interface SchemaProblem {
  /** Dotted field path, e.g. "permissions.exec[0]"; "(root)" for the whole document. */
  field: string;
  path: FieldPath;
  /** What was expected, e.g. "must be of type string". */
  detail: string;
  /** The value found there (undefined for a missing field). */
  found: unknown;
}

/** A validator as ajv compiles it (a function with `errors` after a failed call). */
export interface SchemaValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** ['a', 0, 'b'] -> "a[0].b" */
export function formatPath(path: FieldPath): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Splits an ajv instancePath ("/permissions/exec/0") into path segments. */
export function pointerToPath(pointer: string): FieldPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(data: unknown, path: FieldPath): unknown {
  let cur: unknown = data;
  for (const k of path) {
    if (cur == null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

/** One ajv error as a readable problem (the keyword kept, for callers that word some their own way). */
function describeOne(e: ErrorObject, data: unknown): SchemaProblem & { keyword: string } {
  const path = pointerToPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  let detail: string;
  let noValue = false;
  switch (e.keyword) {
    case 'additionalProperties':
      path.push(String(params.additionalProperty));
      detail = 'is not allowed here (unknown field)';
      break;
    case 'required':
      path.push(String(params.missingProperty));
      detail = 'is required but missing';
      noValue = true;
      break;
    case 'enum':
      detail = `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'const':
      detail = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'type':
      detail = `must be of type ${params.type}`;
      break;
    case 'pattern':
      detail = `must match the pattern ${params.pattern}`;
      break;
    case 'propertyNames':
      path.push(String(params.propertyName));
      detail = 'is not a valid name here';
      noValue = true;
      break;
    default:
      detail = e.message ?? 'is invalid';
  }
  return {
    keyword: e.keyword,
    field: formatPath(path),
    path,
    detail,
    found: noValue ? undefined : showable(valueAt(data, path)),
  };
}

/** The first ajv error as a readable problem. */
export function describeSchemaError(errors: ErrorObject[] | null | undefined, data: unknown): SchemaProblem {
  const e = errors?.[0];
  if (!e) return { field: '(root)', path: [], detail: 'is invalid', found: undefined };
  const { keyword: _, ...p } = describeOne(e, data);
  return p;
}

/**
 * Every ajv error (of a validator compiled with allErrors) as a readable problem, once each:
 * the branch-bookkeeping errors of if/then and oneOf are left out, as they repeat the errors of
 * the branch that was chosen. `keyword` lets a caller word a problem its own way.
 */
export function describeSchemaErrors(
  errors: ErrorObject[] | null | undefined,
  data: unknown,
): Array<SchemaProblem & { keyword: string }> {
  const out: Array<SchemaProblem & { keyword: string }> = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'oneOf') continue;
    const p = describeOne(e, data);
    const key = `${p.path.join('/')}|${p.detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** A schema problem with its position in the document. */
export type PositionedProblem = SchemaProblem & Partial<Position>;

/** Where a problem lies: an unknown field at its key, anything else at its value. */
export function positionOf(doc: Pick<YamlDocument, 'positionOf'>, p: SchemaProblem): Partial<Position> {
  const unknownField = /unknown field|not a valid name/.test(p.detail);
  return doc.positionOf(p.path, unknownField) ?? {};
}

/**
 * Validates `doc.data`; on failure throws CxError(`code`) with file, line, column, field, detail
 * and found (plus `extra`). Returns the data, typed by the caller.
 */
export function checkSchema<T>(
  doc: YamlDocument,
  validate: SchemaValidator,
  code: ErrorCode,
  extra: Record<string, unknown> = {},
): T {
  if (validate(doc.data)) return doc.data as T;
  const p = describeSchemaError(validate.errors, doc.data);
  const { line, column } = positionOf(doc, p);
  throw new CxError(code, {
    file: doc.file,
    source: doc.file,
    line,
    column,
    field: p.field,
    detail: p.detail,
    found: p.found,
    ...extra,
  });
}
