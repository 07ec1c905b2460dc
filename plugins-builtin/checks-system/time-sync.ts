/**
 * time_sync: whether the clock is synchronised, asked of whichever NTP client the host runs
 * (systemd's timedatectl, chrony, ntpd). No client at all: SKIP with the reason. The fix
 * restarts the time service the check found.
 */
import {
  defineCheck,
  defineFix,
  fail,
  grade,
  pass,
  skip,
  thresholdError,
  type CheckOutcome,
  type PluginContext,
} from 'cx-ops/sdk';
import type { ChecksConfig } from './config.js';
import { systemdRunning } from './systemd-failed.js';

/** `timedatectl show` key=value output. */
export function parseKeyValues(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** `chronyc tracking`: leap status and the offset of the system clock in ms (positive: fast). */
export function parseChronyTracking(stdout: string): { leap: string; offset_ms: number | null; reference: string } {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
  const sys = /^([\d.]+) seconds (fast|slow)/.exec(field('System time'));
  const offset = sys ? Number(sys[1]) * 1000 * (sys[2] === 'slow' ? -1 : 1) : null;
  return {
    leap: field('Leap status'),
    offset_ms: offset === null ? null : Math.round(offset * 1000) / 1000,
    reference: field('Reference ID'),
  };
}

/** `ntpq -pn`: the selected peer (line starting with '*') and its offset in ms. */
export function parseNtpqPeers(stdout: string): { peer: string | null; offset_ms: number | null } {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('*')) continue;
    const cols = line.slice(1).trim().split(/\s+/);
    const offset = Number(cols[8]);
    return { peer: cols[0] ?? null, offset_ms: Number.isFinite(offset) ? offset : null };
  }
  return { peer: null, offset_ms: null };
}

async function exists(ctx: PluginContext<unknown>, ...paths: string[]): Promise<boolean> {
  for (const p of paths) if (await ctx.fs.stat(p)) return true;
  return false;
}

/** The time service of the host, for the fix: chrony, ntp(sec) or systemd-timesyncd; null when none. */
export async function timeService(ctx: PluginContext<unknown>): Promise<string | null> {
  if (await exists(ctx, '/usr/sbin/chronyd')) return 'chrony';
  if (await exists(ctx, '/usr/sbin/ntpd'))
    return (await exists(ctx, '/lib/systemd/system/ntpsec.service', '/usr/lib/systemd/system/ntpsec.service'))
      ? 'ntpsec'
      : 'ntp';
  if (await exists(ctx, '/lib/systemd/systemd-timesyncd', '/usr/lib/systemd/systemd-timesyncd'))
    return 'systemd-timesyncd';
  return null;
}

function gradeOffset(
  ctx: PluginContext<ChecksConfig>,
  source: string,
  service: string | null,
  offsetMs: number | null,
  extra: Record<string, unknown>,
): CheckOutcome {
  const cfg = ctx.config.time_sync;
  const details = {
    source,
    service,
    offset_ms: offsetMs,
    ...extra,
    warn_offset_ms: cfg.warn_offset_ms,
    fail_offset_ms: cfg.fail_offset_ms,
  };
  if (offsetMs === null) return pass(`clock synchronised (${source})`, details);
  const status = grade(Math.abs(offsetMs), { warn: cfg.warn_offset_ms, fail: cfg.fail_offset_ms });
  return { status, message: `clock synchronised (${source}), offset ${offsetMs} ms`, details };
}

export const timeSyncCheck = defineCheck({
  id: 'time_sync',
  name: 'Time Sync',
  description: 'The clock is synchronised by NTP',
  category: 'system',
  severity: 'medium',
  fix_id: 'time_sync_restart',
  async run(ctx: PluginContext<ChecksConfig>) {
    const cfg = ctx.config.time_sync;
    const invalid = thresholdError(ctx.env, [
      {
        section: 'checks.time_sync',
        warn: ['warn_offset_ms', cfg.warn_offset_ms],
        fail: ['fail_offset_ms', cfg.fail_offset_ms],
      },
    ]);
    if (invalid) return invalid;
    const service = await timeService(ctx);
    if (await exists(ctx, '/usr/bin/chronyc')) {
      const r = await ctx.exec.run('chronyc', ['-n', 'tracking'], { timeoutMs: 5000, readOnly: true });
      if (r.exitCode !== 0)
        return fail(
          `chronyc tracking failed: ${(r.stderr || r.stdout).trim() || `exit ${r.exitCode}`} (is chronyd running?)`,
          { source: 'chrony', service: 'chrony' },
        );
      const t = parseChronyTracking(r.stdout);
      if (/not synchronised/i.test(t.leap))
        return fail(`clock not synchronised (chrony: ${t.leap})`, {
          source: 'chrony',
          service: 'chrony',
          leap: t.leap,
        });
      return gradeOffset(ctx, 'chrony', 'chrony', t.offset_ms, { leap: t.leap, reference: t.reference });
    }
    if (await exists(ctx, '/usr/bin/ntpq')) {
      const r = await ctx.exec.run('ntpq', ['-pn'], { timeoutMs: 5000, readOnly: true });
      if (r.exitCode !== 0)
        return fail(`ntpq -pn failed: ${(r.stderr || r.stdout).trim() || `exit ${r.exitCode}`} (is ntpd running?)`, {
          source: 'ntpd',
          service,
        });
      const t = parseNtpqPeers(r.stdout);
      if (!t.peer) return fail('clock not synchronised (ntpd has no selected peer)', { source: 'ntpd', service });
      return gradeOffset(ctx, 'ntpd', service, t.offset_ms, { peer: t.peer });
    }
    if ((await systemdRunning(ctx)) && (await exists(ctx, '/usr/bin/timedatectl', '/bin/timedatectl'))) {
      const r = await ctx.exec.run('timedatectl', ['show'], { timeoutMs: 5000, readOnly: true });
      if (r.exitCode !== 0)
        return {
          status: 'ERROR',
          message: `timedatectl show failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
          fix_id: null,
        };
      const kv = parseKeyValues(r.stdout);
      const details = { source: 'timedatectl', service, ntp: kv.NTP ?? null, synchronized: kv.NTPSynchronized ?? null };
      if (kv.NTPSynchronized === 'yes') return pass('clock synchronised (timedatectl)', details);
      if (kv.NTP === 'no')
        return fail('NTP is disabled (timedatectl: NTP=no); enable it with: timedatectl set-ntp true', details);
      return fail('clock not synchronised (timedatectl: NTPSynchronized=no)', details);
    }
    return skip('no NTP client found (no chrony, ntpd or systemd-timesyncd)');
  },
});

export const timeSyncFix = defineFix({
  id: 'time_sync_restart',
  name: 'Restart the time service',
  description: 'systemctl restart the NTP client the time_sync check found',
  safe: true,
  async run(ctx, input) {
    const service = (input.result.details.service as string | null | undefined) ?? (await timeService(ctx));
    if (!service || !/^[\w@.-]+$/.test(service))
      return { ok: false, message: 'no time service found to restart', actions: [] };
    const action = `systemctl restart ${service}`;
    const r = await ctx.exec.run('systemctl', ['restart', service], { timeoutMs: 30_000 });
    if (r.dryRun || r.exitCode === 0) return { ok: true, message: `restarted ${service}`, actions: [action] };
    return {
      ok: false,
      message: `could not restart ${service}: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
      actions: [action],
    };
  },
});
