/**
 * The hotfix commands: `apply`, `check`, `rollback`, `list`, `snapshots`. Each reads the module
 * directory as given on the command line; what the module names (targets, backup_dir,
 * log_file) is placed under --root.
 */
import { CxError, isCxError, type CommandInput, type HeldLock, type PluginContext } from 'cx-ops/sdk';
import semverGt from 'semver/functions/gt.js';
import { applyPlan, checkFailed, checkEnv, logRollback, type ApplyReport } from './apply-module.js';
import { runChecks } from './checks.js';
import { HostFiles } from './host-files.js';
import { findBlock, markerLines, DEFAULT_MARKER } from './markers.js';
import { readModule } from './module-file.js';
import { EXECUTE_PREVIEW_NOTE } from './ops/execute.js';
import { planModule, type HotfixSettings, type ModulePlan } from './plan-module.js';
import { planLines, previewText } from './plan-text.js';
import type { RunHead } from './run-heads.js';
import { readRun, type RunSummary } from './run-journal.js';
import {
  allRuns,
  forgetApplied,
  pendingRuns,
  readApplied,
  writeOperationLog,
  type AppliedVersion,
} from './run-store.js';
import { rollbackRun, type RollbackOutcome } from './undo.js';

type Ctx = PluginContext<HotfixSettings>;

const usage = (detail: string, hint?: string) => new CxError('CX_ERR_USAGE', { plugin: 'hotfix', detail, hint });
const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** An absolute module directory: as given, relative to the current directory otherwise. */
function moduleDir(arg: unknown): string {
  const d = String(arg ?? '');
  if (!d)
    throw usage(
      'hotfix: name the module directory (the one holding index.json and src/).',
      'cx-ops hotfix apply DIR --dry-run',
    );
  const cwd = (globalThis as { process?: { cwd(): string } }).process?.cwd() ?? '/';
  return (
    (d.startsWith('/') ? d : `${cwd}/${d}`)
      .replace(/\/(\.\/)+/g, '/')
      .replace(/\/\.$/, '')
      .replace(/\/+$/, '') || '/'
  );
}

async function lock(ctx: Ctx, what: string): Promise<HeldLock> {
  try {
    return await ctx.lock('hotfix', { what });
  } catch (e) {
    if (e instanceof CxError && e.code === 'CX_ERR_STATE_LOCKED')
      throw new CxError('CX_ERR_STATE_LOCKED', { what: 'hotfix', pid: e.params.pid, command: e.params.command });
    throw e;
  }
}

/** The applied version, unless its run was rolled back since (by cx-ops-rollback, which keeps no cx-ops state). */
function liveApplied(a: AppliedVersion | undefined, runs: RunHead[]): AppliedVersion | undefined {
  return a && runs.find((r) => r.run === a.run)?.state !== 'rolled-back' ? a : undefined;
}

