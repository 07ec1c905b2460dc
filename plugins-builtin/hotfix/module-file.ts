/**
 * Reads a hotfix module's index (index.json, index.yaml or index.yml) and checks it against
 * schemas/hotfix-index.schema.json. Every problem is reported at once, each with the file, line,
 * operation id and field (CX_ERR_HOTFIX_INVALID, exit 2), before anything is changed.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { CxError, type PluginContext } from 'cx-ops/sdk';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { DEFAULT_BACKUP_DIR, DEFAULT_LOG_FILE, type HotfixModule, type OperationBase } from './module-types.js';

/** One thing wrong with a module, for CX_ERR_HOTFIX_INVALID. */
export interface ModuleProblem {
  line?: number;
  /** The operation's id, when the problem is inside one. */
  operation?: string;
  field: string;
  detail: string;
  found?: unknown;
}

export const INDEX_NAMES = ['index.json', 'index.yaml', 'index.yml'];

/** The error for a list of problems of one module file. */
export function moduleInvalid(file: string, problems: ModuleProblem[]): CxError {
  return new CxError('CX_ERR_HOTFIX_INVALID', { plugin: 'hotfix', file, problems });
}

const require = createRequire(import.meta.url);
let validator: ValidateFunction | null = null;

async function schemaValidator(ctx: PluginContext<unknown>): Promise<ValidateFunction> {
  if (!validator) {
    // The schema ships in schemas/ (dist/schemas beside the compiled plugins).
    const file = fileURLToPath(new URL('../../schemas/hotfix-index.schema.json', import.meta.url));
    const { Ajv } = require('ajv') as typeof import('ajv');
    validator = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(
      JSON.parse(await ctx.localFs.readFile(file)),
    );
  }
  return validator;
}

/** Line lookup for a path of keys and indexes in a parsed document. */
function lineFinder(doc: ReturnType<typeof parseDocument>, lc: LineCounter) {
  return (path: Array<string | number>): number | undefined => {
    let node = doc.contents as Node | null | undefined;
    let last: number | undefined;
    for (const key of path) {
      if (node?.range) last = lc.linePos(node.range[0]).line;
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
        if (!pair) return last;
        if (isScalar(pair.key) && pair.key.range) last = lc.linePos(pair.key.range[0]).line;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof key === 'number') node = node.items[key] as Node | null;
      else return last;
    }
    return node?.range ? lc.linePos(node.range[0]).line : last;
  };
}

function pathOf(e: ErrorObject): Array<string | number> {
  if (!e.instancePath) return [];
  return e.instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function detailOf(e: ErrorObject, path: Array<string | number>): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      path.push(String(p.additionalProperty));
      return 'is not a field of this operation type (unknown field)';
    case 'required':
      path.push(String(p.missingProperty));
      return 'is required but missing';
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'type':
      return `must be of type ${p.type}`;
    case 'pattern':
      return `must match the pattern ${p.pattern}`;
    case 'not':
      return 'must not contain "." or ".." path components';
    default:
      return e.message ?? 'is invalid';
  }
}

/** "operations[2].permissions.mode" -> "permissions.mode" inside the operation. */
function fieldName(path: Array<string | number>): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('') || '(root)';
}

