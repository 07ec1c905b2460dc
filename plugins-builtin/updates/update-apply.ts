/**
 * `update apply --packages|--system [--security]`: check, confirm, `pre_update` (a tap may veto),
 * snapshot first when `backup_before_update` is on, apply through the updater, `post_update`,
 * then prune snapshots older than `rollback_retention_days`. One run at a time (update lock).
 */
import { appendJournal, closest, CxError, type CommandInput, type PluginContext } from 'cx-ops/sdk';
import { postUpdate, preUpdate } from './hooks.js';
import { askUpdater, updaterKind, type UpdateApplyResult } from './updater-contract.js';
import { createSnapshot, pruneSnapshots, type SnapshotManifest } from './snapshot-store.js';
import { checkUpdates, type UpdatesConfig } from './update-check.js';

export interface ApplyReport {
  dryRun: boolean;
  status: 'applied' | 'nothing' | 'planned' | 'declined' | 'vetoed' | 'failed' | 'skipped';
  message: string;
  snapshot: string | null;
  results: Array<{ updater: string } & UpdateApplyResult>;
  pruned: string[];
}

/** The package list for a snapshot, from the first updater that can give one. */
export async function packagesForSnapshot(ctx: PluginContext<unknown>): Promise<SnapshotManifest['packages']> {
  let reason = 'no updater is loaded';
  for (const u of await ctx.registry.list(updaterKind)) {
    const r = await askUpdater(ctx, u.id, { op: 'installed' }, { dryRun: ctx.env.dryRun });
    if (r.available) return { updater: u.id, available: true, list: r.packages };
    reason = r.reason ?? reason;
  }
  return { updater: null, available: false, reason, list: [] };
}

/**
 * What to say about `--only` names that have nothing to apply. A name that is not an installed
 * package is a usage error (CX_ERR_USAGE, with close names); an installed one without a pending
 * update is named with its version. Empty when every name has an update to apply.
 */
async function onlyWithoutUpdate(
  ctx: PluginContext<unknown>,
  only: string[],
  applying: string[],
  security: boolean,
): Promise<string> {
  const idle = only.filter((n) => !applying.includes(n));
  if (!idle.length) return '';
  const installed = await packagesForSnapshot(ctx);
  if (!installed.available) return `no pending ${security ? 'security ' : ''}update for: ${idle.join(', ')}`;
  const versions = new Map(installed.list.map((p) => [p.name, p.version]));
  const missing = idle.filter((n) => !versions.has(n));
  if (missing.length) {
    const hints = missing.map((n) => [n, closest(n, versions.keys())] as const).filter(([, c]) => c.length);
    throw new CxError('CX_ERR_USAGE', {
      detail:
        `update apply --only: ${missing.map((n) => `'${n}'`).join(', ')} ${missing.length === 1 ? 'is not an installed package' : 'are not installed packages'}; nothing was changed.` +
        hints.map(([n, c]) => ` For '${n}', did you mean: ${c.join(', ')}?`).join(''),
      hint: `${ctx.env.command} update check   (lists the packages with pending updates)`,
    });
  }
  return `no pending ${security ? 'security ' : ''}update for: ${idle.map((n) => `${n} (installed: ${versions.get(n)})`).join(', ')}`;
}

