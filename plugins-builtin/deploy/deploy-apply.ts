/**
 * `deploy apply`: the plan's waves in order, up to max_parallel services at once, each deployed
 * by its driver once every dependency meets its depends_on condition (started, healthy, or
 * completed successfully), then gated by its health check (min_healthy_time, healthy_deadline)
 * or, when a dependent needs it completed, by its exit. A failed gate stops the rollout: that
 * wave and later are reverted and, with auto_revert (the default), everything this run changed,
 * in reverse order. Every change is journaled first; a killed run resumes.
 */
import type { Json, PluginContext } from 'cx-ops/sdk';
import { DEPLOY_DRIVER_KIND, type DeployOutcome, type DriverTarget, type RevertOutcome } from './deploy-driver-kind.js';
import { isFinished, journal, journalPath, lastRun, pendingChanges, type JournalEvent } from './deploy-journal.js';
import type { DeploymentPlan } from './deployment-plan.js';
import { healthSpecOf, timingOf } from './health-check-form.js';
import { probeHealth } from './health-check-kind.js';
import {
  completionGate,
  healthGate,
  realClock,
  type Clock,
  type CompletionProbe,
  type GateResult,
} from './health-gate.js';
import { Milestones, runOnceServices, Slots } from './dependency-conditions.js';
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

export type ApplyOptions = {
  file: string;
  manifest: ServiceManifest;
  plan: DeploymentPlan;
  only: string[] | null;
  clock?: Clock;
  log?: (line: string) => void;
};

const target = (file: string, manifest: ServiceManifest, name: string): DriverTarget => ({
  service: name,
  spec: manifest.services[name]!,
  manifest_file: file,
});

async function driverCall<T>(ctx: PluginContext<unknown>, driver: string, request: Json): Promise<T> {
  return (await ctx.registry.invoke(DEPLOY_DRIVER_KIND, driver, request, {
    dryRun: ctx.env.dryRun,
    timeoutMs: 600_000,
  })) as T;
}

