/**
 * apt_status: dpkg not interrupted, no package left half-installed or unconfigured (dpkg --audit
 * and the status file), package lists present and not stale. SKIP when the host has no dpkg.
 * When the apt plugin is loaded its `diagnosis` (the very one `repair apt` acts on: broken
 * dependencies, corrupt lists, cache) is part of the answer, so doctor sees all that the repair
 * would fix. The fix is the apt repair's `repair_apt` when that plugin is loaded, else this
 * plugin's own `apt_configure_pending` (`dpkg --configure -a`).
 */
import { defineCheck, defineFix, fail, pass, preferredFix, skip, warn, type PluginContext } from 'cx-ops/sdk';
import { askDiagnosis } from '../apt/diagnosis-kind.js';
import { aptFingerprint, cachedAnswer } from './apt-cache.js';
import { parseDpkgStatus, unfinishedPackages } from './apt-parse.js';
import type { PackagesConfig } from './config.js';

/** What dpkg and the lists directory say, cached while they do not change. */
export interface AptHealth {
  interrupted: string[];
  unfinished: Array<{ name: string; state: string; flag: string }>;
  audit: string;
  lists: number;
  newest_list_ms: number | null;
  /** The apt plugin's diagnosis (what repair apt would fix); null when that plugin is not loaded. */
  diagnosis: Array<{ id: string; description: string; fix: string[] }> | null;
}

/** The shared diagnosis of the apt plugin, if it is loaded. */
async function aptDiagnosis(ctx: PluginContext<unknown>): Promise<AptHealth['diagnosis']> {
  const d = await askDiagnosis(ctx, 'apt');
  return d?.available ? d.problems : null;
}

const dpkgArgs = (ctx: PluginContext<unknown>): string[] =>
  ctx.env.root === '/' ? [] : [`--admindir=${ctx.fs.diskPath('/var/lib/dpkg')}`];

async function aptHealth(ctx: PluginContext<unknown>): Promise<AptHealth> {
  // The apt plugin's diagnosis runs beside this plugin's own look (each is read-only).
  const [own, diagnosis] = await Promise.all([dpkgAndLists(ctx), aptDiagnosis(ctx)]);
  return { ...own, diagnosis };
}

async function dpkgAndLists(ctx: PluginContext<unknown>): Promise<Omit<AptHealth, 'diagnosis'>> {
  const updates = '/var/lib/dpkg/updates';
  const interrupted = (await ctx.fs.stat(updates))
    ? (await ctx.fs.readDir(updates)).map((e) => e.name).filter((n) => /^\d+$/.test(n))
    : [];
  const unfinished = unfinishedPackages(parseDpkgStatus(await ctx.fs.readFile('/var/lib/dpkg/status')));
  const audit = await ctx.exec.run('dpkg', [...dpkgArgs(ctx), '--audit'], {
    timeoutMs: 20_000,
    readOnly: true,
    env: { LC_ALL: 'C' },
  });
  const listsDir = '/var/lib/apt/lists';
  let lists = 0;
  let newest: number | null = null;
  if (await ctx.fs.stat(listsDir)) {
    for (const e of await ctx.fs.readDir(listsDir)) {
      if (e.type !== 'file' || !/(Packages|Sources|Release)(\.\w+)?$/.test(e.name)) continue;
      lists++;
      const st = await ctx.fs.stat(`${listsDir}/${e.name}`);
      if (st && (newest === null || st.mtimeMs > newest)) newest = st.mtimeMs;
    }
  }
  return {
    interrupted,
    unfinished,
    audit: (audit.stdout + audit.stderr).trim().slice(0, 4000),
    lists,
    newest_list_ms: newest,
  };
}

export const aptStatusCheck = defineCheck({
  id: 'apt_status',
  name: 'APT Status',
  description: 'dpkg finished its last run, no package is half-installed, package lists are fresh',
  category: 'packages',
  severity: 'high',
  fix_id: 'repair_apt',
  async run(ctx: PluginContext<PackagesConfig>) {
    const fingerprint = await aptFingerprint(ctx);
    if (fingerprint === null) return skip('no dpkg on this host (no /var/lib/dpkg/status)');
    const { value: h, cached } = await cachedAnswer(ctx, 'apt_status', fingerprint, () => aptHealth(ctx));
    const details = { ...h, cached };
    if (h.interrupted.length || h.unfinished.length || h.audit) {
      const fix_id = await preferredFix(ctx, ['repair_apt', 'apt_configure_pending']);
      if (h.interrupted.length)
        return {
          ...fail(
            `dpkg was interrupted (${h.interrupted.length} pending update file(s)); run: dpkg --configure -a`,
            details,
          ),
          fix_id,
        };
      const names = h.unfinished.map(
        (p) => `${p.name} (${p.state}${p.flag === 'reinstreq' ? ', reinstall required' : ''})`,
      );
      return {
        ...fail(
          names.length
            ? `${names.length} package(s) not fully installed: ${names.slice(0, 5).join(', ')}`
            : `dpkg --audit reports problems: ${h.audit.split('\n')[0]}`,
          details,
        ),
        fix_id,
      };
    }
    // What repair apt would fix beyond dpkg's own state (the interrupted run is judged above).
    const more = (h.diagnosis ?? []).filter((p) => p.id !== 'interrupted');
    if (more.length) {
      const fix_id = await preferredFix(ctx, ['repair_apt']);
      const text = more.map((p) => p.description).join('; ');
      const bad = more.some((p) => p.id !== 'cache');
      return { ...(bad ? fail(text, details) : warn(text, details)), fix_id };
    }
    if (!h.lists) return { ...warn('no package lists: run apt-get update', details), fix_id: null };
    const ageDays = h.newest_list_ms === null ? 0 : Math.floor((Date.now() - h.newest_list_ms) / 86_400_000);
    const max = ctx.config.apt_status.lists_max_age_days;
    if (ageDays > max)
      return {
        ...warn(`package lists are ${ageDays} days old (more than ${max}): run apt-get update`, {
          ...details,
          lists_age_days: ageDays,
        }),
        fix_id: null,
      };
    return pass(
      `dpkg is consistent; ${h.lists} package list file(s), updated ${ageDays === 0 ? 'today' : `${ageDays} day(s) ago`}`,
      { ...details, lists_age_days: ageDays },
    );
  },
});

export const aptConfigureFix = defineFix({
  id: 'apt_configure_pending',
  name: 'Finish interrupted dpkg work',
  description: 'dpkg --configure -a (for broken dependencies and locks use: cx-ops repair apt)',
  safe: false,
  async run(ctx) {
    const args = [...(ctx.env.root === '/' ? [] : [`--root=${ctx.env.root}`]), '--configure', '-a'];
    const action = `dpkg ${args.join(' ')}`;
    const r = await ctx.exec.run('dpkg', args, {
      timeoutMs: 600_000,
      env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    });
    if (r.dryRun || r.exitCode === 0) return { ok: true, message: 'dpkg --configure -a finished', actions: [action] };
    return {
      ok: false,
      message: `dpkg --configure -a failed: ${r.stderr.trim().split('\n').slice(-1)[0] || `exit ${r.exitCode}`}; try: ${ctx.env.command} repair apt`,
      actions: [action],
    };
  },
});
