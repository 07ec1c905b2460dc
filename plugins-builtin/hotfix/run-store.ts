/**
 * What the hotfix plugin remembers between runs, in its state directory: the schema_version
 * applied last from each module (`applied.json`, written only after post-checks pass) and the
 * index of runs (`runs.jsonl`: where each run's journal is). Plus the seed's logs: the run log
 * (`log_file`), `operations.json` and `rollback.log` under backup_dir.
 */
import type { PluginContext } from 'cx-ops/sdk';
import { readStateFile, shippedSchemaValidator } from 'cx-ops/sdk/host';
import { HostFiles } from './host-files.js';
import { listHeads, RunHeads, type RunHead } from './run-heads.js';
import { newestFirst, readRun, type RunSummary } from './run-journal.js';

export interface AppliedVersion {
  version: string;
  run: string;
  at: string;
}

const appliedFile = (ctx: PluginContext<unknown>) => `${ctx.env.stateDir}/applied.json`;
const indexFile = (ctx: PluginContext<unknown>) => `${ctx.env.stateDir}/runs.jsonl`;

export async function readApplied(ctx: PluginContext<unknown>): Promise<Record<string, AppliedVersion>> {
  const applied = await readStateFile<{ modules: Record<string, AppliedVersion> }>(ctx.localFs, appliedFile(ctx), {
    what: 'hotfix applied-versions file',
    schema: 'schemas/hotfix-applied.schema.json',
    validate: shippedSchemaValidator('hotfix-applied.schema.json'),
    consequence: "each module's applied schema_version is then forgotten (the runs and their backups stay)",
  });
  return applied?.modules ?? {};
}

export async function recordApplied(ctx: PluginContext<unknown>, moduleDir: string, v: AppliedVersion): Promise<void> {
  const all = await readApplied(ctx);
  all[moduleDir] = v;
  await ctx.localFs.mkdir(ctx.env.stateDir, { mode: 0o700 });
  await ctx.localFs.writeFile(appliedFile(ctx), `${JSON.stringify({ modules: all }, null, 2)}\n`, { mode: 0o600 });
}

/**
 * After `run` was rolled back: the module's applied version becomes that of its newest run
 * still applied (or none).
 */
export async function forgetApplied(ctx: PluginContext<unknown>, moduleDir: string, run: string): Promise<void> {
  const all = await readApplied(ctx);
  if (all[moduleDir]?.run !== run) return;
  const still = (await allRuns(ctx)).find((r) => r.module_dir === moduleDir && r.state === 'applied' && r.run !== run);
  if (still) all[moduleDir] = { version: still.schema_version, run: still.run, at: still.started };
  else delete all[moduleDir];
  await ctx.localFs.writeFile(appliedFile(ctx), `${JSON.stringify({ modules: all }, null, 2)}\n`, { mode: 0o600 });
}

/** Adds a run to the index (before its journal's first record, so a crash leaves it findable). */
export async function indexRun(
  ctx: PluginContext<unknown>,
  entry: { run: string; dir: string; module_dir: string },
): Promise<void> {
  await ctx.localFs.mkdir(ctx.env.stateDir, { mode: 0o700 });
  await new HostFiles(ctx).appendDurable(indexFile(ctx), `${JSON.stringify(entry)}\n`);
}

/** Every indexed run (and any other run in the given backup dirs), newest first: heads, each journal parsed only when it changed. */
export async function allRuns(ctx: PluginContext<unknown>, backupDirs: string[] = []): Promise<RunHead[]> {
  const dirs = new Set<string>();
  if (await ctx.localFs.stat(indexFile(ctx))) {
    for (const l of (await ctx.localFs.readFile(indexFile(ctx))).split('\n')) {
      try {
        if (l) dirs.add((JSON.parse(l) as { dir: string }).dir);
      } catch {
        /* a torn index line: its run is found through its backup dir */
      }
    }
  }
  const heads = await RunHeads.load(ctx);
  const out = new Map<string, RunHead>();
  for (const d of dirs) {
    const r = await heads.head(d);
    if (r) out.set(r.dir, r);
  }
  for (const b of backupDirs) for (const r of await listHeads(ctx, b, heads)) out.set(r.dir, r);
  await heads.save();
  return [...out.values()].sort(newestFirst);
}

/** Runs that block a new apply: interrupted, or rolled back incompletely. */
export function pendingRuns(runs: RunHead[]): RunHead[] {
  return runs.filter((r) => r.state === 'interrupted' || r.state === 'rollback-incomplete');
}

/** Appends a line to the run log (`log_file`), creating its directory. */
export async function logLine(ctx: PluginContext<unknown>, file: string, level: string, text: string): Promise<void> {
  if (ctx.env.dryRun) return;
  await ctx.localFs.mkdir(file.slice(0, file.lastIndexOf('/')) || '/');
  await ctx.localFs.writeFile(file, `${new Date().toISOString()} ${level} ${text}\n`, { append: true, mode: 0o640 });
}

/** One run of the operation log. */
interface LoggedRun {
  run: string;
  module: string;
  schema_version: string;
  started: string;
  state: string;
  journal: string;
  /** The journal's size when `operations` were taken from it. */
  journal_bytes: number;
  operations: Array<Record<string, unknown>>;
}

const loggedOps = (r: RunSummary) =>
  r.records
    .filter((x) => x.t === 'done' || x.t === 'failed' || x.t === 'undone' || x.t === 'undo_failed')
    .map((x) => ({ ...x }));

/**
 * Rewrites `<backup_dir>/operations.json` (the seed's operation log): the last 50 runs there.
 * `fresh` is the run just written (read whole); every other run keeps the operations the log
 * had for it while its journal is the size it was then (else they are read again), so a run
 * costs one journal read, not one per past run.
 */
export async function writeOperationLog(
  ctx: PluginContext<unknown>,
  backupDir: string,
  fresh: RunSummary,
): Promise<void> {
  const file = `${backupDir}/operations.json`;
  const before = new Map<string, LoggedRun>();
  try {
    if (await ctx.localFs.lstat(file))
      for (const r of (JSON.parse(await ctx.localFs.readFile(file)) as { runs: LoggedRun[] }).runs)
        if (typeof r?.run === 'string' && typeof r.journal_bytes === 'number' && Array.isArray(r.operations))
          before.set(r.run, r);
  } catch {
    // damaged or over the read cap: every run's operations are read from its journal
  }
  const heads = await RunHeads.load(ctx);
  await heads.took(fresh);
  const runs: LoggedRun[] = [];
  for (const h of (await listHeads(ctx, backupDir, heads)).slice(0, 50)) {
    const kept = before.get(h.run);
    let operations = kept?.journal_bytes === h.journal_bytes ? kept.operations : undefined;
    if (h.dir === fresh.dir) operations = loggedOps(fresh);
    if (!operations) {
      const whole = await readRun(ctx, h.dir);
      operations = whole ? loggedOps(whole) : [];
    }
    runs.push({
      run: h.run,
      module: h.module_dir,
      schema_version: h.schema_version,
      started: h.started,
      state: h.state,
      journal: h.journal,
      journal_bytes: h.journal_bytes,
      operations,
    });
  }
  await heads.save();
  await ctx.localFs.writeFile(file, `${JSON.stringify({ runs }, null, 2)}\n`, { mode: 0o600 });
}
