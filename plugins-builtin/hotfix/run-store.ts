/**
 * What the hotfix plugin remembers between runs, in its state directory: the schema_version
 * applied last from each module (`applied.json`, written only after post-checks pass) and the
 * index of runs (`runs.jsonl`: where each run's journal is). Plus the seed's logs: the run log
 * (`log_file`), `operations.json` and `rollback.log` under backup_dir.
 */
import type { PluginContext } from 'cx-ops/sdk';
import { readStateFile, shippedSchemaValidator } from 'cx-ops/sdk/host';
import { HostFiles } from './host-files.js';
import { listRuns, newestFirst, readRun, type RunSummary } from './run-journal.js';

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

/** Every indexed run (and any other run in the given backup dirs), newest first. */
export async function allRuns(ctx: PluginContext<unknown>, backupDirs: string[] = []): Promise<RunSummary[]> {
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
  const out = new Map<string, RunSummary>();
  for (const d of dirs) {
    const r = await readRun(ctx, d);
    if (r) out.set(r.dir, r);
  }
  for (const b of backupDirs) for (const r of await listRuns(ctx, b)) out.set(r.dir, r);
  return [...out.values()].sort(newestFirst);
}

/** Runs that block a new apply: interrupted, or rolled back incompletely. */
export function pendingRuns(runs: RunSummary[]): RunSummary[] {
  return runs.filter((r) => r.state === 'interrupted' || r.state === 'rollback-incomplete');
}

/** Appends a line to the run log (`log_file`), creating its directory. */
export async function logLine(ctx: PluginContext<unknown>, file: string, level: string, text: string): Promise<void> {
  if (ctx.env.dryRun) return;
  await ctx.localFs.mkdir(file.slice(0, file.lastIndexOf('/')) || '/');
  await ctx.localFs.writeFile(file, `${new Date().toISOString()} ${level} ${text}\n`, { append: true, mode: 0o640 });
}

/** Rewrites `<backup_dir>/operations.json` (the seed's operation log): the last 50 runs there. */
export async function writeOperationLog(ctx: PluginContext<unknown>, backupDir: string): Promise<void> {
  const runs = (await listRuns(ctx, backupDir)).slice(0, 50).map((r) => ({
    run: r.run,
    module: r.module_dir,
    schema_version: r.schema_version,
    started: r.started,
    state: r.state,
    journal: r.journal,
    operations: r.records
      .filter((x) => x.t === 'done' || x.t === 'failed' || x.t === 'undone' || x.t === 'undo_failed')
      .map((x) => ({ ...x })),
  }));
  await ctx.localFs.writeFile(`${backupDir}/operations.json`, `${JSON.stringify({ runs }, null, 2)}\n`, {
    mode: 0o600,
  });
}
