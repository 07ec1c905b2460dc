/**
 * Rolling a run back from its journal: every step with an intent and no `undone` record, newest
 * first, each by its undo actions; every restored path is verified against its prior state.
 * A step whose undo fails is journaled (`undo_failed`) and the others are still undone; the
 * outcome says plainly whether the rollback was complete and what remains. Running it again
 * retries what remains (every action is idempotent). cx-ops-rollback implements the same.
 */
import { createHash } from 'node:crypto';
import { messageOf, type PluginContext } from 'cx-ops/sdk';
import { askServiceManager } from '../services/service-manager-contract.js';
import { findBlock, withoutBlock } from './markers.js';
import { HostFiles } from './host-files.js';
import { pgArgs } from './ops/capture.js';
import { restorePath } from './prior-state.js';
import { restoreMany } from './prior-state-batch.js';
import { RunJournal, type JournalRecord, type RunSummary, type UndoAction } from './run-journal.js';

type Intent = Extract<JournalRecord, { t: 'intent' }>;

export interface StepUndo {
  step: number;
  op: string;
  ok: boolean;
  detail: string;
}

export interface RollbackOutcome {
  run: string;
  complete: boolean;
  steps: StepUndo[];
  /** Steps still to undo (empty when complete). */
  remaining: number[];
}

/** The first intent of each step (a resumed step keeps its first, original, prior state). */
export function intentsOf(s: RunSummary): Map<number, Intent> {
  const out = new Map<number, Intent>();
  for (const r of s.records) if (r.t === 'intent' && !out.has(r.step)) out.set(r.step, r);
  return out;
}

/** Restores a step's paths, newest first; with `unsynced`, leaves their fsyncs to the caller. */
async function restoreAll(files: HostFiles, intent: Intent, runDir: string, unsynced?: Set<string>): Promise<string[]> {
  const left: string[] = [];
  for (const p of [...intent.prior].reverse()) {
    left.push(...(await restorePath(files, p, runDir, unsynced)));
  }
  return left;
}

/** What a restore that put every path of `intent` back says. */
const restoredText = (intent: Intent) =>
  `restored ${
    intent.prior
      .filter((p) => !p.path.endsWith('.tmp'))
      .map((p) => p.path)
      .join(', ') || 'nothing'
  }`;

/**
 * Undoes steps that only restore paths (no path shared), all their paths through restoreMany:
 * per step its `undone` record, or `undo_failed` with what still differs or the error.
 */
async function restoreSteps(
  files: HostFiles,
  steps: Intent[],
  runDir: string,
  unsynced: Set<string>,
): Promise<Array<{ rec: JournalRecord; out: StepUndo }>> {
  const states = steps.flatMap((i) => [...i.prior].reverse());
  const left = await restoreMany(files, states, runDir, unsynced);
  let at = 0;
  return steps.map((intent) => {
    const mine = left.slice(at, (at += intent.prior.length));
    const failure = mine.find((x) => x instanceof Error);
    const differs = mine.flatMap((x) => (x instanceof Error ? [] : x));
    const error = failure ? failure.message : differs.length ? `still differs: ${differs.join('; ')}` : null;
    const { step, op } = intent;
    if (error) return { rec: { t: 'undo_failed', step, op, error }, out: { step, op, ok: false, detail: error } };
    const detail = restoredText(intent);
    return { rec: { t: 'undone', step, op, detail }, out: { step, op, ok: true, detail } };
  });
}

/** Whether a step's undo is only "put the touched paths back". */
const restoresOnly = (i: Intent) => i.undo.length === 1 && i.undo[0]!.do === 'restore';

