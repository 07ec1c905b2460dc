/**
 * Applying a planned module under the lock: pre-checks, then per operation (in order) its
 * prior state captured and an `intent` journaled (fsynced) before it runs and `done` after,
 * then post-checks and `commit`; the schema_version is recorded only then. A failure rolls
 * everything back when rollback_on_failure is on (see undo.ts); `--resume` continues an
 * interrupted run from its journal.
 */
import { randomBytes } from 'node:crypto';
import { CxError, mapLimit, messageOf, type PluginContext } from 'cx-ops/sdk';
import { runChecks, type CheckRun } from './checks.js';
import { HostFiles } from './host-files.js';
import { askOperation, operationBatchKind, type ApplyResult, type OperationPlan } from './operation-kind.js';
import {
  operationRequest,
  planOperation,
  type HotfixSettings,
  type ModulePlan,
  type PlannedStep,
} from './plan-module.js';
import { capturePath } from './prior-state.js';
import { captureMany, type CaptureItem } from './prior-state-batch.js';
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

/** Whether a step's undo is only "put the touched paths back" (it can join a batch). */
function restoresOnly(plan: OperationPlan): boolean {
  return !plan.stash?.length && (!plan.undo || (plan.undo.length === 1 && plan.undo[0]!.do === 'restore'));
}

/**
 * The steps from `i` on that are journaled together: consecutive steps that only replace files
 * (undo: restore) and touch paths no other step of the batch touches.
 */
function batchFrom(steps: PlannedStep[], i: number, skip: (s: PlannedStep) => boolean): PlannedStep[] {
  const first = steps[i]!;
  if (!restoresOnly(first.plan)) return [first];
  const out: PlannedStep[] = [];
  const seen = new Set<string>();
  for (const s of steps.slice(i)) {
    if (skip(s)) continue;
    if (!restoresOnly(s.plan) || s.plan.touches.some((t) => seen.has(t))) break;
    for (const t of s.plan.touches) seen.add(t);
    out.push(s);
  }
  return out;
}

/**
 * Which steps of a batch are applied side by side: consecutive steps of one phase whose types
 * replace their paths by rename (`replaces`) and that do not depend on each other. Only with
 * rollback_on_failure: then any failure undoes every step anyway, so which of them had run
 * when it happened does not matter.
 */
function applyGroups(batch: PlannedStep[], rollbackOnFailure: boolean): Map<number, PlannedStep[]> {
  const out = new Map<number, PlannedStep[]>();
  let group: PlannedStep[] = [];
  for (const s of batch) {
    const joins =
      rollbackOnFailure &&
      s.plan.replaces === true &&
      group.length > 0 &&
      s.op.phase === group[0]!.op.phase &&
      !s.op.dependencies.some((d) => group.some((g) => g.op.id === d));
    if (!joins) group = [];
    if (!rollbackOnFailure || s.plan.replaces !== true) {
      out.set(s.step, [s]);
      continue;
    }
    group.push(s);
    out.set(s.step, group);
  }
  return out;
}

/** Captures the touched paths of a step and stashes its files (nothing synced yet). */
async function capture(
  ctx: PluginContext<unknown>,
  files: HostFiles,
  s: PlannedStep,
  plan: OperationPlan,
  runDir: string,
  unsynced: Set<string>,
  dirs: Set<string>,
): Promise<PathState[]> {
  const prior: PathState[] = [];
  const stop = ctx.env.root.replace(/\/+$/, '') || '/';
  for (const [k, t] of plan.touches.entries()) {
    const backup = `files/${s.step}-${k}`;
    const c = await capturePath(files, ctx.fs.diskPath(t), runDir, backup, stop, plan.replaces === true, dirs);
    prior.push(c.state);
    for (const u of c.unsynced) unsynced.add(u);
  }
  for (const st of plan.stash ?? []) {
    const to = `${runDir}/${st.to}`;
    await files.mkdir(to.slice(0, to.lastIndexOf('/')), 0o700);
    if (await files.lstat(to)) await files.remove(to);
    await files.copyBytes(st.from, to, false);
    unsynced.add(to);
    unsynced.add(to.slice(0, to.lastIndexOf('/')));
  }
  return prior;
}