/** `hotfix apply DIR [--dry-run] [--force] [--resume] [-y] [--json]`. */
export async function applyCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  const o = input.options;
  const dir = moduleDir(input.args.dir);
  const say = o.json ? () => undefined : (t: string) => ctx.io.out(t);
  const plan = await planModule(ctx, dir);
  const m = plan.module;
  const runs = await allRuns(ctx, [plan.backupDir]);
  const pending = pendingRuns(runs);
  let resume: RunSummary | null = null;
  if (o.resume) {
    const head = pending.find((r) => r.module_dir === m.dir && r.state === 'interrupted');
    resume = head ? await readRun(ctx, head.dir) : null;
    if (!resume)
      throw usage(
        `hotfix apply --resume: no interrupted run of ${m.dir} to continue${pending.length ? ` (pending: ${pending.map((r) => `${r.run} of ${r.module_dir}, ${r.state}`).join('; ')})` : ''}.`,
        `cx-ops hotfix apply ${m.dir}`,
      );
    if (resume.records.some((r) => r.t === 'rollback_begin'))
      throw usage(
        `hotfix apply --resume: run ${resume.run} was being rolled back when it stopped; finish that first.`,
        `cx-ops hotfix rollback --run ${resume.run}`,
      );
    const begin = resume.records.find((r) => r.t === 'begin');
    const was = begin && begin.t === 'begin' ? begin.steps.map((s) => s.op).join(',') : '';
    if (was !== plan.steps.map((s) => s.op.id).join(','))
      throw usage(
        `hotfix apply --resume: ${m.file} has changed since run ${resume.run} began (its operations differ); it cannot be continued, only rolled back.`,
        `cx-ops hotfix rollback --run ${resume.run}`,
      );
  } else if (pending.length) {
    // A run that looks interrupted may be running right now: then the lock names who holds it.
    await (await lock(ctx, `hotfix apply ${m.dir}`)).release();
    const r = pending[0]!;
    throw new CxError('CX_ERR_HOTFIX_PENDING', {
      plugin: 'hotfix',
      run: r.run,
      module: r.module_dir,
      detail: r.state === 'rollback-incomplete' ? 'its rollback was incomplete' : `${r.to_undo.length} step(s) to undo`,
    });
  }
  const applied = liveApplied((await readApplied(ctx))[m.dir], runs);
  if (!resume && applied && !o.force && !semverGt(m.metadata.schema_version, applied.version)) {
    if (m.metadata.schema_version === applied.version) {
      const report: ApplyReport = {
        run: null,
        module: m.dir,
        schema_version: m.metadata.schema_version,
        status: 'nothing',
        dry_run: ctx.env.dryRun,
        resumed: false,
        steps: [],
        checks: [],
        rollback: null,
        message: `${m.dir} ${applied.version} is already applied (run ${applied.run}); nothing to do. Re-apply with --force.`,
      };
      ctx.io.out(o.json ? json(report) : `${report.message}\n`);
      return 0;
    }
    throw new CxError('CX_ERR_HOTFIX_NOT_NEWER', {
      plugin: 'hotfix',
      file: m.file,
      version: m.metadata.schema_version,
      applied: applied.version,
      run: applied.run,
      dir: m.dir,
    });
  }
  if (!o.json || ctx.env.dryRun) say(`${planLines(plan).join('\n')}\n`);
  if (ctx.env.dryRun) return dryRun(ctx, plan, Boolean(o.json));
  if (
    !(await ctx.io.confirm(
      `${resume ? `Continue run ${resume.run} of` : 'Apply'} ${plan.steps.length} operation(s) of ${m.dir}?`,
    ))
  ) {
    const report: ApplyReport = {
      run: null,
      module: m.dir,
      schema_version: m.metadata.schema_version,
      status: 'declined',
      dry_run: false,
      resumed: Boolean(resume),
      steps: [],
      checks: [],
      rollback: null,
      message: 'not applied: not confirmed (answer yes on a terminal, or pass -y)',
    };
    if (o.json) ctx.io.out(json(report));
    else ctx.io.err(`${report.message}\n`);
    return 1;
  }
  const held = await lock(ctx, `hotfix apply ${m.dir}`);
  let report: ApplyReport;
  try {
    report = await applyPlan(ctx, plan, { resume, say });
  } catch (e) {
    if (isCxError(e) && e.code === 'CX_ERR_HOTFIX_CHECK_FAILED' && o.json) {
      ctx.io.out(
        json({
          run: null,
          module: m.dir,
          schema_version: m.metadata.schema_version,
          status: 'failed',
          dry_run: false,
          resumed: false,
          steps: [],
          checks: [],
          rollback: null,
          message: e.message,
          error: e.toJSON(),
        }),
      );
      return e.exitCode;
    }
    throw e;
  } finally {
    await held.release();
  }
  if (o.json) ctx.io.out(json(report));
  else ctx.io.out(`${report.status === 'applied' ? 'OK' : 'FAILED'}: ${report.message}\n`);
  if (report.status === 'applied') return 0;
  return report.rollback && !report.rollback.complete ? 5 : 1;
}