/** Reverts journaled changes in reverse order; returns what each revert did. */
export async function revertChanges(
  ctx: PluginContext<unknown>,
  o: {
    file: string;
    manifest: ServiceManifest;
    path: string;
    run: string;
    changes: Array<Extract<JournalEvent, { ev: 'deploying' }>>;
    log?: (line: string) => void;
  },
): Promise<Array<{ name: string } & RevertOutcome>> {
  const out: Array<{ name: string } & RevertOutcome> = [];
  for (const c of [...o.changes].reverse()) {
    const spec = o.manifest.services[c.service];
    let r: RevertOutcome;
    try {
      r = spec
        ? await driverCall<RevertOutcome>(ctx, c.driver, {
            op: 'revert',
            ...target(o.file, o.manifest, c.service),
            before: c.before,
          })
        : {
            ok: false,
            detail: `${c.service} is no longer in ${o.file}; revert it by hand (driver ${c.driver})`,
            actions: [],
          };
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
export async function applyPlan(ctx: PluginContext<unknown>, o: ApplyOptions): Promise<ApplyReport> {
  const clock = o.clock ?? realClock;
  const log = o.log ?? (() => undefined);
  const path = journalPath(ctx, o.file);
  const previous = await lastRun(ctx, path);
  const resumed = previous.length > 0 && !isFinished(previous) && !ctx.env.dryRun;
  const run = resumed
    ? (previous[0] as Extract<JournalEvent, { ev: 'begin' }>).run
    : new Date(clock.now())
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
  const done = new Set(
    resumed ? previous.filter((e) => e.ev === 'healthy').map((e) => (e as { service: string }).service) : [],
  );
  if (resumed)
    log(
      `resuming run ${run} (killed before it finished): ${done.size ? `${[...done].join(', ')} already deployed and healthy` : 'nothing finished yet'}`,
    );
  else
    await journal(ctx, path, { ev: 'begin', run, file: o.file, at: new Date(clock.now()).toISOString(), only: o.only });
  const u = o.manifest.update ?? {};
  const settings: Settings = {
    maxParallel: u.max_parallel ?? 1,
    minHealthyMs: durationMs(u.min_healthy_time, 0),
    deadlineMs: durationMs(u.healthy_deadline, 300_000),
  };
  const autoRevert = u.auto_revert ?? true;
  const report: ApplyReport = {
    file: o.file,
    run,
    dry_run: ctx.env.dryRun,
    status: ctx.env.dryRun ? 'planned' : 'deployed',
    resumed,
    services: [],
    reverted: [],
    message: '',
  };
  const only = o.only ? new Set(o.only) : null;
  const order = o.plan.waves.flatMap((w) =>
    w.services.filter((s) => !only || only.has(s.name)).map((s) => ({ name: s.name, wave: w.wave })),
  );
  const waveOf = new Map(order.map((s) => [s.name, s.wave]));

  if (ctx.env.dryRun) {
    let wave = 0;
    for (const s of order) {
      if (s.wave !== wave)
        log(
          `Wave ${(wave = s.wave)}: ${order
            .filter((x) => x.wave === wave)
            .map((x) => x.name)
            .join(', ')}`,
        );
      report.services.push(await deployOne(ctx, o, s, settings, { clock, log, path, run, runOnce: new Set() }));
    }
    report.message = `dry run: would deploy ${order.length} service${order.length === 1 ? '' : 's'} in ${new Set(order.map((s) => s.wave)).size} wave(s); nothing was changed`;
    return report;
  }

  // Each service starts once every dependency meets its condition (started, healthy, completed
  // successfully), taking one of max_parallel slots in plan order; a failure stops new starts.
  const milestones = new Milestones(order.map((s) => s.name));
  for (const n of done) milestones.mark(n, 'passed', true);
  const runOnce = runOnceServices(
    o.manifest,
    order.map((s) => s.name),
  );
  const slots = new Slots(settings.maxParallel);
  let stopped: string | null = null;
  const results = await Promise.all(
    order.map(async (s): Promise<ServiceRun> => {
      const r: ServiceRun = {
        name: s.name,
        wave: s.wave,
        driver: o.manifest.services[s.name]!.driver?.type ?? null,
        deploy: null,
        gate: null,
      };
      if (done.has(s.name)) return { ...r, skipped: 'deployed and healthy in the run being resumed' };
      const waiting = await milestones.waitFor(o.manifest, s.name);
      if (waiting || stopped) {
        milestones.fail(s.name);
        return { ...r, skipped: `not started: ${waiting ?? `the rollout stopped (${stopped})`}` };
      }
      await slots.take();
      try {
        if (stopped) {
          milestones.fail(s.name);
          return { ...r, skipped: `not started: the rollout stopped (${stopped})` };
        }
        const out = await deployOne(ctx, o, s, settings, { clock, log, path, run, runOnce, milestones });
        if ((out.deploy && !out.deploy.ok) || (out.gate && !out.gate.ok)) stopped ??= `${s.name} failed`;
        return out;
      } finally {
        slots.give();
      }
    }),
  );
  report.services = results;
  const failed = results.filter((r) => (r.deploy && !r.deploy.ok) || (r.gate && !r.gate.ok));
  if (!failed.length) {
    await journal(ctx, path, { ev: 'end', run, outcome: 'deployed', at: new Date(clock.now()).toISOString() });
    const count = results.filter((s) => !s.skipped).length;
    report.message = `deployed ${count} service${count === 1 ? '' : 's'}, all healthy`;
    return report;
  }
  // The first failed wave and everything after it go (auto_revert: everything this run changed).
  const firstWave = Math.min(...failed.map((f) => f.wave));
  const changes = pendingChanges(await lastRun(ctx, path));
  const toRevert = autoRevert ? changes : changes.filter((c) => (waveOf.get(c.service) ?? 0) >= firstWave);
  log(
    `rollout stopped: ${failed.map((f) => f.name).join(', ')} failed; reverting ${autoRevert ? 'everything this run changed' : `wave ${firstWave} and later`}`,
  );
  report.reverted = await revertChanges(ctx, { file: o.file, manifest: o.manifest, path, run, changes: toRevert, log });
  report.status = autoRevert ? 'reverted' : 'failed';
  report.message = `${failed.map((f) => `${f.name}: ${f.gate && !f.gate.ok ? f.gate.reason : f.deploy?.detail}`).join('; ')}; ${autoRevert ? 'every change of this run was reverted' : `wave ${firstWave} and later were reverted; earlier waves stay (auto_revert is off; deploy rollback reverts them)`}`;
  await journal(ctx, path, {
    ev: 'end',
    run,
    outcome: report.status === 'reverted' ? 'reverted' : 'failed',
    at: new Date(clock.now()).toISOString(),
  });
  return report;
}

type Settings = { maxParallel: number; minHealthyMs: number; deadlineMs: number };

type RunState = {
  clock: Clock;
  log: (line: string) => void;
  path: string;
  run: string;
  runOnce: Set<string>;
  milestones?: Milestones;
};

/** Deploys one service through its driver and gates it (health, or completion for a run-once service). */
async function deployOne(
  ctx: PluginContext<unknown>,
  o: ApplyOptions,
  s: { name: string; wave: number },
  settings: Settings,
  st: RunState,
): Promise<ServiceRun> {
  const { name } = s;
  const spec = o.manifest.services[name]!;
  const driver = spec.driver?.type ?? null;
  const r: ServiceRun = { name, wave: s.wave, driver, deploy: null, gate: null };
  const t = target(o.file, o.manifest, name);
  const pass = (ok: boolean) => st.milestones?.mark(name, 'passed', ok);
  if (driver) {
    const before = await driverCall<Json>(ctx, driver, { op: 'capture', ...t });
    await journal(ctx, st.path, { ev: 'deploying', run: st.run, service: name, wave: s.wave, driver, before });
    try {
      r.deploy = await driverCall<DeployOutcome>(ctx, driver, { op: 'deploy', ...t });
    } catch (e) {
      r.deploy = { ok: false, changed: true, detail: (e as Error).message, actions: [] };
    }
    await journal(ctx, st.path, {
      ev: 'deployed',
      run: st.run,
      service: name,
      ok: r.deploy.ok,
      changed: r.deploy.changed,
      detail: r.deploy.detail,
    });
    st.log(
      `  ${name}: ${ctx.env.dryRun ? 'would deploy' : r.deploy.ok ? 'deployed' : 'deploy FAILED'} (${driver}) - ${r.deploy.detail}${ctx.env.dryRun && r.deploy.actions.length ? `\n      ${r.deploy.actions.join('\n      ')}` : ''}`,
    );
    st.milestones?.mark(name, 'started', r.deploy.ok);
    if (!r.deploy.ok) return r;
  } else st.milestones?.mark(name, 'started', true);
  const h = healthSpecOf(spec);
  if (ctx.env.dryRun) {
    if (h)
      st.log(
        `  ${name}: would wait for '${h.test}' to be healthy${settings.minHealthyMs ? ` for ${settings.minHealthyMs / 1000}s` : ''} (deadline ${settings.deadlineMs / 1000}s)`,
      );
    return r;
  }
  if (st.runOnce.has(name) && driver) {
    // A dependent needs it to run to its end: that is its gate (compose ignores its health check then).
    r.gate = await completionGate(
      () => driverCall<CompletionProbe>(ctx, driver, { op: 'completion', ...t }),
      { intervalMs: 250, deadlineMs: settings.deadlineMs },
      st.clock,
    );
  } else if (h) {
    const timing = timingOf(h);
    r.gate = await healthGate(
      () => probeHealth(ctx, h, spec.ip, timing.timeoutMs),
      { timing, minHealthyMs: settings.minHealthyMs, deadlineMs: settings.deadlineMs },
      st.clock,
    );
  } else {
    await journal(ctx, st.path, {
      ev: 'healthy',
      run: st.run,
      service: name,
      reason: 'no health_check: deployed counts as healthy',
    });
    pass(true);
    return r;
  }
  st.log(
    `  ${name}: ${r.gate.ok ? (st.runOnce.has(name) ? 'completed' : 'healthy') : st.runOnce.has(name) ? 'NOT COMPLETED' : 'UNHEALTHY'} - ${r.gate.reason}`,
  );
  await journal(
    ctx,
    st.path,
    r.gate.ok
      ? { ev: 'healthy', run: st.run, service: name, reason: r.gate.reason }
      : { ev: 'unhealthy', run: st.run, service: name, reason: r.gate.reason },
  );
  pass(r.gate.ok);
  return r;
}
