/**
 * Applying a planned module under the lock: pre-checks, then per operation (in order) its
 * prior state captured and an `intent` journaled (fsynced) before it runs and `done` after,
 * then post-checks and `commit`; the schema_version is recorded only then. A failure rolls
 * everything back when rollback_on_failure is on (see undo.ts); `--resume` continues an
 * interrupted run from its journal.
 */
import { randomBytes } from 'node:crypto';
import { CxError, messageOf, type PluginContext } from 'cx-ops/sdk';
import { runChecks, type CheckRun } from './checks.js';
import { HostFiles } from './host-files.js';
import { askOperation, type ApplyResult, type OperationPlan } from './operation-kind.js';
import {
  operationRequest,
  planOperation,
  type HotfixSettings,
  type ModulePlan,
  type PlannedStep,
} from './plan-module.js';
import { capturePath } from './prior-state.js';
import {
  crashPoint,
  newRunId,
  readRun,
  RunJournal,
  type JournalRecord,
  type PathState,
  type RunSummary,
} from './run-journal.js';
import { indexRun, logLine, recordApplied, writeOperationLog } from './run-store.js';
import { intentsOf, rollbackRun, type RollbackOutcome } from './undo.js';

export interface StepReport {
  step: number;
  id: string;
  type: string;
  summary: string;
  status: 'done' | 'failed' | 'skipped' | 'undone' | 'planned' | 'disabled';
  detail: string;
}

export interface ApplyReport {
  run: string | null;
  module: string;
  schema_version: string;
  status: 'applied' | 'failed' | 'planned' | 'declined' | 'nothing';
  dry_run: boolean;
  resumed: boolean;
  steps: StepReport[];
  checks: CheckRun[];
  rollback: RollbackOutcome | null;
  message: string;
}

function killNow(): void {
  const p = (globalThis as { process?: { pid: number; kill(pid: number, s: string): void } }).process!;
  p.kill(p.pid, 'SIGKILL');
}

/** The environment checks and scripts see. */
export function checkEnv(ctx: PluginContext<unknown>, p: ModulePlan, runDir: string): Record<string, string> {
  return { HOTFIX_ROOT: ctx.env.root, HOTFIX_MODULE_DIR: p.module.dir, HOTFIX_RUN_DIR: runDir };
}

/** Captures the touched paths and stashes files; resolves with the prior states. */
async function capture(
  ctx: PluginContext<unknown>,
  files: HostFiles,
  s: PlannedStep,
  plan: OperationPlan,
  runDir: string,
): Promise<PathState[]> {
  const prior: PathState[] = [];
  if (plan.touches.length || plan.stash?.length) await files.mkdir(`${runDir}/files`, 0o700);
  for (const [k, t] of plan.touches.entries())
    prior.push(
      await capturePath(
        files,
        ctx.fs.diskPath(t),
        runDir,
        `files/${s.step}-${k}`,
        ctx.env.root.replace(/\/+$/, '') || '/',
      ),
    );
  for (const st of plan.stash ?? []) {
    const to = `${runDir}/${st.to}`;
    await files.mkdir(to.slice(0, to.lastIndexOf('/')), 0o700);
    if (await files.lstat(to)) await files.remove(to);
    await files.copyBytes(st.from, to);
  }
  return prior;
}

type Intent = Extract<JournalRecord, { t: 'intent' }>;

/** Runs one step: capture, intent, apply, done. `redo`: the intent of an interrupted step being redone. */
async function runStep(
  ctx: PluginContext<unknown>,
  p: ModulePlan,
  s: PlannedStep,
  journal: RunJournal,
  files: HostFiles,
  redo: Intent | null,
): Promise<ApplyResult> {
  const req = operationRequest(ctx, p.module, s.op, s.step, journal.dir);
  let priorStates = redo?.prior ?? null;
  if (redo) {
    await journal.append({ ...redo });
    if (crashPoint()) killNow();
  } else {
    const plan = await planOperation(ctx, req);
    if (plan.problems.length)
      return { ok: false, detail: plan.problems.map((x) => `${x.field}: ${x.detail}`).join('; ') };
    s.plan = plan;
    priorStates = await capture(ctx, files, s, plan, journal.dir);
    await journal.append({
      t: 'intent',
      step: s.step,
      op: s.op.id,
      type: s.op.type,
      prior: priorStates,
      undo: plan.undo ?? [{ do: 'restore' }],
      summary: plan.summary,
    });
    if (crashPoint()) killNow();
  }
  const r = await askOperation(ctx, s.op.type, { op: 'apply', ...req, prior: priorStates ?? undefined });
  if (!r?.ok) return { ok: false, detail: r?.detail ?? 'the operation type returned nothing' };
  await journal.append({ t: 'done', step: s.step, op: s.op.id, detail: r.detail });
  return r;
}