/** Turns schema errors into problems, naming the operation id and its field. */
function schemaProblems(
  errors: ErrorObject[],
  data: unknown,
  lineOf: (p: Array<string | number>) => number | undefined,
): ModuleProblem[] {
  const out: ModuleProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'oneOf') continue;
    const path = pathOf(e);
    const detail = detailOf(e, path);
    let found: unknown = data;
    for (const k of path)
      found = found == null || typeof found !== 'object' ? undefined : (found as Record<string | number, unknown>)[k];
    const inOp = path[0] === 'operations' && typeof path[1] === 'number';
    const opId = inOp
      ? (data as { operations?: Array<{ id?: string }> } | null)?.operations?.[path[1] as number]?.id
      : undefined;
    const field = inOp ? fieldName(path.slice(2)) : fieldName(path);
    const key = `${path.join('/')}|${detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      line: lineOf(path),
      ...(inOp ? { operation: typeof opId === 'string' ? opId : `operations[${path[1]}]` } : {}),
      field: inOp && field === '(root)' ? `operations[${path[1]}]` : field,
      detail,
      ...(e.keyword === 'required' || found === undefined || (typeof found === 'object' && found !== null)
        ? {}
        : { found }),
    });
  }
  return out;
}

/** Finds the index file of a module directory. */
export async function findIndex(ctx: PluginContext<unknown>, dir: string): Promise<string> {
  const st = await ctx.localFs.stat(dir);
  if (!st || st.type !== 'directory') {
    throw new CxError('CX_ERR_USAGE', {
      plugin: 'hotfix',
      detail: `hotfix: ${dir} is not a directory; a hotfix module is a directory with index.json (or index.yaml) and src/.`,
      hint: 'cx-ops hotfix check DIR',
    });
  }
  for (const n of INDEX_NAMES) if ((await ctx.localFs.stat(`${dir}/${n}`))?.type === 'file') return `${dir}/${n}`;
  throw new CxError('CX_ERR_USAGE', {
    plugin: 'hotfix',
    detail: `hotfix: ${dir} has no index.json, index.yaml or index.yml; a hotfix module is a directory with one of them and src/ (format: schemas/hotfix-index.schema.json).`,
    hint: `cx-ops hotfix check ${dir}`,
  });
}

/**
 * Reads and checks a module: syntax, the schema, unique ids and identifiers. (Operation types,
 * dependencies, sources and targets are checked by the planner, which knows the types.)
 */
export async function readModule(ctx: PluginContext<unknown>, dir: string): Promise<HotfixModule> {
  const abs = dir.replace(/\/+$/, '') || '/';
  const file = await findIndex(ctx, abs);
  const text = await ctx.localFs.readFile(file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    throw new CxError('CX_ERR_YAML_SYNTAX', {
      plugin: 'hotfix',
      file,
      line: at.line,
      column: at.col,
      detail: e.message.split('\n')[0]!,
    });
  }
  const lineOf = lineFinder(doc, lc);
  // The schema (checked next) makes it this shape.
  const data = doc.toJS({ maxAliasCount: 100 }) as RawModule;
  const validate = await schemaValidator(ctx);
  if (!(validate as (d: unknown) => boolean)(data))
    throw moduleInvalid(file, schemaProblems(validate.errors ?? [], data, lineOf));
  const problems: ModuleProblem[] = [];
  const ids = new Map<string, number>();
  const lines: HotfixModule['lines'] = {};
  const operations: OperationBase[] = data.operations.map((raw, i) => {
    const at = ['operations', i];
    if (ids.has(raw.id))
      problems.push({
        line: lineOf([...at, 'id']),
        operation: raw.id,
        field: 'id',
        detail: `is used twice (also operations[${ids.get(raw.id)}]); operation ids must be unique`,
        found: raw.id,
      });
    ids.set(raw.id, i);
    lines[raw.id] = {
      line: lineOf(at),
      fields: Object.fromEntries(Object.keys(raw).map((k) => [k, lineOf([...at, k]) ?? 0])),
    };
    return { enabled: true, phase: 0, dependencies: [], critical: false, ...raw };
  });
  if (problems.length) throw moduleInvalid(file, problems);
  const c = data.config ?? {};
  return {
    dir: abs,
    file,
    metadata: data.metadata,
    config: {
      backup_dir: c.backup_dir ?? DEFAULT_BACKUP_DIR,
      log_file: c.log_file ?? DEFAULT_LOG_FILE,
      rollback_on_failure: c.rollback_on_failure ?? true,
      debug: c.debug ?? false,
      log_level: c.log_level ?? (c.debug ? 'DEBUG' : 'INFO'),
    },
    operations,
    validation: { pre_checks: data.validation?.pre_checks ?? [], post_checks: data.validation?.post_checks ?? [] },
    lines,
  };
}

/** A module file as its schema (schemas/hotfix-index.schema.json) admits it, before defaults. */
interface RawModule {
  metadata: HotfixModule['metadata'];
  config?: Partial<HotfixModule['config']>;
  operations: Array<Partial<OperationBase> & Pick<OperationBase, 'id' | 'type'>>;
  validation?: Partial<HotfixModule['validation']>;
}

/** A problem at an operation's field, with its line. */
export function opProblem(
  m: HotfixModule,
  op: OperationBase,
  field: string,
  detail: string,
  found?: unknown,
): ModuleProblem {
  const l = m.lines[op.id];
  return {
    line: l?.fields[field.split(/[.[]/)[0]!] || l?.line,
    operation: op.id,
    field,
    detail,
    ...(found !== undefined ? { found } : {}),
  };
}
