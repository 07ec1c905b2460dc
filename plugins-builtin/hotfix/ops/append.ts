/**
 * `append`: adds src/<source> to `target` as a marked block (see markers.ts). Applying twice
 * appends once; a changed source replaces the block in place; rollback removes exactly the block
 * (or, when the file is still as the hotfix left it, puts back its prior bytes).
 */
import { createHash } from 'node:crypto';
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import { bodyProblem, DEFAULT_MARKER, findBlock, markerLines, withBlock } from '../markers.js';
import { field, operationKind, type OperationPlan, type OperationRequest } from '../operation-kind.js';

interface Computed {
  target: string;
  real: string;
  before: string;
  after: string;
  problems: OperationPlan['problems'];
  lines: { begin: string; end: string };
  exists: boolean;
}

async function compute(ctx: PluginContext<unknown>, req: OperationRequest): Promise<Computed> {
  const o = req.operation;
  const target = field(o, 'target')!;
  const real = ctx.fs.diskPath(target);
  const marker = field(o, 'marker') ?? DEFAULT_MARKER;
  const lines = markerLines(marker, field(o, 'identifier') ?? o.id);
  const problems: OperationPlan['problems'] = [];
  const source = `${req.src_dir}/${field(o, 'source')}`;
  const st = await ctx.localFs.stat(source);
  if (!st || st.type !== 'file') {
    problems.push({
      field: 'source',
      detail: `names ${source}, which ${st ? 'is not a regular file' : 'does not exist'}`,
      found: field(o, 'source')!,
    });
    return { target, real, before: '', after: '', problems, lines, exists: false };
  }
  const body = await ctx.localFs.readFile(source);
  const bp = bodyProblem(body, marker, lines);
  if (bp) problems.push({ field: 'source', detail: bp.detail, file: source, line: bp.line, fix: bp.fix });
  const tst = await ctx.localFs.stat(real);
  if (tst && tst.type !== 'file')
    problems.push({ field: 'target', detail: `${real} is a ${tst.type}; append needs a regular file`, found: target });
  const before = tst?.type === 'file' ? await ctx.localFs.readFile(real) : '';
  const found = findBlock(before, lines);
  if (found.problem)
    problems.push({
      field: 'target-file',
      detail: found.problem.detail,
      file: real,
      line: found.problem.line,
      fix: found.problem.fix,
    });
  const after = problems.length ? before : withBlock(before, body, lines, found.position);
  return { target, real, before, after, problems, lines, exists: tst !== null };
}

async function plan(ctx: PluginContext<unknown>, req: OperationRequest): Promise<OperationPlan> {
  const c = await compute(ctx, req);
  const same = c.after === c.before && !c.problems.length;
  return {
    touches: same ? [] : [c.target],
    summary: same
      ? `${c.target}: block '${c.lines.begin}' is already there as it should be (nothing to do)`
      : `add the block '${c.lines.begin}' … '${c.lines.end}' to ${c.target}`,
    preview: same ? [] : [{ path: c.target, new_text: c.after }],
    undo: same
      ? []
      : [
          {
            do: 'remove_block',
            path: c.real,
            begin: c.lines.begin,
            end: c.lines.end,
            written_sha256: createHash('sha256').update(c.after).digest('hex'),
          },
        ],
    problems: c.problems,
  };
}

async function apply(ctx: PluginContext<unknown>, req: OperationRequest) {
  const c = await compute(ctx, req);
  if (c.problems.length) return { ok: false, detail: c.problems.map((p) => p.detail).join('; ') };
  if (c.after === c.before) return { ok: true, detail: `${c.real}: block already there` };
  await ctx.localFs.mkdir(c.real.slice(0, c.real.lastIndexOf('/')) || '/');
  // An atomic rewrite keeping the file's mode and owner (a new file gets 0644).
  await ctx.localFs.writeFile(c.real, c.after, c.exists ? {} : { mode: 0o644 });
  return { ok: true, detail: `${c.real}: block written` };
}

export const appendOperation = defineContribution(
  operationKind,
  'append',
  {
    description:
      'add src/<source> to a file as a marked block (identifier, marker): never twice; rollback removes exactly that block',
  },
  async (ctx, req) => (req.op === 'plan' ? plan(ctx, req) : apply(ctx, req)),
);