type Intent = Extract<JournalRecord, { t: 'intent' }>;

/** What a batch of steps journals and syncs together. */
class StepBatch {
  /** Steps whose intent is journaled and that have not run yet. */
  readonly waiting = new Map<number, Intent>();
  /** Records (done, undone) of steps that ran, written once their changes are synced. */
  private records: JournalRecord[] = [];
  private readonly unsynced = new Set<string>();
  private filesDir = false;

  constructor(
    private readonly ctx: PluginContext<unknown>,
    private readonly files: HostFiles,
    private readonly journal: RunJournal,
  ) {}

  /**
   * Captures every step, syncs the backups, then journals all the intents in one write. A step
   * that keeps files in the run directory or undoes itself otherwise is planned again with the
   * run's directory (the shown plan named a placeholder); one that only replaces files keeps the
   * plan shown (its apply checks its source again). A step whose plan has problems now is not
   * journaled and fails when it runs.
   */
  async begin(p: ModulePlan, steps: PlannedStep[]): Promise<Map<number, string>> {
    const refused = new Map<number, string>();
    const intents: Intent[] = [];
    const backups = new Set<string>();
    const dirs = new Set<string>();
    if (!this.filesDir) {
      await this.files.mkdir(`${this.journal.dir}/files`, 0o700);
      this.filesDir = true;
    }
    // Steps that only replace files are captured together (two fs.batch calls for all their paths).
    const simple = steps.filter((s) => restoresOnly(s.plan) && !s.plan.problems.length);
    const items: CaptureItem[] = simple.flatMap((s) =>
      s.plan.touches.map((t, k) => ({
        path: this.ctx.fs.diskPath(t),
        backup: `files/${s.step}-${k}`,
        link: s.plan.replaces === true,
      })),
    );
    const stop = this.ctx.env.root.replace(/\/+$/, '') || '/';
    const many = await captureMany(this.files, items, this.journal.dir, stop, dirs);
    const early = new Map<number, PathState[]>();
    let at = 0;
    for (const s of simple) {
      const got = many.slice(at, (at += s.plan.touches.length));
      for (const c of got) for (const u of c.unsynced) backups.add(u);
      early.set(
        s.step,
        got.map((c) => c.state),
      );
    }
    // The other steps of a batch touch different paths: they are planned and captured side by side.
    const captured = await mapLimit(steps, 8, async (s) => {
      const prior = early.get(s.step);
      if (prior) return { s, plan: s.plan, prior };
      const plan = restoresOnly(s.plan)
        ? s.plan
        : await planOperation(this.ctx, operationRequest(this.ctx, p.module, s.op, s.step, this.journal.dir));
      if (plan.problems.length) {
        refused.set(s.step, plan.problems.map((x) => `${x.field}: ${x.detail}`).join('; '));
        return null;
      }
      s.plan = plan;
      return { s, plan, prior: await capture(this.ctx, this.files, s, plan, this.journal.dir, backups, dirs) };
    });
    for (const c of captured)
      if (c)
        intents.push({
          t: 'intent',
          step: c.s.step,
          op: c.s.op.id,
          type: c.s.op.type,
          prior: c.prior,
          undo: c.plan.undo ?? [{ do: 'restore' }],
          summary: c.plan.summary,
        });
    if (!intents.length) return refused;
    // The backups are durable before any intent that names them, and the intents before any change.
    await this.files.fsync([...backups, `${this.journal.dir}/files`, this.journal.dir]);
    await this.journal.appendAll(intents);
    if (crashPoint()) killNow();
    for (const i of intents) this.waiting.set(i.step, i);
    return refused;
  }