/** Options of one apply. */
export interface ApplyOptions {
  resume: RunSummary | null;
  say: (text: string) => void;
}

/** Runs the plan (not a dry run; the caller asked and holds the lock). */
export async function applyPlan(
  ctx: PluginContext<HotfixSettings>,
  p: ModulePlan,
  o: ApplyOptions,
): Promise<ApplyReport> {
  const m = p.module;
  const files = new HostFiles(ctx);
  const report: ApplyReport = {
    run: null,
    module: m.dir,
    schema_version: m.metadata.schema_version,
    status: 'applied',
    dry_run: false,
    resumed: Boolean(o.resume),
    steps: [],
    checks: [],
    rollback: null,
    message: '',
  };
  const runId = o.resume?.run ?? newRunId(new Date(), randomBytes(2).toString('hex'));
  const runDir = o.resume?.dir ?? `${p.backupDir}/runs/${runId}`;
  report.run = runId;
  const journal = new RunJournal(files, runDir);
  const log = (level: string, text: string) => logLine(ctx, p.logFile, level, `[${runId}] ${text}`);
  let done = new Set<number>();
  const inDoubt = new Map<number, Intent>();
  if (o.resume) {
    await journal.reopen(ctx);
    await journal.append({ t: 'resume' });
    done = new Set(o.resume.records.filter((r) => r.t === 'done').map((r) => (r as { step: number }).step));
    for (const [step, intent] of intentsOf(o.resume))
      if (!done.has(step) && o.resume.to_undo.includes(step)) inDoubt.set(step, intent);
    await log('INFO', `resuming run ${runId} of ${m.dir}`);
  } else {
    const pre = await runChecks(ctx, 'pre', m.validation.pre_checks, checkEnv(ctx, p, runDir));
    report.checks.push(...pre);
    const bad = pre.find((c) => !c.ok);
    if (bad) throw checkFailed(bad, 'Nothing was changed: every pre_check must pass first.');
    await files.mkdir(runDir, 0o700);
    await indexRun(ctx, { run: runId, dir: runDir, module_dir: m.dir });
    await journal.append({
      t: 'begin',
      run: runId,
      module_dir: m.dir,
      module_file: m.file,
      schema_version: m.metadata.schema_version,
      ...(m.metadata.description ? { description: m.metadata.description } : {}),
      root: ctx.env.root,
      backup_dir: m.config.backup_dir,
      steps: p.steps.map((s) => ({ step: s.step, op: s.op.id, type: s.op.type })),
      resumable: true,
    });
    await log('INFO', `applying ${m.dir} ${m.metadata.schema_version} (${p.steps.length} operations)`);
  }
  for (const d of p.disabled)
    report.steps.push({
      step: 0,
      id: d.id,
      type: d.type,
      summary: 'enabled: false',
      status: 'disabled',
      detail: 'skipped (enabled: false)',
    });
  const failedIds = new Set<string>();
  let failure: string | null = null;
  for (const s of p.steps) {
    const row: StepReport = {
      step: s.step,
      id: s.op.id,
      type: s.op.type,
      summary: s.plan.summary,
      status: 'done',
      detail: '',
    };
    report.steps.push(row);
    if (done.has(s.step)) {
      row.detail = 'done before the interruption';
      continue;
    }
    const blocked = s.op.dependencies.find((d) => failedIds.has(d));
    if (blocked) {
      Object.assign(row, { status: 'skipped', detail: `its dependency '${blocked}' failed` });
      failedIds.add(s.op.id);
      continue;
    }
    let r: ApplyResult;
    try {
      const prior = inDoubt.get(s.step) ?? null;
      if (prior) {
        // Interrupted inside this step: put its paths back first, then run it again.
        const undo = await rollbackRun(
          ctx,
          { ...o.resume!, to_undo: [s.step] },
          `resume: redo step ${s.step}`,
          undefined,
          true,
        );
        if (!undo.complete)
          throw new Error(
            `could not undo the interrupted step before redoing it: ${undo.steps.map((x) => x.detail).join('; ')}`,
          );
      }
      r = await runStep(ctx, p, s, journal, files, prior);
    } catch (e) {
      r = { ok: false, detail: messageOf(e) };
    }
    o.say(`  ${r.ok ? 'done' : 'FAILED'} ${s.op.id}: ${r.detail}\n`);
    if (r.ok) {
      row.detail = r.detail;
      await log('INFO', `${s.op.id}: ${r.detail}`);
      continue;
    }
    Object.assign(row, { status: 'failed', detail: r.detail });
    await journal.append({ t: 'failed', step: s.step, op: s.op.id, error: r.detail });
    await log('ERROR', `${s.op.id} failed: ${r.detail}`);
    if (m.config.rollback_on_failure || s.op.critical) {
      failure = `operation '${s.op.id}' failed: ${r.detail}`;
      break;
    }
    // Not critical and no rollback_on_failure: undo this operation alone, skip what depends on it.
    const fresh = { ...(await readRunAt(ctx, journal)), to_undo: [s.step] };
    const alone = await rollbackRun(ctx, fresh, `operation '${s.op.id}' failed (not critical)`, undefined, true);
    row.detail += alone.complete
      ? '; its own changes were undone'
      : `; undoing it failed: ${alone.steps.map((x) => x.detail).join('; ')}`;
    failedIds.add(s.op.id);
  }
  if (!failure) {
    const post = await runChecks(ctx, 'post', m.validation.post_checks, checkEnv(ctx, p, runDir));
    report.checks.push(...post);
    await journal.append({ t: 'checks', phase: 'post', ok: post.every((c) => c.ok) });
    const bad = post.find((c) => !c.ok);
    if (bad) failure = checkFailed(bad, '').message.trim();
  }
  if (failure) {
    report.status = 'failed';
    if (m.config.rollback_on_failure) {
      o.say('rolling back every completed operation (rollback_on_failure)\n');
      report.rollback = await rollbackRun(ctx, await readRunAt(ctx, journal), failure, (u) =>
        o.say(`  ${u.ok ? 'undone' : 'UNDO FAILED'} ${u.op}: ${u.detail}\n`),
      );
      for (const u of report.rollback.steps) {
        const row = report.steps.find((x) => x.step === u.step);
        if (row && u.ok)
          Object.assign(row, {
            status: row.status === 'failed' ? 'failed' : 'undone',
            detail: `${row.detail}; undone: ${u.detail}`,
          });
        else if (row) row.detail += `; UNDO FAILED: ${u.detail}`;
      }
      await logRollback(ctx, p.backupDir, runId, report.rollback);
      report.message = `${failure}\n${report.rollback.complete ? 'Rolled back completely: every touched path is as it was before.' : `ROLLBACK INCOMPLETE: step(s) ${report.rollback.remaining.join(', ')} could not be undone; the journal keeps them. Fix the cause, then run: cx-ops hotfix rollback --run ${runId}`}`;
    } else {
      await journal.append({
        t: 'rollback_end',
        complete: false,
        remaining: (await readRunAt(ctx, journal)).to_undo,
        kept: true,
      });
      report.message = `${failure}\nrollback_on_failure is off: the completed operations were kept. Undo them with: cx-ops hotfix rollback --run ${runId}`;
    }
    await log('ERROR', report.message.replace(/\n/g, ' '));
  } else {
    await journal.append({ t: 'commit', schema_version: m.metadata.schema_version });
    await recordApplied(ctx, m.dir, { version: m.metadata.schema_version, run: runId, at: new Date().toISOString() });
    const failed = report.steps.filter((x) => x.status === 'failed' || x.status === 'skipped');
    report.message = `applied ${m.dir} ${m.metadata.schema_version} (run ${runId})${failed.length ? `; not applied: ${failed.map((x) => x.id).join(', ')}` : ''}. Undo with: cx-ops hotfix rollback --run ${runId}`;
    await log('INFO', report.message);
  }
  await writeOperationLog(ctx, p.backupDir);
  return report;
}

