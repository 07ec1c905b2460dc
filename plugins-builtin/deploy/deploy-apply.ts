/**
 * `deploy apply`: wave by wave, up to max_parallel services of a wave at once, each deployed by
 * its driver and then gated by its health check (min_healthy_time, healthy_deadline). A failed
 * gate stops the rollout: that wave is reverted and, with auto_revert (the default), everything
 * this run changed, in reverse order. Every change is journaled first; a killed run resumes.
 */
import { mapLimit, type Json, type PluginContext } from 'cx-ops/sdk';
import { DEPLOY_DRIVER_KIND, type DeployOutcome, type DriverTarget, type RevertOutcome } from './deploy-driver-kind.js';
import { isFinished, journal, journalPath, lastRun, pendingChanges, type JournalEvent } from './deploy-journal.js';
import type { DeploymentPlan } from './deployment-plan.js';
import { healthSpecOf, timingOf } from './health-check-form.js';
import { probeHealth } from './health-check-kind.js';
import { healthGate, realClock, type Clock, type GateResult } from './health-gate.js';
import { durationMs, type ServiceManifest } from './manifest-types.js';

export type ServiceRun = {
  name: string;
  wave: number;
  driver: string | null;
  deploy: DeployOutcome | null;
  gate: GateResult | null;
  skipped?: string;
};

export type ApplyReport = {
  file: string;
  run: string;
  dry_run: boolean;
  status: 'deployed' | 'reverted' | 'failed' | 'planned';
  resumed: boolean;
  services: ServiceRun[];
  reverted: Array<{ name: string } & RevertOutcome>;
  message: string;
};

export type ApplyOptions = { file: string; manifest: ServiceManifest; plan: DeploymentPlan; only: string[] | null; clock?: Clock; log?: (line: string) => void };

const target = (file: string, manifest: ServiceManifest, name: string): DriverTarget => ({ service: name, spec: manifest.services[name]!, manifest_file: file });

async function driverCall<T>(ctx: PluginContext<any>, driver: string, request: Json): Promise<T> {
  return (await ctx.registry.invoke(DEPLOY_DRIVER_KIND, driver, request, { dryRun: ctx.env.dryRun, timeoutMs: 600_000 })) as T;
}

/** Reverts journaled changes in reverse order; returns what each revert did. */
export async function revertChanges(ctx: PluginContext<any>, o: { file: string; manifest: ServiceManifest; path: string; run: string; changes: Array<Extract<JournalEvent, { ev: 'deploying' }>>; log?: (line: string) => void }): Promise<Array<{ name: string } & RevertOutcome>> {
  const out: Array<{ name: string } & RevertOutcome> = [];
  for (const c of [...o.changes].reverse()) {
    const spec = o.manifest.services[c.service];
    let r: RevertOutcome;
    try {
      r = spec
        ? await driverCall<RevertOutcome>(ctx, c.driver, { op: 'revert', ...target(o.file, o.manifest, c.service), before: c.before })
        : { ok: false, detail: `${c.service} is no longer in ${o.file}; revert it by hand (driver ${c.driver})`, actions: [] };
    } catch (e) {
      r = { ok: false, detail: (e as Error).message, actions: [] };
    }
    o.log?.(`  revert ${c.service}: ${r.ok ? 'ok' : 'FAILED'} - ${r.detail}`);
    await journal(ctx, o.path, { ev: 'reverted', run: o.run, service: c.service, ok: r.ok, detail: r.detail });
    out.push({ name: c.service, ...r });
  }
  return out;
}