  /** Results of steps applied side by side, until the loop reaches them. */
  private readonly results = new Map<number, ApplyResult>();

  /**
   * Runs one journaled step (with the steps `together` with it, side by side, the first time one
   * of them is reached); its `done` waits for flush(). Crash points before and after each apply.
   */
  async run(p: ModulePlan, s: PlannedStep, together: PlannedStep[] = [s]): Promise<ApplyResult> {
    if (!this.results.has(s.step)) {
      const group = together.filter((g) => this.waiting.has(g.step) && !this.results.has(g.step));
      // Steps of a type that applies many at once (hotfix-operation-batch) go to it together.
      const batchable = await this.batchTypes();
      const byType = new Map<string, PlannedStep[]>();
      for (const g of group) if (batchable.has(g.op.type)) byType.set(g.op.type, [...(byType.get(g.op.type) ?? []), g]);
      const alone = group.filter((g) => (byType.get(g.op.type)?.length ?? 0) < 2);
      for (const [type, steps] of byType) {
        if (steps.length < 2) continue;
        const out = await this.applyMany(p, type, steps);
        steps.forEach((g, k) => this.results.set(g.step, out[k]!));
      }
      const out = await mapLimit(alone, 8, (g) => this.applyOne(p, g));
      alone.forEach((g, k) => this.results.set(g.step, out[k]!));
    }
    const r = this.results.get(s.step)!;
    this.results.delete(s.step);
    this.waiting.delete(s.step);
    return r;
  }

  private batchable?: Promise<Set<string>>;

  /** The operation types that apply many steps at once. */
  private batchTypes(): Promise<Set<string>> {
    this.batchable ??= this.ctx.registry.list(operationBatchKind).then((l) => new Set(l.map((c) => c.id)));
    return this.batchable;
  }

  private async applyOne(p: ModulePlan, s: PlannedStep): Promise<ApplyResult> {
    const intent = this.waiting.get(s.step)!;
    if (crashPoint()) killNow();
    const req = operationRequest(this.ctx, p.module, s.op, s.step, this.journal.dir);
    let r: ApplyResult | undefined;
    try {
      r = await askOperation(this.ctx, s.op.type, { op: 'apply', ...req, prior: intent.prior });
    } catch (e) {
      return { ok: false, detail: messageOf(e) };
    }
    if (crashPoint()) killNow();
    return this.finish(s, intent, r);
  }

  /** Several steps of one type applied by its batch applier: crash points before and after the batch. */
  private async applyMany(p: ModulePlan, type: string, steps: PlannedStep[]): Promise<ApplyResult[]> {
    if (crashPoint()) killNow();
    const intents = steps.map((s) => this.waiting.get(s.step)!);
    const requests = steps.map((s, k) => ({
      ...operationRequest(this.ctx, p.module, s.op, s.step, this.journal.dir),
      prior: intents[k]!.prior,
    }));
    let out: ApplyResult[];
    try {
      out = await this.ctx.registry.invoke(operationBatchKind, type, { requests });
    } catch (e) {
      return steps.map(() => ({ ok: false, detail: messageOf(e) }));
    }
    if (crashPoint()) killNow();
    return steps.map((s, k) => this.finish(s, intents[k]!, out?.[k]));
  }

  /** A step's result: when it succeeded, its paths to sync (unless it synced them) and its done record. */
  private finish(s: PlannedStep, intent: Intent, r: ApplyResult | undefined): ApplyResult {
    if (!r?.ok) return { ok: false, detail: r?.detail ?? 'the operation type returned nothing' };
    if (!r.synced)
      for (const st of intent.prior) {
        this.unsynced.add(st.path);
        this.unsynced.add(st.path.slice(0, st.path.lastIndexOf('/')) || '/');
      }
    this.records.push({ t: 'done', step: s.step, op: s.op.id, detail: r.detail });
    return { ok: true, detail: r.detail };
  }

