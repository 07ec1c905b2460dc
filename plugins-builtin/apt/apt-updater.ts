/**
 * The apt updater: pending updates from a simulated dist-upgrade over the lists apt already has
 * (read-only, like `apt list --upgradable`; `refresh` runs `apt-get update` first and reports
 * each source it could not fetch instead of failing as a whole), security ones recognised by
 * their archive's label/suite, applying them, the installed package list for snapshots and
 * putting recorded versions back.
 */
import type { PluginContext } from 'cx-ops/sdk';
import { defineUpdater, type InstalledPackage, type PackageUpdate } from '../updates/updater-contract.js';
import { unsettledPackages } from './apt-repair.js';
import { aptTools, aptUnavailable, failureLine } from './apt-tools.js';

/** `Inst cx-demo [1.0] (2.0 Debian-Security:stable-security [all])` */
const INST = /^Inst (\S+)(?: \[([^\]]+)\])? \((\S+) (.*?)(?: \[[^\]]+\])?\)/;

/** Parses `apt-get -s` output into pending updates. */
export function parseSimulation(text: string): PackageUpdate[] {
  const out: PackageUpdate[] = [];
  for (const line of text.split('\n')) {
    const m = INST.exec(line.trim());
    if (!m) continue;
    const origin = m[4]!.trim();
    out.push({ name: m[1]!, current: m[2] ?? '', candidate: m[3]!, origin, security: /securi/i.test(origin) });
  }
  return out;
}