async function dryRun(ctx: Ctx, plan: ModulePlan, asJson: boolean): Promise<number> {
  const pre = await runChecks(ctx, 'pre', plan.module.validation.pre_checks, checkEnv(ctx, plan, '(dry run)'));
  const previews: Array<{ step: number; id: string; text: string }> = [];
  for (const s of plan.steps)
    for (const v of s.plan.preview) previews.push({ step: s.step, id: s.op.id, text: await previewText(ctx, v) });
  const executes = plan.steps.filter((s) => s.op.type === 'execute').length;
  if (asJson) {
    ctx.io.out(
      json({
        run: null,
        module: plan.module.dir,
        schema_version: plan.module.metadata.schema_version,
        status: 'planned',
        dry_run: true,
        resumed: false,
        steps: plan.steps.map((s) => ({
          step: s.step,
          id: s.op.id,
          type: s.op.type,
          summary: s.plan.summary,
          status: 'planned',
          detail: '',
          touches: s.plan.touches,
          preview: previews
            .filter((p) => p.step === s.step)
            .map((p) => p.text)
            .join(''),
        })),
        checks: pre,
        rollback: null,
        message: 'dry run: nothing was changed',
      }),
    );
    return pre.every((c) => c.ok) ? 0 : 1;
  }
  for (const p of previews) ctx.io.out(`--- ${p.step}. ${p.id}\n${p.text}`);
  for (const c of pre)
    ctx.io.out(
      `pre_check ${c.ok ? 'would pass' : 'WOULD FAIL'}: ${c.description ?? c.command}${c.shell ? ` (sh -c: ${c.shell})` : ''}${c.ok ? '' : ` (expected ${JSON.stringify(c.expected)}, actual ${JSON.stringify(c.actual)})`}\n`,
    );
  if (executes) ctx.io.out(`NOTE: ${executes} execute operation(s): ${EXECUTE_PREVIEW_NOTE}.\n`);
  ctx.io.out('PLANNED: dry run: nothing was changed\n');
  const bad = pre.find((c) => !c.ok);
  if (bad) throw checkFailed(bad, 'The apply would stop here, before changing anything.');
  return 0;
}

/** `hotfix check DIR`: what would run, each target's current state, the version applied last. */
export async function checkCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  const dir = moduleDir(input.args.dir);
  const plan = await planModule(ctx, dir);
  const m = plan.module;
  const applied = liveApplied((await readApplied(ctx))[m.dir], await allRuns(ctx, [plan.backupDir])) ?? null;
  const files = new HostFiles(ctx);
  const targets = [];
  for (const s of plan.steps) {
    const t = typeof s.op.target === 'string' ? s.op.target : null;
    if (!t) {
      targets.push({ id: s.op.id, type: s.op.type, target: null, state: s.plan.summary });
      continue;
    }
    const real = ctx.fs.diskPath(t);
    const info = await files.lstat(real);
    let state = !info
      ? 'absent'
      : info.type === 'symlink'
        ? `symlink -> ${await files.readlink(real)}`
        : `${info.type}, mode ${info.mode.toString(8)}, owner ${info.uid}:${info.gid}, ${info.size} bytes${info.type === 'file' ? `, sha256 ${(await files.sha256(real)).slice(0, 16)}…` : ''}`;
    if (s.op.type === 'append' && info?.type === 'file') {
      const b = findBlock(
        await ctx.localFs.readFile(real),
        markerLines(
          typeof s.op.marker === 'string' ? s.op.marker : DEFAULT_MARKER,
          typeof s.op.identifier === 'string' ? s.op.identifier : s.op.id,
        ),
      );
      state += b.position ? '; block present' : '; block absent';
    }
    targets.push({ id: s.op.id, type: s.op.type, target: t, state });
  }
  const runs = (await allRuns(ctx, [plan.backupDir])).filter((r) => r.module_dir === m.dir);
  const newer = !applied || semverGt(m.metadata.schema_version, applied.version);
  const out = {
    module: m.dir,
    file: m.file,
    schema_version: m.metadata.schema_version,
    applied,
    would_apply: newer,
    steps: plan.steps.map((s) => ({
      step: s.step,
      id: s.op.id,
      type: s.op.type,
      phase: s.op.phase,
      summary: s.plan.summary,
    })),
    disabled: plan.disabled.map((d) => d.id),
    targets,
    runs: runs.map((r) => ({ run: r.run, state: r.state })),
  };
  if (input.options.json) {
    ctx.io.out(json(out));
    return 0;
  }
  const lines = [
    ...planLines(plan),
    'targets now:',
    ...targets.map((t) => `  ${t.id}: ${t.target ? `${t.target}: ` : ''}${t.state}`),
  ];
  lines.push(
    applied
      ? `applied last: ${applied.version} (run ${applied.run}, ${applied.at}); ${newer ? `${m.metadata.schema_version} is newer: apply would run it` : `${m.metadata.schema_version} is not newer: apply needs --force`}`
      : 'never applied: apply would run it',
  );
  for (const r of runs.slice(0, 5)) lines.push(`  run ${r.run}: ${r.state}`);
  ctx.io.out(`${lines.join('\n')}\n`);
  return 0;
}