  /** A journaled step that will not run (its dependency failed): it changed nothing. */
  skip(s: PlannedStep, why: string): void {
    if (!this.waiting.delete(s.step)) return;
    this.records.push({ t: 'undone', step: s.step, op: s.op.id, detail: `not applied (${why}); nothing to undo` });
  }

  /** Syncs what the steps that ran changed, then journals their done records in one write. */
  async flush(): Promise<void> {
    if (!this.records.length) return;
    await this.files.fsync(this.unsynced);
    await this.journal.appendAll(this.records);
    this.records = [];
    this.unsynced.clear();
  }
}

/** Runs one interrupted step again (resume): its first intent again, apply, done. */
async function redoStep(
  ctx: PluginContext<unknown>,
  p: ModulePlan,
  s: PlannedStep,
  journal: RunJournal,
  redo: Intent,
): Promise<ApplyResult> {
  const req = operationRequest(ctx, p.module, s.op, s.step, journal.dir);
  await journal.append({ ...redo });
  if (crashPoint()) killNow();
  const r = await askOperation(ctx, s.op.type, { op: 'apply', ...req, prior: redo.prior });
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
  const batch = new StepBatch(ctx, files, journal);
  let refused = new Map<number, string>();
  let groups = new Map<number, PlannedStep[]>();
  const logs: string[] = [];
  const flush = async () => {
    await batch.flush();
    if (logs.length) await log('INFO', logs.splice(0).join(`\n${new Date().toISOString()} INFO [${runId}] `));
  };
  let failure: string | null = null;
  for (const [i, s] of p.steps.entries()) {
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
      batch.skip(s, row.detail);
      failedIds.add(s.op.id);
      continue;
    }
    let r: ApplyResult;
    try {
      const prior = inDoubt.get(s.step) ?? null;
      if (prior) {
        await flush();
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
        r = await redoStep(ctx, p, s, journal, prior);
      } else {
        if (!batch.waiting.has(s.step) && !refused.has(s.step)) {
          await flush();
          const next = batchFrom(p.steps, i, (x) => done.has(x.step) || inDoubt.has(x.step));
          refused = await batch.begin(p, next);
          groups = applyGroups(next, m.config.rollback_on_failure);
        }
        const no = refused.get(s.step);
        r = no !== undefined ? { ok: false, detail: no } : await batch.run(p, s, groups.get(s.step));
      }
    } catch (e) {
      r = { ok: false, detail: messageOf(e) };
    }
    o.say(`  ${r.ok ? 'done' : 'FAILED'} ${s.op.id}: ${r.detail}\n`);
    if (r.ok) {
      row.detail = r.detail;
      logs.push(`${s.op.id}: ${r.detail}`);
      continue;
    }
    // What ran before is made durable and journaled before the failure is.
    await flush();
    Object.assign(row, { status: 'failed', detail: r.detail });
    await journal.append({ t: 'failed', step: s.step, op: s.op.id, error: r.detail });
    await log('ERROR', `${s.op.id} failed: ${r.detail}`);
    if (m.config.rollback_on_failure || s.op.critical) {
      failure = `operation '${s.op.id}' failed: ${r.detail}`;
      break;
    }
    // Not critical and no rollback_on_failure: undo this operation alone, skip what depends on it.
    const fresh = { ...(await readRunAt(ctx, journal)), to_undo: [s.step] };
    // Failed before its intent was journaled (its capture failed): it changed nothing.
    if (!intentsOf(fresh).has(s.step)) {
      row.detail += '; it had changed nothing';
      failedIds.add(s.op.id);
      continue;
    }
    const alone = await rollbackRun(ctx, fresh, `operation '${s.op.id}' failed (not critical)`, undefined, true);
    row.detail += alone.complete
      ? '; its own changes were undone'
      : `; undoing it failed: ${alone.steps.map((x) => x.detail).join('; ')}`;
    failedIds.add(s.op.id);
  }
  await flush();
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
  await writeOperationLog(ctx, p.backupDir, await readRunAt(ctx, journal));
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
