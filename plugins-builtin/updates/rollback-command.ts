/**
 * The `update rollback [--list] [ID]` command: lists snapshots, or rolls back to one (the
 * newest by default) under the update lock, finishing an interrupted rollback first.
 */
import { CxError, defineFix, type CommandInput, type PluginContext } from 'cx-ops/sdk';
import { askUpdater } from './updater-contract.js';
import { readJournal, rollbackTo, type RollbackReport } from './rollback.js';
import { listSnapshots, readSnapshot, type SnapshotManifest, type SnapshotSummary } from './snapshot-store.js';
import type { UpdatesConfig } from './update-check.js';

function formatList(list: SnapshotSummary[]): string {
  if (!list.length)
    return 'No snapshots yet. `cx-ops update apply` takes one first when updates.backup_before_update is on.\n';
  const rows = list.map((s) =>
    s.damaged
      ? [
          s.id,
          '?',
          '?',
          '?',
          `DAMAGED: manifest.json ${s.damaged.problem}; ${s.damaged.archives.length ? `restorable by hand from ${s.damaged.archives.join(', ')}` : 'no archive left'}`,
        ]
      : [s.id, s.created.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'), String(s.files), String(s.packages), s.reason],
  );
  const head = ['ID', 'CREATED', 'FILES', 'PACKAGES', 'REASON'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return `${[head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function formatReport(r: RollbackReport): string {
  const lines = [
    `Rollback to ${r.id}${r.dryRun ? ' (dry run: nothing is changed)' : ''}${r.resumed ? ' (finishing an interrupted rollback)' : ''}`,
  ];
  for (const a of r.areas) {
    lines.push(
      `  ${a.dir}: ${r.dryRun ? 'would restore' : 'restored'} ${a.restored} entr${a.restored === 1 ? 'y' : 'ies'}${a.removed.length ? `, ${r.dryRun ? 'would remove' : 'removed'} ${a.removed.length} made since (${a.removed.slice(0, 5).join(', ')}${a.removed.length > 5 ? ', ...' : ''})` : ''}`,
    );
    for (const m of a.mismatches) lines.push(`    still differs: ${m}`);
  }
  const p = r.packages;
  if (p?.skipped) lines.push(`  packages: ${p.skipped}`);
  else if (p) {
    lines.push(
      `  packages: ${r.dryRun ? 'would put back' : 'put back'} ${p.restored.length}: ${p.restored.map((x) => `${x.name} ${x.version}`).join(', ') || '(none differed)'}`,
    );
    for (const u of p.unavailable) lines.push(`    could not restore ${u.name} ${u.version}: ${u.reason}`);
    if (p.added?.length)
      lines.push(
        `    installed since the snapshot, left as they are: ${p.added.map((x) => `${x.name} ${x.version}`).join(', ')}`,
      );
  }
  if (r.dryRun) lines.push('PLANNED: dry run: nothing was changed');
  else lines.push(r.ok ? 'OK: rollback complete' : 'FAILED: the rollback did not put everything back (see above)');
  return `${lines.join('\n')}\n`;
}

/** The `update rollback` command. */
export async function rollbackCommand(ctx: PluginContext<UpdatesConfig>, input: CommandInput): Promise<number> {
  const o = input.options;
  const list = await listSnapshots(ctx);
  if (o.list) {
    ctx.io.out(o.json ? `${JSON.stringify(list, null, 2)}\n` : formatList(list));
    return 0;
  }
  const journal = await readJournal(ctx);
  const asked = input.args.id ? String(input.args.id) : null;
  const usage = (detail: string, hint: string) => new CxError('CX_ERR_USAGE', { detail, hint });
  if (journal && asked && asked !== journal.id) {
    throw usage(
      `update rollback: a rollback to ${journal.id} was interrupted; it must be finished before rolling back to ${asked}.`,
      `${ctx.env.command} update rollback ${journal.id}`,
    );
  }
  if (!list.length && !journal) {
    throw usage(
      'update rollback: there are no snapshots to roll back to: `cx-ops update apply` takes one first when updates.backup_before_update is on.',
      `${ctx.env.command} update apply --packages   (takes a snapshot, then updates)`,
    );
  }
  // The newest intact snapshot by default; a damaged one only when asked for (its error says what is left).
  const id = asked ?? journal?.id ?? (list.find((s) => !s.damaged) ?? list[0]!).id;
  const m = await readSnapshot(ctx, id);
  if (!m) {
    throw usage(
      `update rollback: unknown snapshot '${id}'. Valid snapshots: ${
        list
          .filter((s) => !s.damaged)
          .map((s) => s.id)
          .join(', ') || '(none)'
      }.`,
      `${ctx.env.command} update rollback --list`,
    );
  }
  if (
    !ctx.env.dryRun &&
    !(await ctx.io.confirm(
      `Roll back ${m.areas.map((a) => a.dir).join(', ')} and ${m.packages.list.length} package version(s) to snapshot ${id}?`,
    ))
  ) {
    ctx.io.err('not rolled back: not confirmed (answer yes, or pass -y)\n');
    return 1;
  }
  const report = await rollbackToSnapshot(ctx, m);
  ctx.io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : 1;
}

/** Rolls back to one snapshot under the update lock (files, then the recorded package versions). */
async function rollbackToSnapshot(ctx: PluginContext<UpdatesConfig>, m: SnapshotManifest): Promise<RollbackReport> {
  const lock = await ctx.lock('update', { what: `update rollback ${m.id}` });
  try {
    return await rollbackTo(ctx, m, {
      restorePackages: m.packages.updater
        ? (snap) =>
            askUpdater(
              ctx,
              snap.packages.updater!,
              { op: 'restore', packages: snap.packages.list },
              { dryRun: ctx.env.dryRun },
            )
        : null,
    });
  } finally {
    await lock.release();
  }
}

/**
 * The fix `rollback_last_update` (the heal plugin's rollback_update action): finishes an
 * interrupted rollback, else rolls back to the newest intact snapshot. No snapshot: not ok, and says so.
 */
export const rollbackLastUpdateFix = defineFix<UpdatesConfig>({
  id: 'rollback_last_update',
  name: 'Roll back the last update',
  description: 'Puts files and package versions back as the newest snapshot (update apply) recorded them',
  safe: false,
  async run(ctx) {
    const id = (await readJournal(ctx))?.id ?? (await listSnapshots(ctx)).find((s) => !s.damaged)?.id;
    const m = id ? await readSnapshot(ctx, id) : null;
    if (!m) return { ok: false, message: 'no snapshot to roll back to (update apply takes one first)', actions: [] };
    const r = await rollbackToSnapshot(ctx, m);
    return {
      ok: r.ok || r.dryRun,
      message: r.dryRun
        ? `would roll back to snapshot ${m.id}`
        : r.ok
          ? `rolled back to snapshot ${m.id}`
          : `rollback to ${m.id} incomplete`,
      actions: [
        ...r.areas.map((a) => `restore ${a.dir}: ${a.restored} entries, ${a.removed.length} removed`),
        ...(r.packages?.restored ?? []).map((p) => `reinstall ${p.name} ${p.version}`),
      ],
    };
  },
});