/** Performs one undo action; resolves with what it did, throws when it could not. */
async function perform(
  ctx: PluginContext<unknown>,
  files: HostFiles,
  a: UndoAction,
  intent: Intent,
  runDir: string,
  unsynced?: Set<string>,
): Promise<string> {
  switch (a.do) {
    case 'restore': {
      const left = await restoreAll(files, intent, runDir, unsynced);
      if (left.length) throw new Error(`still differs: ${left.join('; ')}`);
      return restoredText(intent);
    }
    case 'remove_block': {
      const info = await files.lstat(a.path);
      if (!info) return `${a.path} is gone; nothing to remove`;
      const text = await ctx.localFs.readFile(a.path);
      if (createHash('sha256').update(text).digest('hex') === a.written_sha256) {
        const left = await restoreAll(files, intent, runDir);
        if (left.length) throw new Error(`still differs: ${left.join('; ')}`);
        return `${a.path} put back as it was`;
      }
      const found = findBlock(text, { begin: a.begin, end: a.end });
      if (found.problem)
        throw new Error(`${a.path}:${found.problem.line}: ${found.problem.detail}; the block was not removed`);
      if (!found.position) return `${a.path}: the block is not there (already removed)`;
      await ctx.localFs.writeFile(a.path, withoutBlock(text, found.position));
      return `${a.path} changed since the hotfix: only its block '${a.begin}' was removed`;
    }
    case 'run': {
      const r = await ctx.exec.run(a.argv[0]!, a.argv.slice(1), { cwd: a.cwd, timeoutMs: a.timeout_ms, env: a.env });
      if (r.exitCode !== 0)
        throw new Error(
          `rollback script ${a.argv[a.argv.length - 1]} failed (exit ${r.exitCode ?? r.signal}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
        );
      return `ran ${a.argv[a.argv.length - 1]}`;
    }
    case 'sqlite_restore': {
      const backup = `${runDir}/${a.backup}`;
      if (!(await files.lstat(backup))) return 'the capture had not been taken; nothing to restore';
      const r = await ctx.exec.run('sqlite3', [a.path, `.restore '${backup.replace(/'/g, "''")}'`], {
        timeoutMs: 3_600_000,
      });
      if (r.exitCode !== 0) throw new Error(`sqlite3 .restore into ${a.path} failed: ${r.stderr.trim()}`);
      const c = await ctx.exec.run('sqlite3', [a.path, 'PRAGMA integrity_check;'], { timeoutMs: 3_600_000 });
      if (c.stdout.trim() !== 'ok')
        throw new Error(`${a.path} fails PRAGMA integrity_check after the restore: ${c.stdout.trim()}`);
      return `SQLite ${a.path} restored (integrity_check ok)`;
    }
    case 'pg_restore': {
      const dump = `${runDir}/${a.dump}`;
      if (!(await files.lstat(dump))) return 'the dump had not been taken; nothing to restore';
      const r = await ctx.exec.run(
        'pg_restore',
        [
          '--clean',
          '--if-exists',
          '--exit-on-error',
          '--single-transaction',
          ...pgArgs(a.conn),
          '-d',
          a.conn.database,
          dump,
        ],
        { timeoutMs: 3_600_000 },
      );
      if (r.exitCode !== 0)
        throw new Error(
          `pg_restore into ${a.conn.database} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
      return `PostgreSQL ${a.conn.database} restored from ${a.dump}`;
    }
    case 'services': {
      const file = `${runDir}/${a.file}`;
      if (!(await files.lstat(file))) return 'the service states had not been captured; nothing to restore';
      const states = JSON.parse(await ctx.localFs.readFile(file)) as Array<{
        name: string;
        manager: string;
        state: string;
      }>;
      const problems: string[] = [];
      const did: string[] = [];
      for (const s of states) {
        if (!s.manager) continue;
        const now = await askServiceManager(ctx, s.manager, { op: 'status', name: s.name });
        if (now.state === s.state || (s.state !== 'running' && now.state !== 'running')) continue;
        if (s.state === 'running') {
          const r = await askServiceManager(ctx, s.manager, { op: 'restart', name: s.name });
          if (r.ok) did.push(`started ${s.name}`);
          else problems.push(`${s.name}: ${r.detail}`);
        } else
          problems.push(
            `${s.name} runs now but was ${s.state}; the service-manager contract cannot stop it (${s.manager})`,
          );
      }
      if (problems.length) throw new Error(problems.join('; '));
      return did.join(', ') || 'services as they were';
    }
  }
}

/**
 * Rolls back `run` (see the file comment). The caller holds the lock. `onStep` reports progress.
 * `partial`: undo only `run.to_undo` inside a run that goes on (no rollback_begin/end records).
 */
export async function rollbackRun(
  ctx: PluginContext<unknown>,
  run: RunSummary,
  reason: string,
  onStep?: (s: StepUndo) => void,
  partial = false,
): Promise<RollbackOutcome> {
  const files = new HostFiles(ctx);
  const journal = new RunJournal(files, run.dir);
  await journal.reopen(ctx);
  // A partial undo (one step of a run that goes on) writes only its undone records.
  if (!partial) await journal.append({ t: 'rollback_begin', reason });
  const intents = intentsOf(run);
  const steps: StepUndo[] = [];
  const remaining: number[] = [];
  // Consecutive steps that only restore paths are undone as a batch: restored unsynced, then
  // synced together, then their records journaled in one write. A crash before that write
  // leaves them to undo again, which finds them restored already.
  let records: JournalRecord[] = [];
  const unsynced = new Set<string>();
  const flush = async () => {
    if (!records.length) return;
    await files.fsync(unsynced);
    await journal.appendAll(records);
    records = [];
    unsynced.clear();
  };
  const undoStep = async (step: number) => {
    const intent = intents.get(step)!;
    try {
      const did: string[] = [];
      for (const a of intent.undo) did.push(await perform(ctx, files, a, intent, run.dir));
      // An execute without rollback_script has nothing to run; its (empty) undo still counts as done.
      const detail = did.join('; ') || 'nothing to undo (no rollback_script)';
      return {
        rec: { t: 'undone', step, op: intent.op, detail } as JournalRecord,
        out: { step, op: intent.op, ok: true, detail },
      };
    } catch (e) {
      const error = messageOf(e);
      return {
        rec: { t: 'undo_failed', step, op: intent.op, error } as JournalRecord,
        out: { step, op: intent.op, ok: false, detail: error },
      };
    }
  };
  const order = run.to_undo;
  for (let i = 0; i < order.length;) {
    // A batch: the next steps that only restore paths, no path shared (so their restores commute).
    const batch: number[] = [];
    const seen = new Set<string>();
    for (let j = i; j < order.length; j++) {
      const intent = intents.get(order[j]!)!;
      if (!restoresOnly(intent) || intent.prior.some((p) => seen.has(p.path))) break;
      for (const p of intent.prior) seen.add(p.path);
      batch.push(order[j]!);
    }
    const group = batch.length ? batch : [order[i]!];
    const results = batch.length
      ? await restoreSteps(
          files,
          batch.map((step) => intents.get(step)!),
          run.dir,
          unsynced,
        )
      : [await undoStep(order[i]!)];
    for (const r of results) {
      records.push(r.rec);
      steps.push(r.out);
      if (!r.out.ok) remaining.push(r.out.step);
      onStep?.(r.out);
    }
    await flush();
    i += group.length;
  }
  const complete = remaining.length === 0;
  if (!partial) await journal.append({ t: 'rollback_end', complete, remaining });
  return { run: run.run, complete, steps, remaining };
}
