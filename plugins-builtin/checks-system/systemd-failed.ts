/**
 * systemd_failed: units systemd reports as failed. SKIPs when systemd is not running (no
 * /run/systemd/system), the test systemd itself uses (sd_booted).
 */
import { defineCheck, defineFix, fail, pass, preferredFix, skip, type PluginContext } from 'cx-ops/sdk';
import type { ChecksConfig } from './config.js';

/** Whether systemd is the running init of the inspected host. */
export async function systemdRunning(ctx: PluginContext<unknown>): Promise<boolean> {
  const st = await ctx.fs.stat('/run/systemd/system');
  return st?.type === 'directory';
}

/** `systemctl list-units --state=failed --no-legend --plain` output: unit names. */
export function parseFailedUnits(stdout: string): Array<{ unit: string; load: string; active: string; sub: string; description: string }> {
  const out = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/^[●*x×]\s*/u, '').trim();
    if (!line) continue;
    const [unit, load, active, sub, ...desc] = line.split(/\s+/);
    if (!unit || !sub) continue;
    out.push({ unit, load: load!, active: active!, sub, description: desc.join(' ') });
  }
  return out;
}

/** Shell-style glob (only *) to RegExp. */
const globRe = (g: string) => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

export const systemdFailedCheck = defineCheck({
  id: 'systemd_failed',
  name: 'Failed Units',
  description: 'systemd units in the failed state',
  category: 'services',
  severity: 'high',
  fix_id: 'restart_failed_services',
  async run(ctx: PluginContext<ChecksConfig>) {
    if (!(await systemdRunning(ctx))) return skip('systemd is not running on this host (no /run/systemd/system)');
    const r = await ctx.exec.run('systemctl', ['list-units', '--state=failed', '--no-legend', '--plain', '--no-pager'], { timeoutMs: 10_000, readOnly: true });
    if (r.exitCode !== 0) return { status: 'ERROR', message: `systemctl list-units failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`, fix_id: null };
    const ignore = ctx.config.systemd_failed.ignore_units.map(globRe);
    const units = parseFailedUnits(r.stdout).filter((u) => !ignore.some((re) => re.test(u.unit)));
    if (!units.length) return pass('no failed units', { failed: [] });
    // The services repair (restart with backoff, verify) when loaded, else this plugin's plain restart.
    const fix_id = await preferredFix(ctx, ['restart_failed_services', 'restart_failed_units']);
    return { ...fail(`${units.length} failed unit${units.length === 1 ? '' : 's'}: ${units.map((u) => u.unit).slice(0, 10).join(', ')}`, { failed: units as unknown as Record<string, unknown>[] }), fix_id };
  },
});

export const restartFailedUnitsFix = defineFix({
  id: 'restart_failed_units',
  name: 'Restart failed units',
  description: 'systemctl restart each unit the systemd_failed check found',
  safe: false,
  async run(ctx, input) {
    const failed = (input.result.details.failed as Array<{ unit: string }> | undefined) ?? [];
    const actions: string[] = [];
    const errors: string[] = [];
    for (const { unit } of failed) {
      if (!/^[\w@.:-]+$/.test(unit)) continue;
      actions.push(`systemctl restart ${unit}`);
      const r = await ctx.exec.run('systemctl', ['restart', unit], { timeoutMs: 60_000 });
      if (!r.dryRun && r.exitCode !== 0) errors.push(`${unit}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    }
    return { ok: errors.length === 0, message: errors.length ? `restart failed for ${errors.join('; ')}` : `restarted ${actions.length} unit(s)`, actions };
  },
});