export async function applyUpdates(
  ctx: PluginContext<UpdatesConfig>,
  o: {
    security: boolean;
    system: boolean;
    packages: string[];
    say?: (text: string) => void;
    /** Take the snapshot first (default: updates.backup_before_update). */
    snapshot?: boolean;
    /** The caller has decided (a scheduled task): no confirmation is asked. */
    confirmed?: boolean;
  },
): Promise<ApplyReport> {
  const say = o.say ?? ((t: string) => ctx.io.out(t));
  const dryRun = ctx.env.dryRun;
  const report: ApplyReport = { dryRun, status: 'nothing', message: '', snapshot: null, results: [], pruned: [] };
  const lock = await ctx.lock('update', {
    what: `update apply${o.system ? ' --system' : ' --packages'}${o.security ? ' --security' : ''}`,
  });
  try {
    const summary = await checkUpdates(ctx, { refresh: true, lockHeld: true });
    const usable = summary.updaters.filter((u) => u.check.available);
    if (!usable.length) {
      const why = summary.updaters.map((u) => `${u.updater}: ${u.check.reason}`).join('; ') || 'no updater is loaded';
      return { ...report, status: 'skipped', message: why };
    }
    const todo = usable.flatMap((u) =>
      u.check.updates
        .filter(
          (p) =>
            (o.system || p.current) &&
            (!o.security || p.security) &&
            (!o.packages.length || o.packages.includes(p.name)),
        )
        .map((p) => ({ ...p, updater: u.updater })),
    );
    const without = await onlyWithoutUpdate(
      ctx,
      o.packages,
      todo.map((p) => p.name),
      o.security,
    );
    if (!todo.length && !o.system)
      return {
        ...report,
        message: `${o.security ? 'no security updates pending' : 'no updates pending'}${without ? `: ${without}` : ''}`,
      };
    say(
      `${todo.length} update(s) to apply:\n${todo.map((p) => `  ${p.name} ${p.current || '(new)'} -> ${p.candidate}${p.security ? ' (security)' : ''}`).join('\n')}\n${without ? `(${without})\n` : ''}`,
    );
    if (dryRun) {
      for (const u of usable) {
        const r = await askUpdater(
          ctx,
          u.updater,
          { op: 'apply', security: o.security, system: o.system, packages: o.packages },
          { dryRun: true },
        );
        report.results.push({ updater: u.updater, ...r });
      }
      const snap =
        (o.snapshot ?? ctx.config.backup_before_update ?? true)
          ? `take a snapshot of ${ctx.env.configDir}, ${ctx.env.dataDir} and the package list; `
          : '';
      return {
        ...report,
        status: 'planned',
        message: `dry run: would ${snap}apply ${todo.length} update(s); nothing was changed`,
      };
    }
    if (!o.confirmed && !(await ctx.io.confirm(`Apply ${todo.length} update(s)?`))) {
      return { ...report, status: 'declined', message: 'not applied: not confirmed (answer yes, or pass -y)' };
    }
    const payload = {
      packages: todo.map((p) => ({ name: p.name, from: p.current, to: p.candidate, security: p.security })),
      security: o.security,
      system: o.system,
    };
    const pre = await ctx.registry.callHook(preUpdate, payload);
    if (!pre.proceed)
      return {
        ...report,
        status: 'vetoed',
        message: `not applied: the pre_update hook of plugin '${pre.vetoedBy}' vetoed it`,
      };
    if (o.snapshot ?? ctx.config.backup_before_update ?? true) {
      const m = await createSnapshot(ctx, {
        reason: `before update apply${o.security ? ' --security' : ''}`,
        packages: await packagesForSnapshot(ctx),
      });
      report.snapshot = m.id;
      say(`snapshot ${m.id} taken (roll back with: ${ctx.env.command} update rollback ${m.id})\n`);
    }
    for (const u of usable) {
      const r = await askUpdater(
        ctx,
        u.updater,
        { op: 'apply', security: o.security, system: o.system, packages: o.packages },
        { dryRun: ctx.env.dryRun },
      );
      report.results.push({ updater: u.updater, ...r });
    }
    const ok = report.results.every((r) => r.ok);
    await appendJournal(ctx, {
      run: 'update apply',
      ok,
      snapshot: report.snapshot,
      applied: report.results.flatMap((r) => r.applied.map((a) => `${a.name} ${a.from} -> ${a.to}`)),
    });
    await ctx.registry.callHook(postUpdate, { ok, snapshot: report.snapshot, results: report.results });
    report.pruned = await pruneSnapshots(ctx, ctx.config.rollback_retention_days ?? 7);
    const n = report.results.reduce((k, r) => k + r.applied.length, 0);
    return {
      ...report,
      status: ok ? 'applied' : 'failed',
      message: ok
        ? `applied ${n} update(s)`
        : `update failed: ${report.results
            .filter((r) => !r.ok)
            .map((r) => `${r.updater}: ${r.message}`)
            .join(
              '; ',
            )}${report.snapshot ? `\nRoll back with: ${ctx.env.command} update rollback ${report.snapshot}` : ''}`,
    };
  } finally {
    await lock.release();
  }
}

const EXIT: Record<ApplyReport['status'], number> = {
  applied: 0,
  nothing: 0,
  planned: 0,
  skipped: 0,
  declined: 1,
  vetoed: 1,
  failed: 1,
};

/** The `update apply` command. */
export async function applyCommand(ctx: PluginContext<UpdatesConfig>, input: CommandInput): Promise<number> {
  const o = input.options;
  const usage = (detail: string, hint: string) => new CxError('CX_ERR_USAGE', { detail, hint });
  if (!o.packages && !o.system) {
    throw usage(
      'update apply: say what to update: --packages (installed packages) or --system (full distribution upgrade).',
      `${ctx.env.command} update apply --packages --dry-run`,
    );
  }
  if (o.packages && o.system) {
    throw usage(
      'update apply: --packages and --system contradict each other: --packages upgrades the installed packages, --system is a full distribution upgrade (it may add and remove packages). Pick one.',
      `${ctx.env.command} update apply --packages --dry-run   or   ${ctx.env.command} update apply --system --dry-run`,
    );
  }
  const only = Array.isArray(o.only) ? o.only.map(String) : typeof o.only === 'string' ? [o.only] : [];
  if (o.system && (o.security || only.length)) {
    throw usage(
      'update apply: --system is a full distribution upgrade of everything; it cannot be limited with --security or --only.',
      `${ctx.env.command} update apply --packages --security`,
    );
  }
  const report = await applyUpdates(ctx, {
    security: Boolean(o.security),
    system: Boolean(o.system),
    packages: only,
    say: o.json ? () => {} : undefined,
  });
  if (o.json) ctx.io.out(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const r of report.results)
      for (const a of r.actions) ctx.io.out(`  ${report.dryRun ? 'would run' : 'ran'}: ${a}\n`);
    if (report.pruned.length) ctx.io.out(`pruned old snapshot(s): ${report.pruned.join(', ')}\n`);
    ctx.io.out(`${report.status.toUpperCase()}: ${report.message}\n`);
  }
  return EXIT[report.status];
}