function formatRollback(r: RollbackOutcome): string {
  const lines = [
    `rollback of run ${r.run}:`,
    ...r.steps.map((s) => `  ${s.ok ? 'undone' : 'FAILED'} step ${s.step} ${s.op}: ${s.detail}`),
  ];
  lines.push(
    r.complete
      ? 'OK: rollback complete: every touched path is as it was before the run'
      : `INCOMPLETE: step(s) ${r.remaining.join(', ')} could not be undone; the journal keeps them: fix the cause and run the same rollback again`,
  );
  return `${lines.join('\n')}\n`;
}

/** `hotfix rollback [DIR | --run ID] [-y]`: the last run by default. */
export async function rollbackCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  const o = input.options;
  let backupDirs: string[] = [];
  let moduleFilter: string | null = null;
  if (input.args.dir) {
    const m = await readModule(ctx, moduleDir(input.args.dir));
    backupDirs = [ctx.fs.diskPath(m.config.backup_dir)];
    moduleFilter = m.dir;
  }
  const runs = (await allRuns(ctx, backupDirs)).filter((r) => !moduleFilter || r.module_dir === moduleFilter);
  let run: RunHead | undefined;
  if (o.run) {
    run = runs.find((r) => r.run === String(o.run));
    if (!run)
      throw usage(
        `hotfix rollback: no run '${String(o.run)}'. Runs: ${
          runs
            .slice(0, 10)
            .map((r) => `${r.run} (${r.state})`)
            .join(', ') || '(none)'
        }.`,
        'cx-ops hotfix list',
      );
  } else {
    run = runs.find((r) => r.state !== 'rolled-back');
    if (!run)
      throw usage(
        `hotfix rollback: there is no run to roll back${moduleFilter ? ` of ${moduleFilter}` : ''}${runs.length ? ` (every run is rolled back already)` : ''}.`,
        'cx-ops hotfix list',
      );
  }
  if (run.state === 'rolled-back') {
    ctx.io.out(
      o.json
        ? json({ run: run.run, complete: true, steps: [], remaining: [], already: true })
        : `run ${run.run} is rolled back already; nothing to do\n`,
    );
    return 0;
  }
  if (ctx.env.dryRun) {
    ctx.io.out(
      o.json
        ? json({ run: run.run, dry_run: true, to_undo: run.to_undo })
        : `would undo step(s) ${run.to_undo.join(', ') || '(none)'} of run ${run.run} (${run.module_dir}); nothing was changed\n`,
    );
    return 0;
  }
  if (
    !(await ctx.io.confirm(
      `Roll back run ${run.run} of ${run.module_dir} (${run.to_undo.length} step(s), state ${run.state})?`,
    ))
  ) {
    ctx.io.err('not rolled back: not confirmed (answer yes on a terminal, or pass -y)\n');
    return 1;
  }
  const held = await lock(ctx, `hotfix rollback ${run.run}`);
  try {
    const fresh = (await readRun(ctx, run.dir))!;
    const r = await rollbackRun(ctx, fresh, 'cx-ops hotfix rollback');
    const backupDir = run.dir.slice(0, run.dir.lastIndexOf('/runs/'));
    await logRollback(ctx, backupDir, run.run, r);
    await writeOperationLog(ctx, backupDir, (await readRun(ctx, run.dir))!);
    if (r.complete) await forgetApplied(ctx, run.module_dir, run.run);
    ctx.io.out(o.json ? json(r) : formatRollback(r));
    return r.complete ? 0 : 5;
  } finally {
    await held.release();
  }
}

