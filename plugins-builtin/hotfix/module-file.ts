/**
 * Reads a hotfix module's index (index.json, index.yaml or index.yml) and checks it against
 * schemas/hotfix-index.schema.json. Every problem is reported at once, each with the file, line,
 * operation id and field (CX_ERR_HOTFIX_INVALID, exit 2), before anything is changed.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { CxError, type PluginContext } from 'cx-ops/sdk';
import { describeSchemaErrors, readYaml, type FieldPath, type YamlDocument } from 'cx-ops/sdk/host';
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
/** Written by the build beside the compiled plugin (dist only). */
const PRECOMPILED = ['.', 'hotfix-index.validator.cjs'].join('/');

/** schemas/hotfix-index.schema.json: precompiled by the build (dist), else compiled here once. */
async function schemaValidator(ctx: PluginContext<unknown>): Promise<ValidateFunction> {
  if (validator) return validator;
  try {
    const mod = require(PRECOMPILED) as { default?: ValidateFunction } & ValidateFunction;
    validator = mod.default ?? mod;
  } catch {
    // The schema ships in schemas/ (dist/schemas beside the compiled plugins).
    const file = fileURLToPath(new URL('../../schemas/hotfix-index.schema.json', import.meta.url));
    const { Ajv } = require('ajv') as typeof import('ajv');
    validator = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(
      JSON.parse(await ctx.localFs.readFile(file)),
    );
  }
  return validator;
}

/** The SDK's wording, in the words of a module where they say more. */
function moduleWording(keyword: string, detail: string): string {
  if (keyword === 'additionalProperties') return 'is not a field of this operation type (unknown field)';
  if (keyword === 'not') return 'must not contain "." or ".." path components';
  return detail;
}

/** Schema errors as problems naming the operation id, its field and the line (the SDK's formatter). */
function schemaProblems(validate: ValidateFunction, doc: YamlDocument): ModuleProblem[] {
  const data = doc.data as { operations?: Array<{ id?: unknown }> } | null;
  return describeSchemaErrors(validate.errors, doc.data).map((p) => {
    const path: FieldPath = p.path;
    const inOp = path[0] === 'operations' && typeof path[1] === 'number';
    const opId = inOp ? data?.operations?.[path[1] as number]?.id : undefined;
    const inner = path.slice(2);
    const field = inOp ? inner.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('') : p.field;
    return {
      line: doc.lineOf(path),
      ...(inOp ? { operation: typeof opId === 'string' ? opId : `operations[${path[1]}]` } : {}),
      field: inOp && !field ? `operations[${path[1]}]` : field,
      detail: moduleWording(p.keyword, p.detail),
      ...(p.found === undefined || (typeof p.found === 'object' && p.found !== null) ? {} : { found: p.found }),
    };
  });
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
  // The SDK's reader: a syntax error is CX_ERR_YAML_SYNTAX with file, line and column.
  const doc = (await readYaml(ctx.localFs, file))!;
  const lineOf = (path: FieldPath) => doc.lineOf(path);
  const validate = await schemaValidator(ctx);
  if (!validate(doc.data)) throw moduleInvalid(file, schemaProblems(validate, doc));
  // The schema made it this shape.
  const data = doc.data as RawModule;
  const problems: ModuleProblem[] = [];
  const ids = new Map<string, number>();
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
    lineOf: (op, field) => {
      const i = ids.get(op);
      if (i === undefined) return undefined;
      const raw = data.operations[i]!;
      const at = field !== undefined && Object.hasOwn(raw, field) ? lineOf(['operations', i, field]) : undefined;
      return at || lineOf(['operations', i]);
    },
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
  return {
    line: m.lineOf(op.id, field.split(/[.[]/)[0]!),
    operation: op.id,
    field,
    detail,
    ...(found !== undefined ? { found } : {}),
  };
}
