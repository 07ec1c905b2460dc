/**
 * `update check`: asks every updater for pending updates and prints the seed's summary box.
 * Read-only: the updaters answer from what the package manager already knows (like
 * `apt list --upgradable`); nothing is fetched or written. `--refresh` (the seed's `--force`)
 * first refreshes the package lists, holding the update lock, and in a dry run only says so.
 */
import { type PluginContext } from 'cx-ops/sdk';
import type { SnapshotPathsConfig } from './snapshot-store.js';
import { askUpdater, updaterKind, type UpdateCheck } from './updater-contract.js';

export interface UpdaterCheck {
  updater: string;
  name: string;
  check: UpdateCheck;
}

export interface CheckSummary {
  checked_at: string;
  /** Always false: the answer is read afresh (kept for the seed's JSON shape). */
  cached: boolean;
  /** The package lists were refreshed first (--refresh). */
  refreshed: boolean;
  /** Sources a refresh could not fetch, per updater (the others were used). */
  sources_failed: Array<{ updater: string; source: string; error: string }>;
  updaters: UpdaterCheck[];
  total: number;
  security: number;
  reboot_required: boolean;
}

/** The `updates:` section of config.yaml. */
export interface UpdatesConfig extends SnapshotPathsConfig {
  check_interval_hours?: number;
  auto_check?: boolean;
  backup_before_update?: boolean;
  rollback_retention_days?: number;
  channel?: string;
}

function summarize(updaters: UpdaterCheck[], checkedAt: string, refreshed: boolean): CheckSummary {
  const all = updaters.flatMap((u) => u.check.updates);
  return {
    checked_at: checkedAt,
    cached: false,
    refreshed,
    sources_failed: updaters.flatMap((u) => (u.check.sourcesFailed ?? []).map((f) => ({ updater: u.updater, ...f }))),
    updaters,
    total: all.length,
    security: all.filter((u) => u.security).length,
    reboot_required: updaters.some((u) => u.check.rebootRequired),
  };
}

/** Runs every updater's check; with `refresh` the package lists are fetched first, under the update lock. */
export async function checkUpdates(
  ctx: PluginContext<UpdatesConfig>,
  options: { refresh?: boolean; now?: Date; lockHeld?: boolean } = {},
): Promise<CheckSummary> {
  const now = options.now ?? new Date();
  const refresh = Boolean(options.refresh);
  const lock = refresh && !options.lockHeld ? await ctx.lock('update', { what: 'update check --refresh' }) : null;
  try {
    const updaters: UpdaterCheck[] = [];
    for (const u of await ctx.registry.list(updaterKind)) {
      const check = await askUpdater(ctx, u.id, { op: 'check', refresh }, { dryRun: ctx.env.dryRun });
      updaters.push({ updater: u.id, name: String(u.meta.name ?? u.id), check });
    }
    return summarize(updaters, now.toISOString(), refresh && !ctx.env.dryRun);
  } finally {
    await lock?.release();
  }
}

/** A box of the given lines, as in the seed. */
export function box(title: string, lines: string[]): string {
  const width = Math.max(45, title.length + 4, ...lines.map((l) => l.length + 2));
  const pad = (s: string) => `│ ${s}${' '.repeat(width - s.length - 1)}│`;
  const left = Math.floor((width - title.length) / 2);
  return [
    `╭${'─'.repeat(width)}╮`,
    `│${' '.repeat(left)}${title}${' '.repeat(width - left - title.length)}│`,
    `├${'─'.repeat(width)}┤`,
    ...lines.map(pad),
    `╰${'─'.repeat(width)}╯`,
  ].join('\n');
}

/** The check as the seed prints it: a summary box, then the counts and the packages. */
export function formatCheck(s: CheckSummary, kernelVersion: string, command: string): string {
  const usable = s.updaters.filter((u) => u.check.available);
  const lines = [
    `cx-ops ${kernelVersion}`,
    `Checked: ${s.checked_at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    s.refreshed ? 'Package lists: refreshed now' : 'Package lists: as apt has them',
    `Security: ${s.security ? 'Yes' : 'No'}`,
    `Reboot required: ${s.reboot_required ? 'Yes' : 'No'}`,
  ];
  const out = [box('System Update', lines), ''];
  for (const u of s.updaters) if (!u.check.available) out.push(`SKIP ${u.updater}: ${u.check.reason}`);
  if (!s.updaters.length) out.push('SKIP: no updater is loaded (the apt plugin provides one)');
  if (usable.length) {
    out.push(`${s.total} package update(s) available`, `${s.security} security update(s)`);
    for (const u of usable)
      for (const p of u.check.updates)
        out.push(
          `  ${p.name} ${p.current || '(new)'} -> ${p.candidate}  [${p.origin}]${p.security ? ' security' : ''}`,
        );
  }
  for (const u of usable) for (const a of u.check.actions ?? []) out.push(`${s.refreshed ? 'ran' : 'would run'}: ${a}`);
  for (const f of s.sources_failed)
    out.push(`WARN ${f.updater}: source ${f.source} could not be fetched (${f.error}); the other sources were used`);
  if (s.sources_failed.length) out.push(sourcesHint(s, command));
  else if (!s.refreshed && usable.length)
    out.push(`From the package lists apt already has; refresh them first with: ${command} update check --refresh`);
  return `${out.join('\n')}\n`;
}

/** The next step when sources failed: fix the network path or the source entry, then refresh. */
export function sourcesHint(s: CheckSummary, command: string): string {
  return `Next step: check that ${s.sources_failed.map((f) => f.source).join(', ')} can be reached from this host (network, proxy) or correct/disable its entry in /etc/apt/sources.list or /etc/apt/sources.list.d/, then run: ${command} update check --refresh`;
}
