/**
 * `update rollback`: puts a snapshot's files back byte for byte (content, mode, owner,
 * symlinks; files made since are removed) and asks the updater to reinstall the recorded
 * package versions. Every step is written to a journal first, so a rollback that was killed
 * midway is finished by running it again.
 */
import { appendJournal, type PluginContext } from 'cx-ops/sdk';
import { readStateFile, shippedSchemaValidator } from 'cx-ops/sdk/host';
import type { RestoreResult } from './updater-contract.js';
import { walkTree, type TreeEntry } from './file-tree.js';
import { snapshotStore, type AreaName, type SnapshotManifest } from './snapshot-store.js';

export type RollbackStep = AreaName | 'packages';

/** The snapshot's areas in the order they were taken, then the packages. */
export function rollbackSteps(m: SnapshotManifest): RollbackStep[] {
  return [...m.areas.map((a) => a.name), 'packages'];
}

export interface RollbackJournal {
  id: string;
  started: string;
  done: RollbackStep[];
}

export interface AreaRestore {
  name: AreaName;
  dir: string;
  /** Entries removed because the snapshot did not have them. */
  removed: string[];
  restored: number;
  /** Entries that still differ afterwards (should be empty). */
  mismatches: string[];
}

export interface RollbackReport {
  id: string;
  /** True when an interrupted rollback was finished. */
  resumed: boolean;
  dryRun: boolean;
  areas: AreaRestore[];
  packages: (RestoreResult & { skipped?: string }) | null;
  ok: boolean;
}

export function journalPath(ctx: PluginContext<unknown>): string {
  return `${ctx.env.stateDir}/rollback-journal.json`;
}

/**
 * The journal of an interrupted rollback, checked against schemas/rollback-journal.schema.json;
 * null when none was interrupted. A damaged one is CX_ERR_STATE_INVALID, never silently "none":
 * forgetting it would leave a half-done rollback unfinished.
 */
export async function readJournal(ctx: PluginContext<unknown>): Promise<RollbackJournal | null> {
  return readStateFile<RollbackJournal>(ctx.localFs, journalPath(ctx), {
    what: 'rollback journal',
    schema: 'schemas/rollback-journal.schema.json',
    validate: shippedSchemaValidator('rollback-journal.schema.json'),
    consequence: 'then run update rollback ID again with the snapshot it was rolling back to (update rollback --list)',
  });
}

const same = (a: TreeEntry, b: TreeEntry) =>
  a.type === b.type &&
  a.mode === b.mode &&
  a.uid === b.uid &&
  a.gid === b.gid &&
  a.size === b.size &&
  a.target === b.target;

async function restoreArea(ctx: PluginContext<unknown>, m: SnapshotManifest, name: AreaName): Promise<AreaRestore> {
  const area = m.areas.find((a) => a.name === name)!;
  const result: AreaRestore = { name, dir: area.dir, removed: [], restored: area.entries.length, mismatches: [] };
  if (!area.present || !area.archive) return { ...result, restored: 0 };
  const wanted = new Map(area.entries.map((e) => [e.path, e]));
  const now = await walkTree(ctx, area.dir, area.exclude);
  const extras = now.filter((e) => wanted.get(e.path)?.type !== e.type).map((e) => e.path);
  // Deepest first; a removed directory takes its children with it.
  for (const p of extras.sort((a, b) => b.length - a.length)) {
    if (extras.some((q) => q !== p && p.startsWith(`${q}/`))) continue;
    result.removed.push(p);
    if (!ctx.env.dryRun) await ctx.localFs.remove(`${area.dir}/${p}`, { recursive: true });
  }
  if (ctx.env.dryRun) return result;
  await ctx.localFs.mkdir(area.dir);
  const archive = `${snapshotStore(ctx)}/${m.id}/${area.archive}`;
  const r = await ctx.exec.run('tar', ['--numeric-owner', '--same-owner', '-xpf', archive, '-C', area.dir], {
    timeoutMs: 600_000,
  });
  if (r.exitCode !== 0)
    throw new Error(`restoring ${area.dir} from ${archive} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  const after = new Map((await walkTree(ctx, area.dir, area.exclude)).map((e) => [e.path, e]));
  for (const e of area.entries) {
    const got = after.get(e.path);
    // Directory sizes and mtimes change with their contents; everything else must match.
    if (!got || !same({ ...got, size: e.type === 'directory' ? 0 : got.size }, e)) result.mismatches.push(e.path);
  }
  return result;
}

export interface RollbackOptions {
  /** Reinstalls package versions through the updater; null when there is no updater. */
  restorePackages: ((m: SnapshotManifest) => Promise<RestoreResult>) | null;
  /** Called after each step is done and journaled (progress output). */
  onStep?: (step: RollbackStep) => Promise<void> | void;
}

/** Rolls back to the snapshot, resuming the journal's progress for the same snapshot. */
export async function rollbackTo(
  ctx: PluginContext<unknown>,
  m: SnapshotManifest,
  options: RollbackOptions,
): Promise<RollbackReport> {
  const dryRun = ctx.env.dryRun;
  const prior = await readJournal(ctx);
  const resumed = prior?.id === m.id;
  const journal: RollbackJournal = resumed ? prior! : { id: m.id, started: new Date().toISOString(), done: [] };
  const report: RollbackReport = { id: m.id, resumed, dryRun, areas: [], packages: null, ok: true };
  const save = async () => {
    if (!dryRun) await ctx.localFs.writeFile(journalPath(ctx), `${JSON.stringify(journal)}\n`, { mode: 0o600 });
  };
  await save();
  for (const step of rollbackSteps(m)) {
    if (journal.done.includes(step)) continue;
    if (step === 'packages') {
      if (!m.packages.available)
        report.packages = {
          ok: true,
          restored: [],
          unavailable: [],
          actions: [],
          skipped: `no package list in the snapshot: ${m.packages.reason ?? 'no updater'}`,
        };
      else if (!options.restorePackages)
        report.packages = {
          ok: false,
          restored: [],
          unavailable: [],
          actions: [],
          skipped: `updater '${m.packages.updater}' is not loaded`,
        };
      else report.packages = await options.restorePackages(m);
      if (!report.packages.ok) report.ok = false;
    } else {
      const a = await restoreArea(ctx, m, step);
      report.areas.push(a);
      if (a.mismatches.length) report.ok = false;
    }
    journal.done.push(step);
    await save();
    await options.onStep?.(step);
  }
  if (!dryRun) await ctx.localFs.remove(journalPath(ctx));
  await appendJournal(ctx, {
    run: 'update rollback',
    snapshot: m.id,
    ok: report.ok,
    resumed,
    packages: (report.packages?.restored ?? []).map((p) => `${p.name} ${p.version}`),
    not_restored: (report.packages?.unavailable ?? []).map((p) => `${p.name} ${p.version}`),
  });
  return report;
}
