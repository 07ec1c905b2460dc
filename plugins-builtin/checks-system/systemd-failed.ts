/**
 * systemd_failed: failed services, judged through every available service manager — units
 * systemd reports as failed (when it runs: /run/systemd/system, the test systemd itself uses),
 * plus the failed programs of every other `service-manager` contribution (supervisord's FATAL,
 * BACKOFF, EXITED). SKIPs only when no manager runs here, saying why for each.
 */
import {
  defineCheck,
  defineFix,
  fail,
  pass,
  preferredFix,
  skip,
  type ContributionInfo,
  type PluginContext,
} from 'cx-ops/sdk';
import { askServiceManager, serviceManagerKind, type ServiceStatus } from '../services/service-manager-contract.js';
import type { ChecksConfig } from './config.js';

/** Whether systemd is the running init of the inspected host. */
export async function systemdRunning(ctx: PluginContext<unknown>): Promise<boolean> {
  const st = await ctx.fs.stat('/run/systemd/system');
  return st?.type === 'directory';
}

/** `systemctl list-units --state=failed --no-legend --plain` output: unit names. */
export function parseFailedUnits(
  stdout: string,
): Array<{ unit: string; load: string; active: string; sub: string; description: string }> {
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
    const ignore = ctx.config.systemd_failed.ignore_units.map(globRe);
    const others = await otherManagers(ctx);
    const failed: Array<Record<string, unknown>> = [];
    const notRunning: string[] = [];
    const looked: string[] = [];
    if (await systemdRunning(ctx)) {
      const r = await ctx.exec.run(
        'systemctl',
        ['list-units', '--state=failed', '--no-legend', '--plain', '--no-pager'],
        { timeoutMs: 10_000, readOnly: true },
      );
      if (r.exitCode !== 0)
        return {
          status: 'ERROR',
          message: `systemctl list-units failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
          fix_id: null,
        };
      failed.push(...parseFailedUnits(r.stdout).filter((u) => !ignore.some((re) => re.test(u.unit))));
      looked.push('systemd');
    } else notRunning.push('systemd is not running on this host (no /run/systemd/system)');
    for (const m of others) {
      const seen = await failedThrough(ctx, m);
      if ('reason' in seen) {
        notRunning.push(`${m.id}: ${seen.reason}`);
        continue;
      }
      looked.push(m.id);
      for (const s of seen.failed)
        if (!ignore.some((re) => re.test(s.name)))
          failed.push({ manager: m.id, unit: `${m.id}:${s.name}`, name: s.name, state: s.state, detail: s.detail });
    }
    if (!looked.length) return skip(notRunning.join('; '));
    const where = { managers: looked, ...(notRunning.length ? { not_running: notRunning } : {}) };
    if (!failed.length)
      return pass(
        looked.length === 1 && looked[0] === 'systemd'
          ? 'no failed units'
          : `no failed services (${looked.join(', ')})`,
        { failed: [], ...where },
      );
    // The services repair (restart with backoff, verify) when loaded, else this plugin's plain restart.
    const fix_id = await preferredFix(ctx, ['restart_failed_services', 'restart_failed_units']);
    const names = failed.map((u) => String(u.unit));
    const noun = others.length ? 'failed service' : 'failed unit';
    return {
      ...fail(`${failed.length} ${noun}${failed.length === 1 ? '' : 's'}: ${names.slice(0, 10).join(', ')}`, {
        failed,
        ...where,
      }),
      fix_id,
    };
  },
});

/** Service managers other than systemd (whose failed units the check reads itself). */
async function otherManagers(ctx: PluginContext<unknown>): Promise<ContributionInfo[]> {
  try {
    return (await ctx.registry.list(serviceManagerKind)).filter((m) => m.id !== 'systemd');
  } catch {
    return []; // no plugin declares the kind (the services plugin is disabled)
  }
}

/** A manager's failed services, or why it does not run here. */
async function failedThrough(
  ctx: PluginContext<unknown>,
  m: ContributionInfo,
): Promise<{ failed: ServiceStatus[] } | { reason: string }> {
  try {
    const d = await askServiceManager(ctx, m.id, { op: 'detect' });
    if (!d?.available) return { reason: d?.reason ?? 'not available' };
    const all = await askServiceManager(ctx, m.id, { op: 'list' });
    return { failed: all.filter((s) => s.state === 'failed') };
  } catch (e) {
    return { reason: `could not be asked: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export const restartFailedUnitsFix = defineFix({
  id: 'restart_failed_units',
  name: 'Restart failed units',
  description: 'systemctl restart each unit the systemd_failed check found',
  safe: false,
  async run(ctx, input) {
    const failed = (input.result.details.failed as Array<{ unit: string }> | undefined) ?? [];
    const actions: string[] = [];
    const errors: string[] = [];
    for (const { unit, manager } of failed as Array<{ unit: string; manager?: string }>) {
      if (manager || !/^[\w@.:-]+$/.test(unit)) continue; // other managers' services: restart_failed_services
      actions.push(`systemctl restart ${unit}`);
      const r = await ctx.exec.run('systemctl', ['restart', unit], { timeoutMs: 60_000 });
      if (!r.dryRun && r.exitCode !== 0) errors.push(`${unit}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    }
    return {
      ok: errors.length === 0,
      message: errors.length ? `restart failed for ${errors.join('; ')}` : `restarted ${actions.length} unit(s)`,
      actions,
    };
  },
});
