/**
 * Planning a module: read and check the index, order the operations, ask each operation's type
 * for its plan, and refuse everything wrong at once (unknown types, sources, targets outside
 * the allowed roots, shared identifiers, marker problems) before anything changes.
 */
import { closest, CxError, mapLimit, type PluginContext } from 'cx-ops/sdk';
import { moduleInvalid, opProblem, readModule, type ModuleProblem } from './module-file.js';
import type { HotfixModule, OperationBase } from './module-types.js';
import { askOperation, operationKind, type OperationContext, type OperationPlan } from './operation-kind.js';
import { orderOperations } from './order.js';

/** The plugin's config section (`hotfix:` in config.yaml). */
export interface HotfixSettings {
  /** Host paths under which targets, backup_dir, log_file and working_dir must lie. */
  allowed_roots?: string[];
}

export const DEFAULT_ALLOWED_ROOTS = ['/etc', '/opt', '/srv', '/usr/local', '/var', '/home', '/tmp'];

export interface PlannedStep {
  step: number;
  op: OperationBase;
  plan: OperationPlan;
}

export interface ModulePlan {
  module: HotfixModule;
  steps: PlannedStep[];
  disabled: OperationBase[];
  /** Real paths (under --root). */
  backupDir: string;
  logFile: string;
}

const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir.replace(/\/+$/, '')}/`);

/** The request an operation type receives. */
export function operationRequest(
  ctx: PluginContext<unknown>,
  m: HotfixModule,
  op: OperationBase,
  step: number,
  runDir: string,
): OperationContext {
  return { operation: op, module_dir: m.dir, src_dir: `${m.dir}/src`, root: ctx.env.root, run_dir: runDir, step };
}

/** Asks an operation's type for its plan. */
export async function planOperation(ctx: PluginContext<unknown>, req: OperationContext): Promise<OperationPlan> {
  const r = await askOperation(ctx, req.operation.type, { op: 'plan', ...req }, { dryRun: true });
  return { ...r, touches: r.touches ?? [], preview: r.preview ?? [], problems: r.problems ?? [] };
}

/** Reads, checks and plans the module in `dir`; throws CX_ERR_HOTFIX_INVALID / CX_ERR_HOTFIX_MARKER. */
export async function planModule(
  ctx: PluginContext<HotfixSettings>,
  dir: string,
  runDir?: string,
): Promise<ModulePlan> {
  const m = await readModule(ctx, dir);
  const planDir = runDir ?? `${ctx.fs.diskPath(m.config.backup_dir)}/runs/<run>`;
  const problems: ModuleProblem[] = [];
  const types = (await ctx.registry.list(operationKind)).map((c) => c.id).sort();
  for (const op of m.operations) {
    if (!types.includes(op.type)) {
      const near = closest(op.type, types);
      problems.push(
        opProblem(
          m,
          op,
          'type',
          `is not a known operation type (known: ${types.join(', ')})${near.length ? `; did you mean ${near.join(', ')}?` : ''}`,
          op.type,
        ),
      );
    }
  }
  const ids = new Map<string, string>();
  for (const op of m.operations) {
    if (op.type !== 'append') continue;
    const ident = typeof op.identifier === 'string' ? op.identifier : op.id;
    const other = ids.get(ident);
    if (other)
      problems.push(
        opProblem(
          m,
          op,
          'identifier',
          `'${ident}' is also the identifier of operation '${other}'; two blocks with one identifier would clobber each other`,
          ident,
        ),
      );
    ids.set(ident, op.id);
  }
  const roots = ctx.config.allowed_roots ?? DEFAULT_ALLOWED_ROOTS;
  const outside = (p: string) => !roots.some((r) => within(p, r));
  const rootsText = `the allowed roots (hotfix.allowed_roots in config.yaml: ${roots.join(', ')})`;
  const configProblem = (f: 'backup_dir' | 'log_file', p: string) =>
    problems.push({ field: `config.${f}`, detail: `is outside ${rootsText}`, found: p });
  if (outside(m.config.backup_dir)) configProblem('backup_dir', m.config.backup_dir);
  if (outside(m.config.log_file)) configProblem('log_file', m.config.log_file);
  const ordered = orderOperations(m);
  problems.push(...ordered.problems);
  if (problems.length) throw moduleInvalid(m.file, problems);
  const steps: PlannedStep[] = [];
  const markers: CxError[] = [];
  // Plans change nothing: they are asked for side by side, and read in order.
  const plans = await mapLimit(ordered.order, 8, (op, i) =>
    planOperation(ctx, operationRequest(ctx, m, op, i + 1, planDir)),
  );
  for (const [i, op] of ordered.order.entries()) {
    const plan = plans[i]!;
    for (const p of plan.problems) {
      if (p.file && p.fix)
        markers.push(
          new CxError('CX_ERR_HOTFIX_MARKER', {
            plugin: 'hotfix',
            file: p.file,
            line: p.line,
            operation: op.id,
            detail: p.detail,
            fix: p.fix,
          }),
        );
      else problems.push(opProblem(m, op, p.field, p.detail, p.found));
    }
    for (const t of plan.touches)
      if (outside(t))
        problems.push(opProblem(m, op, op.type === 'capture' ? 'files' : 'target', `${t} is outside ${rootsText}`, t));
    if (typeof op.working_dir === 'string' && outside(op.working_dir))
      problems.push(opProblem(m, op, 'working_dir', `is outside ${rootsText}`, op.working_dir));
    steps.push({ step: i + 1, op, plan });
  }
  if (problems.length) throw moduleInvalid(m.file, problems);
  if (markers.length) throw markers[0]!;
  return {
    module: m,
    steps,
    disabled: ordered.disabled,
    backupDir: ctx.fs.diskPath(m.config.backup_dir),
    logFile: ctx.fs.diskPath(m.config.log_file),
  };
}
