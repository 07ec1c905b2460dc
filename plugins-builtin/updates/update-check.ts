/**
 * `update check`: asks every updater for pending updates, caches the answer for
 * `check_interval_hours` (`--force` asks again) and prints the seed's summary box.
 */
import type { PluginContext, UpdateCheck } from 'cx-ops/sdk';

export interface UpdaterCheck {
  updater: string;
  name: string;
  check: UpdateCheck;
}

export interface CheckSummary {
  checked_at: string;
  cached: boolean;
  updaters: UpdaterCheck[];
  total: number;
  security: number;
  reboot_required: boolean;
}

export interface UpdatesConfig {
  check_interval_hours?: number;
  auto_check?: boolean;
  backup_before_update?: boolean;
  rollback_retention_days?: number;
  channel?: string;
}

function summarize(updaters: UpdaterCheck[], checkedAt: string, cached: boolean): CheckSummary {
  const all = updaters.flatMap((u) => u.check.updates);
  return {
    checked_at: checkedAt,
    cached,
    updaters,
    total: all.length,
    security: all.filter((u) => u.security).length,
    reboot_required: updaters.some((u) => u.check.rebootRequired),
  };
}

/** Runs every updater's check (or returns the cached answer while it is fresh). */
export async function checkUpdates(ctx: PluginContext<UpdatesConfig>, options: { force?: boolean; now?: Date } = {}): Promise<CheckSummary> {
  const now = options.now ?? new Date();
  const cacheFile = `${ctx.env.cacheDir}/last-check.json`;
  const hours = ctx.config.check_interval_hours ?? 24;
  if (!options.force) {
    try {
      const cached = JSON.parse(await ctx.localFs.readFile(cacheFile)) as CheckSummary;
      if (now.getTime() - Date.parse(cached.checked_at) < hours * 3_600_000) return { ...cached, cached: true };
    } catch {
      /* no usable cache */
    }
  }
  const updaters: UpdaterCheck[] = [];
  for (const u of await ctx.registry.list('updater')) {
    const check = (await ctx.registry.invoke('updater', u.id, { op: 'check' }, { dryRun: ctx.env.dryRun })) as unknown as UpdateCheck;
    updaters.push({ updater: u.id, name: String(u.meta.name ?? u.id), check });
  }
  const summary = summarize(updaters, now.toISOString(), false);
  if (!ctx.env.dryRun && updaters.some((u) => u.check.available)) {
    await ctx.localFs.mkdir(ctx.env.cacheDir);
    await ctx.localFs.writeFile(cacheFile, `${JSON.stringify(summary)}\n`, { mode: 0o644 });
  }
  return summary;
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
export function formatCheck(s: CheckSummary, kernelVersion: string): string {
  const usable = s.updaters.filter((u) => u.check.available);
  const lines = [
    `cx-ops ${kernelVersion}`,
    `Checked: ${s.checked_at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}${s.cached ? ' (cached; --force to check again)' : ''}`,
    `Security: ${s.security ? 'Yes' : 'No'}`,
    `Reboot required: ${s.reboot_required ? 'Yes' : 'No'}`,
  ];
  const out = [box('System Update', lines), ''];
  for (const u of s.updaters) if (!u.check.available) out.push(`SKIP ${u.updater}: ${u.check.reason}`);
  if (!s.updaters.length) out.push('SKIP: no updater is loaded (the apt plugin provides one)');
  if (usable.length) {
    out.push(`${s.total} package update(s) available`, `${s.security} security update(s)`);
    for (const u of usable) for (const p of u.check.updates) out.push(`  ${p.name} ${p.current || '(new)'} -> ${p.candidate}  [${p.origin}]${p.security ? ' security' : ''}`);
  }
  return `${out.join('\n')}\n`;
}