async function readRunAt(ctx: PluginContext<unknown>, journal: RunJournal): Promise<RunSummary> {
  return (await readRun(ctx, journal.dir))!;
}

/** Appends a rollback's outcome to `<backup_dir>/rollback.log`. */
export async function logRollback(
  ctx: PluginContext<unknown>,
  backupDir: string,
  run: string,
  r: RollbackOutcome,
): Promise<void> {
  const lines = [
    `${new Date().toISOString()} run ${run}: rollback ${r.complete ? 'COMPLETE' : `INCOMPLETE (remaining steps ${r.remaining.join(', ')})`}`,
    ...r.steps.map((s) => `  step ${s.step} ${s.op}: ${s.ok ? 'undone' : 'FAILED'}: ${s.detail}`),
  ];
  await ctx.localFs.writeFile(`${backupDir}/rollback.log`, `${lines.join('\n')}\n`, { append: true, mode: 0o600 });
}

/** A failed check as a catalogue error (expected and actual both shown). */
export function checkFailed(c: CheckRun, next: string): CxError {
  return new CxError('CX_ERR_HOTFIX_CHECK_FAILED', {
    plugin: 'hotfix',
    phase: c.phase === 'pre' ? 'pre' : 'post',
    description: c.description,
    command: c.command,
    shell: c.shell,
    expected: c.expected,
    actual: c.actual,
    exit_code: c.exit_code,
    stderr: c.stderr,
    next,
  });
}