/** Runs the rollout (the caller has shown the plan, asked, and holds the lock). */
export async function applyPlan(ctx: PluginContext<any>, o: ApplyOptions): Promise<ApplyReport> {
  const clock = o.clock ?? realClock;
  const log = o.log ?? (() => undefined);
  const path = journalPath(ctx, o.file);
  const previous = await lastRun(ctx, path);
  const resumed = previous.length > 0 && !isFinished(previous) && !ctx.env.dryRun;
  const run = resumed ? (previous[0] as Extract<JournalEvent, { ev: 'begin' }>).run : new Date(clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const done = new Set(resumed ? previous.filter((e) => e.ev === 'healthy').map((e) => (e as { service: string }).service) : []);
  if (resumed) log(`resuming run ${run} (killed before it finished): ${done.size ? `${[...done].join(', ')} already deployed and healthy` : 'nothing finished yet'}`);
  else await journal(ctx, path, { ev: 'begin', run, file: o.file, at: new Date(clock.now()).toISOString(), only: o.only });
  const u = o.manifest.update ?? {};
  const maxParallel = u.max_parallel ?? 1;
  const minHealthyMs = durationMs(u.min_healthy_time, 0);
  const deadlineMs = durationMs(u.healthy_deadline, 300_000);
  const autoRevert = u.auto_revert ?? true;
  const report: ApplyReport = { file: o.file, run, dry_run: ctx.env.dryRun, status: ctx.env.dryRun ? 'planned' : 'deployed', resumed, services: [], reverted: [], message: '' };
  const only = o.only ? new Set(o.only) : null;

  for (const wave of o.plan.waves) {
    const names = wave.services.map((s) => s.name).filter((n) => !only || only.has(n));
    if (!names.length) continue;
    log(`Wave ${wave.wave}: ${names.join(', ')}`);
    const results = await mapLimit(names, maxParallel, async (name): Promise<ServiceRun> => {
      const spec = o.manifest.services[name]!;
      const driver = spec.driver?.type ?? null;
      const r: ServiceRun = { name, wave: wave.wave, driver, deploy: null, gate: null };
      if (done.has(name)) return { ...r, skipped: 'deployed and healthy in the run being resumed' };
      const t = target(o.file, o.manifest, name);
      if (driver) {
        const before = await driverCall<Json>(ctx, driver, { op: 'capture', ...t });
        await journal(ctx, path, { ev: 'deploying', run, service: name, wave: wave.wave, driver, before });
        try {
          r.deploy = await driverCall<DeployOutcome>(ctx, driver, { op: 'deploy', ...t });
        } catch (e) {
          r.deploy = { ok: false, changed: true, detail: (e as Error).message, actions: [] };
        }
        await journal(ctx, path, { ev: 'deployed', run, service: name, ok: r.deploy.ok, changed: r.deploy.changed, detail: r.deploy.detail });
        log(`  ${name}: ${ctx.env.dryRun ? 'would deploy' : r.deploy.ok ? 'deployed' : 'deploy FAILED'} (${driver}) - ${r.deploy.detail}${ctx.env.dryRun && r.deploy.actions.length ? `\n      ${r.deploy.actions.join('\n      ')}` : ''}`);
        if (!r.deploy.ok) return r;
      }
      const h = healthSpecOf(spec);
      if (ctx.env.dryRun) {
        if (h) log(`  ${name}: would wait for '${h.test}' to be healthy${minHealthyMs ? ` for ${minHealthyMs / 1000}s` : ''} (deadline ${deadlineMs / 1000}s)`);
        return r;
      }
      if (h) {
        const timing = timingOf(h);
        r.gate = await healthGate(() => probeHealth(ctx, h, spec.ip, timing.timeoutMs), { timing, minHealthyMs, deadlineMs }, clock);
        log(`  ${name}: ${r.gate.ok ? 'healthy' : 'UNHEALTHY'} - ${r.gate.reason}`);
        await journal(ctx, path, r.gate.ok ? { ev: 'healthy', run, service: name, reason: r.gate.reason } : { ev: 'unhealthy', run, service: name, reason: r.gate.reason });
      } else await journal(ctx, path, { ev: 'healthy', run, service: name, reason: 'no health_check: deployed counts as healthy' });
      return r;
    });
    report.services.push(...results);
    const failed = results.filter((r) => (r.deploy && !r.deploy.ok) || (r.gate && !r.gate.ok));
    if (!failed.length) continue;
    const events = await lastRun(ctx, path);
    const changes = pendingChanges(events);
    const inWave = new Set(names);
    const toRevert = autoRevert ? changes : changes.filter((c) => inWave.has(c.service));
    log(`rollout stopped: ${failed.map((f) => f.name).join(', ')} failed; reverting ${autoRevert ? 'everything this run changed' : `wave ${wave.wave}`}`);
    report.reverted = await revertChanges(ctx, { file: o.file, manifest: o.manifest, path, run, changes: toRevert, log });
    report.status = autoRevert ? 'reverted' : 'failed';
    report.message = `${failed.map((f) => `${f.name}: ${f.gate && !f.gate.ok ? f.gate.reason : f.deploy?.detail}`).join('; ')}; ${autoRevert ? 'every change of this run was reverted' : `wave ${wave.wave} was reverted; earlier waves stay (auto_revert is off; deploy rollback reverts them)`}`;
    await journal(ctx, path, { ev: 'end', run, outcome: report.status === 'reverted' ? 'reverted' : 'failed', at: new Date(clock.now()).toISOString() });
    return report;
  }
  await journal(ctx, path, { ev: 'end', run, outcome: 'deployed', at: new Date(clock.now()).toISOString() });
  const count = report.services.filter((s) => !s.skipped).length;
  report.message = ctx.env.dryRun ? `dry run: would deploy ${count} service${count === 1 ? '' : 's'} in ${new Set(report.services.map((s) => s.wave)).size} wave(s); nothing was changed` : `deployed ${count} service${count === 1 ? '' : 's'}, all healthy`;
  return report;
}
