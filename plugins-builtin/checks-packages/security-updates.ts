/**
 * security_updates: pending upgrades from a security archive, computed from the host's own
 * package lists and dpkg status (apt-upgradable.ts), or from `apt list --upgradable` where the
 * host's apt policy needs apt itself; cached while those files do not change.
 */
import { defineCheck, error, grade, skip, thresholdError, type PluginContext } from 'cx-ops/sdk';
import { aptFingerprint, cachedAnswer } from './apt-cache.js';
import { parseAptUpgradable, type UpgradableLine } from './apt-parse.js';
import { upgradableFromLists } from './apt-upgradable.js';
import type { PackagesConfig } from './config.js';

type Answer = { ok: true; lines: UpgradableLine[]; source: string; why_apt?: string } | { ok: false; error: string };

/** `apt list --upgradable` against the root. */
export async function aptListUpgradable(
  ctx: PluginContext<unknown>,
): Promise<{ ok: true; lines: UpgradableLine[] } | { ok: false; error: string }> {
  const args = ['list', '--upgradable', ...(ctx.env.root === '/' ? [] : ['-o', `Dir=${ctx.env.root}`])];
  const r = await ctx.exec.run('apt', args, { timeoutMs: 60_000, readOnly: true, env: { LC_ALL: 'C' } });
  if (r.exitCode !== 0)
    return {
      ok: false,
      error: `apt ${args.join(' ')} failed: ${r.stderr.replace(/WARNING: apt does not have a stable CLI.*\n?/, '').trim() || `exit ${r.exitCode}`}`,
    };
  return { ok: true, lines: parseAptUpgradable(r.stdout) };
}

async function upgradable(ctx: PluginContext<unknown>): Promise<Answer> {
  const fast = await upgradableFromLists(ctx);
  if (fast.ok) return { ok: true, lines: fast.lines, source: 'package lists' };
  const slow = await aptListUpgradable(ctx);
  return slow.ok ? { ...slow, source: 'apt list --upgradable', why_apt: fast.fallback } : slow;
}

export const securityUpdatesCheck = defineCheck({
  id: 'security_updates',
  name: 'Security Updates',
  description: 'Pending package updates from security archives',
  category: 'security',
  severity: 'high',
  async run(ctx: PluginContext<PackagesConfig>) {
    const cfg = ctx.config.security_updates;
    const invalid = thresholdError(ctx.env, [
      {
        section: 'checks.security_updates',
        warn: ['warn_count', cfg.warn_count],
        fail: ['fail_count', cfg.fail_count],
      },
    ]);
    if (invalid) return invalid;
    const fingerprint = await aptFingerprint(ctx);
    if (fingerprint === null) return skip('no dpkg on this host (no /var/lib/dpkg/status)');
    if (!(await ctx.fs.stat('/var/lib/apt/lists')))
      return skip('no apt package lists on this host (no /var/lib/apt/lists)');
    if (!(await ctx.localFs.stat('/usr/bin/apt'))) return skip('apt is not installed');
    const { value, cached } = await cachedAnswer(ctx, 'security_updates', fingerprint, () => upgradable(ctx));
    if (!value.ok) return error(value.error, { cached });
    const security = value.lines.filter((l) => l.security);
    const status = grade(security.length, { warn: cfg.warn_count, fail: cfg.fail_count });
    const message = security.length
      ? `${security.length} security update(s) pending (${value.lines.length} update(s) in all): ${security
          .slice(0, 5)
          .map((l) => l.name)
          .join(
            ', ',
          )}${security.length > 5 ? ', …' : ''}; apply with: ${ctx.env.command} update apply --packages --security`
      : `no security updates pending (${value.lines.length} other update(s))`;
    return {
      status,
      message,
      details: {
        security: security.length,
        total: value.lines.length,
        packages: security.slice(0, 100),
        cached,
        source: value.source,
        ...(value.why_apt ? { why_apt: value.why_apt } : {}),
        warn_count: cfg.warn_count,
        fail_count: cfg.fail_count,
      },
    };
  },
});
