/**
 * YAML text with line numbers for field paths, and ajv errors as "field, detail, found", so a
 * malformed index or registries file is reported as `source:line: field 'x' ...`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { ErrorObject } from 'ajv';

export interface YamlSource {
  data: unknown;
  /**
   * 1-based line of the node at a path; the closest parent's line when absent. With `atKey`, the
   * line of the last key itself (for an unknown field whose value starts on a later line).
   */
  lineOf(path: Array<string | number>, atKey?: boolean): number | undefined;
}

/** A YAML syntax problem: line and message. */
export class YamlSyntaxError extends Error {
  constructor(readonly line: number, readonly column: number, detail: string) {
    super(detail);
  }
}

export function parseYamlSource(text: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0] ?? lines.linePos(first.pos[0]);
    throw new YamlSyntaxError(pos.line, pos.col, first.message.split('\n')[0]!);
  }
  const lineOf = (path: Array<string | number>, atKey = false): number | undefined => {
    let node = doc.contents as Node | null | undefined;
    let last: number | undefined;
    for (const [i, key] of path.entries()) {
      if (node?.range) last = lines.linePos(node.range[0]).line;
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
        if (!pair) return last;
        if (isScalar(pair.key) && pair.key.range) last = lines.linePos(pair.key.range[0]).line;
        if (atKey && i === path.length - 1) return last;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key] as Node | null;
      } else return last;
    }
    return node?.range ? lines.linePos(node.range[0]).line : last;
  };
  return { data: doc.toJS({ maxAliasCount: 100 }), lineOf };
}

export interface SchemaProblem {
  field: string;
  path: Array<string | number>;
  detail: string;
  found: unknown;
}

/** ['plugins', 'x', 0, 'sha256'] -> "plugins.x[0].sha256" */
export function formatPath(path: Array<string | number>): string {
  if (!path.length) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The first ajv error as a readable problem. */
export function describeSchemaError(errors: ErrorObject[] | null | undefined, data: unknown): SchemaProblem {
  const e = errors?.[0];
  if (!e) return { field: '(root)', path: [], detail: 'is invalid', found: undefined };
  const path: Array<string | number> = e.instancePath
    ? e.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s))
    : [];
  let detail: string;
  const params = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'additionalProperties':
      path.push(params.additionalProperty);
      detail = 'is not allowed here (unknown field)';
      break;
    case 'required':
      path.push(params.missingProperty);
      detail = 'is required but missing';
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
      path.push(params.propertyName);
      detail = 'is not a valid plugin name (kebab-case)';
      break;
    default:
      detail = e.message ?? 'is invalid';
  }
  let found: any = data;
  for (const k of path) found = found == null || typeof found !== 'object' ? undefined : found[k as any];
  return { field: formatPath(path), path, detail, found: e.keyword === 'required' || e.keyword === 'propertyNames' ? undefined : found };
}
