/**
 * `execute`: runs src/<source> with its `#!` interpreter (no shell in between) in `working_dir`
 * (a host path; by default the script's own directory in the run directory) within `timeout` seconds. The script and
 * its `rollback_script` are
 * kept in the run directory first, so the rollback (cx-ops-rollback too) can run the same file
 * even when the module has changed or is gone. What a script changes cannot be previewed: a dry
 * run shows the exact command only, and says so.
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import { field, operationKind, type OperationPlan, type OperationRequest } from '../operation-kind.js';
import type { UndoAction } from '../run-journal.js';

export const EXECUTE_PREVIEW_NOTE =
  'an execute operation cannot be previewed beyond its command: what the script changes is known only by running it';

/** The argv that runs `script`: its #! line's interpreter (and one argument), then the script. */
export async function scriptArgv(
  ctx: PluginContext<unknown>,
  source: string,
  runAs: string,
): Promise<string[] | string> {
  const st = await ctx.localFs.stat(source);
  if (!st || st.type !== 'file') return `names ${source}, which ${st ? 'is not a regular file' : 'does not exist'}`;
  const head = (await ctx.localFs.readFile(source)).slice(0, 256).split('\n')[0]!;
  if (!head.startsWith('#!')) return `${source} has no #! line naming its interpreter (e.g. #!/bin/sh)`;
  const words = head.slice(2).trim().split(/\s+/).filter(Boolean);
  if (!words.length || !words[0]!.startsWith('/')) return `${source}'s #! line does not name an absolute interpreter`;
  return [...words, runAs];
}

function scriptEnv(req: OperationRequest): Record<string, string> {
  return {
    HOTFIX_ROOT: req.root,
    HOTFIX_MODULE_DIR: req.module_dir,
    HOTFIX_RUN_DIR: req.run_dir,
    HOTFIX_OPERATION: req.operation.id,
  };
}

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

async function plan(ctx: PluginContext<unknown>, req: OperationRequest): Promise<OperationPlan> {
  const o = req.operation;
  const problems: OperationPlan['problems'] = [];
  const source = field(o, 'source')!;
  const wd = field(o, 'working_dir');
  const kept = `scripts/${o.id}/${base(source)}`;
  // Without working_dir the script runs in its own directory inside the run directory.
  const cwd = wd ? ctx.fs.diskPath(wd) : `${req.run_dir}/scripts/${o.id}`;
  const timeoutMs = Math.round(Number(o.timeout ?? 300) * 1000);
  const argv = await scriptArgv(ctx, `${req.src_dir}/${source}`, `${req.run_dir}/${kept}`);
  if (typeof argv === 'string') problems.push({ field: 'source', detail: argv, found: source });
  if (wd && (await ctx.localFs.stat(cwd))?.type !== 'directory')
    problems.push({ field: 'working_dir', detail: `${cwd} is not a directory`, found: wd });
  const stash = [{ from: `${req.src_dir}/${source}`, to: kept }];
  const undo: UndoAction[] = [];
  const rb = field(o, 'rollback_script');
  if (rb) {
    const keptRb = `scripts/${o.id}/rollback/${base(rb)}`;
    const rbArgv = await scriptArgv(ctx, `${req.src_dir}/${rb}`, `${req.run_dir}/${keptRb}`);
    if (typeof rbArgv === 'string') problems.push({ field: 'rollback_script', detail: rbArgv, found: rb });
    else undo.push({ do: 'run', argv: rbArgv, cwd, timeout_ms: timeoutMs, env: scriptEnv(req) });
    stash.push({ from: `${req.src_dir}/${rb}`, to: keptRb });
  }
  const command = typeof argv === 'string' ? [`${req.src_dir}/${source}`] : argv;
  return {
    touches: [],
    summary: `run ${command.join(' ')} in ${cwd} (timeout ${timeoutMs / 1000} s)${rb ? `; undone by ${rb}` : '; no rollback_script: a rollback has nothing to run for it'}`,
    preview: [{ command, cwd, note: EXECUTE_PREVIEW_NOTE }],
    undo,
    stash,
    problems,
  };
}

async function apply(ctx: PluginContext<unknown>, req: OperationRequest) {
  const o = req.operation;
  const source = field(o, 'source')!;
  const kept = `${req.run_dir}/scripts/${o.id}/${base(source)}`;
  const argv = await scriptArgv(ctx, kept, kept);
  if (typeof argv === 'string') return { ok: false, detail: argv };
  const wd = field(o, 'working_dir');
  const cwd = wd ? ctx.fs.diskPath(wd) : `${req.run_dir}/scripts/${o.id}`;
  const timeoutMs = Math.round(Number(o.timeout ?? 300) * 1000);
  const r = await ctx.exec.run(argv[0]!, argv.slice(1), { cwd, timeoutMs, env: scriptEnv(req) });
  if (o.cleanup_after === true) await ctx.localFs.remove(kept).catch(() => undefined);
  const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ');
  if (r.timedOut) return { ok: false, detail: `${source} did not finish within ${timeoutMs / 1000} s and was killed` };
  if (r.exitCode !== 0)
    return { ok: false, detail: `${source} failed (exit ${r.exitCode ?? r.signal})${tail ? `: ${tail}` : ''}` };
  return { ok: true, detail: `${source} ran (exit 0)${tail ? `: ${tail}` : ''}` };
}

export const executeOperation = defineContribution(
  operationKind,
  'execute',
  { description: 'run a script from src/ (working_dir, timeout, cleanup_after, rollback_script)' },
  async (ctx, req) => (req.op === 'plan' ? plan(ctx, req) : apply(ctx, req)),
);