/** Who holds the hotfix lock now (a live apply or rollback), or null; taken and given back at once when free. */
async function lockHolder(ctx: Ctx): Promise<{ pid: number; command: string } | null> {
  try {
    await (await ctx.lock('hotfix', { what: 'hotfix list' })).release();
    return null;
  } catch (e) {
    if (e instanceof CxError && e.code === 'CX_ERR_STATE_LOCKED')
      return { pid: Number(e.params.pid), command: String(e.params.command ?? '') };
    return null; // the lock cannot be read (another user's data directory): states as the journals say
  }
}

/**
 * The run a live holder of the lock is working on: the run its rollback names, or the newest
 * unfinished run of the module its apply names. Its journal looks interrupted; it is running.
 */
function liveRun(runs: RunHead[], holder: { command: string }): RunHead | undefined {
  const words = holder.command.split(' ');
  const at = words.indexOf('hotfix');
  const verb = words[at + 1];
  const what = words.slice(at + 2).join(' ');
  if (verb === 'rollback') return runs.find((r) => r.run === what && r.state === 'interrupted');
  if (verb === 'apply') return runs.find((r) => r.module_dir === what && r.state === 'interrupted');
  return undefined;
}

/** `hotfix list`: applied modules and runs (a run under way is shown running, with its process). */
export async function listCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  const applied = await readApplied(ctx);
  const runs = await allRuns(ctx);
  const holder = runs.some((r) => r.state === 'interrupted') ? await lockHolder(ctx) : null;
  const live = holder ? liveRun(runs, holder) : undefined;
  const out = {
    applied: Object.entries(applied).map(([module, v]) => ({ module, ...v })),
    runs: runs.map((r) => ({
      run: r.run,
      module: r.module_dir,
      schema_version: r.schema_version,
      started: r.started,
      state: r === live ? 'running' : r.state,
      ...(r === live ? { pid: holder!.pid, command: holder!.command } : {}),
      journal: r.journal,
    })),
  };
  if (input.options.json) {
    ctx.io.out(json(out));
    return 0;
  }
  const lines = [
    'applied modules:',
    ...(out.applied.length
      ? out.applied.map((a) => `  ${a.module} ${a.version} (run ${a.run}, ${a.at})`)
      : ['  (none)']),
    'runs:',
  ];
  lines.push(
    ...(out.runs.length
      ? out.runs.map(
          (r) =>
            `  ${r.run}  ${r.state.padEnd(19)} ${r.module} ${r.schema_version}${'pid' in r ? ` (pid ${r.pid}: ${r.command})` : ''}`,
        )
      : ['  (none)']),
  );
  ctx.io.out(`${lines.join('\n')}\n`);
  return 0;
}

/** `hotfix snapshots`: what each run captured (restorable by id with hotfix rollback --run ID or cx-ops-rollback --restore-snapshot ID). */
export async function snapshotsCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  const runs: RunSummary[] = [];
  for (const h of await allRuns(ctx)) {
    const r = await readRun(ctx, h.dir);
    if (r) runs.push({ ...r, state: h.state });
  }
  const snaps = runs.map((r) => {
    const intents = r.records.filter((x) => x.t === 'intent') as Array<{
      step: number;
      op: string;
      prior: Array<{ path: string; kind: string }>;
      undo: Array<{ do: string }>;
    }>;
    return {
      id: r.run,
      module: r.module_dir,
      created: r.started,
      state: r.state,
      paths: [...new Set(intents.flatMap((i) => i.prior.filter((p) => !p.path.endsWith('.tmp')).map((p) => p.path)))],
      captures: intents.flatMap((i) => i.undo.filter((u) => u.do !== 'restore').map((u) => `${i.op}: ${u.do}`)),
    };
  });
  if (input.options.json) {
    ctx.io.out(json(snaps));
    return 0;
  }
  if (!snaps.length) ctx.io.out('No snapshots yet: every hotfix apply captures the prior state of what it touches.\n');
  for (const s of snaps)
    ctx.io.out(
      `${s.id}  ${s.state}  ${s.module}\n  paths: ${s.paths.join(', ') || '(none)'}\n${s.captures.length ? `  captures: ${s.captures.join(', ')}\n` : ''}`,
    );
  return 0;
}