async function installedPackages(ctx: PluginContext<unknown>): Promise<InstalledPackage[]> {
  const r = await aptTools(ctx).dpkgQuery(['-W', '-f', '${Package}\t${Version}\t${db:Status-Abbrev}\n'], {
    readOnly: true,
  });
  if (r.exitCode !== 0) throw new Error(`dpkg-query failed: ${failureLine(r)}`);
  return r.stdout
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length === 3 && f[2]!.trim() === 'ii')
    .map(([name, version]) => ({ name: name!, version: version! }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function rebootRequired(ctx: PluginContext<unknown>): Promise<boolean> {
  for (const p of ['/var/run/reboot-required', '/run/reboot-required']) if (await ctx.fs.stat(p)) return true;
  return false;
}

/**
 * The sources `apt-get update` could not fetch, from its `Err:N URI …` lines (the reason on the
 * next line) and its `W:/E: Failed to fetch URI  reason` lines.
 */
export function failedSources(stdout: string, stderr: string): Array<{ source: string; error: string }> {
  const out = new Map<string, string>();
  const lines = stdout.split('\n');
  for (const [i, line] of lines.entries()) {
    const m = /^Err:\d+ (\S+)(?: (.*))?$/.exec(line.trim());
    if (m) out.set(m[1]!, (lines[i + 1] ?? '').trim() || 'could not be fetched');
  }
  for (const line of stderr.split('\n')) {
    const m = /^[WE]: Failed to fetch (\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const known = [...out.keys()].find((k) => m[1]!.startsWith(k.replace(/\/?$/, '')));
    if (!known) out.set(m[1]!, m[2]!.trim());
  }
  return [...out].map(([source, error]) => ({ source, error }));
}

async function pending(ctx: PluginContext<unknown>): Promise<PackageUpdate[]> {
  const r = await aptTools(ctx).aptGet(['-s', '-q', 'dist-upgrade'], { readOnly: true });
  if (r.exitCode !== 0) throw new Error(`apt-get -s dist-upgrade failed: ${failureLine(r)}. Try: cx-ops repair apt`);
  return parseSimulation(r.stdout);
}

export const aptUpdater = defineUpdater({
  id: 'apt',
  name: 'APT packages',
  description: 'Debian/Ubuntu packages through apt-get and dpkg',
  async check(ctx, request) {
    const why = await aptUnavailable(ctx);
    if (why) return { available: false, reason: why, updates: [], rebootRequired: false };
    const t = aptTools(ctx);
    const actions: string[] = [];
    let sourcesFailed: Array<{ source: string; error: string }> = [];
    if (request.refresh) {
      actions.push(t.show('apt-get', ['update', '-q']));
      if (ctx.env.dryRun) {
        // Through the capability, which records it and runs nothing: the plan and the dry run's count agree.
        await t.aptGet(['update', '-q']);
      } else {
        const u = await t.aptGet(['update', '-q']);
        sourcesFailed = failedSources(u.stdout, u.stderr);
        // One unreachable source: the others' lists are fresh and used; the failure is reported.
        if (u.exitCode !== 0 && !sourcesFailed.length)
          throw new Error(`apt-get update failed: ${failureLine(u)}. Try: cx-ops repair apt`);
      }
    }
    const out = { available: true, updates: await pending(ctx), rebootRequired: await rebootRequired(ctx) };
    return { ...out, ...(request.refresh ? { actions } : {}), ...(sourcesFailed.length ? { sourcesFailed } : {}) };
  },
  async apply(ctx, req) {
    const why = await aptUnavailable(ctx);
    if (why) return { ok: false, applied: [], actions: [], message: `SKIP: ${why}` };
    const t = aptTools(ctx);
    let todo = await pending(ctx);
    // --packages upgrades what is installed; packages a dist-upgrade would add come with --system.
    if (!req.system) todo = todo.filter((u) => u.current);
    if (req.security) todo = todo.filter((u) => u.security);
    if (req.packages?.length) todo = todo.filter((u) => req.packages!.includes(u.name));
    const applied = todo.map((u) => ({ name: u.name, from: u.current, to: u.candidate }));
    if (!todo.length) return { ok: true, applied: [], actions: [], message: 'nothing to update' };
    const args = req.system
      ? ['dist-upgrade', '-y', '-q']
      : ['install', '-y', '-q', '--only-upgrade', ...todo.map((u) => `${u.name}=${u.candidate}`)];
    const actions = [t.show('apt-get', args)];
    if (ctx.env.dryRun) {
      await t.aptGet(args); // recorded by the capability, not run
      return { ok: true, applied, actions, message: `dry run: would update ${todo.length} package(s)` };
    }
    const r = await t.aptGet(args);
    if (r.exitCode !== 0) return { ok: false, applied: [], actions, message: `apt-get failed: ${failureLine(r)}` };
    const now = new Map((await installedPackages(ctx)).map((p) => [p.name, p.version]));
    const done = applied.filter((a) => now.get(a.name) === a.to);
    return {
      ok: done.length === applied.length,
      applied: done,
      actions,
      message: `updated ${done.length} of ${applied.length} package(s)`,
    };
  },
  async installed(ctx) {
    const why = await aptUnavailable(ctx);
    if (why) return { available: false, reason: why, packages: [] };
    return { available: true, packages: await installedPackages(ctx) };
  },
  async restore(ctx, packages) {
    const why = await aptUnavailable(ctx);
    if (why) return { ok: false, restored: [], unavailable: packages.map((p) => ({ ...p, reason: why })), actions: [] };
    const t = aptTools(ctx);
    const actions: string[] = [];
    // A dpkg run that was killed (with the rollback that started it) leaves packages half
    // configured, and apt refuses to go on until they are: finish it first, under the same root.
    if ((await unsettledPackages(t)).length) {
      actions.push(t.show('dpkg', ['--configure', '-a']));
      if (!ctx.env.dryRun) await t.dpkg(['--configure', '-a']);
    }
    const now = new Map((await installedPackages(ctx)).map((p) => [p.name, p.version]));
    const recorded = new Set(packages.map((p) => p.name));
    const added = [...now].filter(([name]) => !recorded.has(name)).map(([name, version]) => ({ name, version }));
    const wanted = packages.filter((p) => now.get(p.name) !== p.version);
    const unavailable: Array<InstalledPackage & { reason: string }> = [];
    const installable: InstalledPackage[] = [];
    for (const p of wanted) {
      const m = await t.aptCache(['madison', p.name], { readOnly: true });
      const versions = m.stdout
        .split('\n')
        .map((l) => l.split('|')[1]?.trim())
        .filter(Boolean);
      if (versions.includes(p.version)) installable.push(p);
      else
        unavailable.push({
          ...p,
          reason: `the archive no longer has ${p.name} ${p.version} (it has: ${versions.join(', ') || 'none'})`,
        });
    }
    const restored: InstalledPackage[] = [];
    if (installable.length) {
      const args = ['install', '-y', '-q', '--allow-downgrades', ...installable.map((p) => `${p.name}=${p.version}`)];
      actions.push(t.show('apt-get', args));
      if (ctx.env.dryRun) return { ok: true, restored: installable, unavailable, actions, added };
      const r = await t.aptGet(args);
      const after = new Map((await installedPackages(ctx)).map((p) => [p.name, p.version]));
      for (const p of installable) {
        if (after.get(p.name) === p.version) restored.push(p);
        else
          unavailable.push({
            ...p,
            reason: `apt-get could not install it: ${r.exitCode === 0 ? 'version unchanged' : failureLine(r)}`,
          });
      }
    }
    return { ok: unavailable.length === 0, restored, unavailable, actions, added };
  },
});
