/**
 * The `cx-ops deploy` commands: validate, plan, deps, apply, rollback, status. Each reads the
 * manifest FILE as given, relative to the working directory (not under --root; what it deploys
 * goes under --root), and prints text
 * or, with --json, one JSON document (errors included).
 */
import { closest, CxError, isCxError, type CommandInput, type PluginContext } from 'cx-ops/sdk';
import { resolve } from 'node:path';
import { applyPlan, revertChanges, type ApplyReport } from './deploy-apply.js';
import type { DeployConfig } from './deploy-config.js';
import { DEPLOY_DRIVER_KIND, type DriverStatus } from './deploy-driver-kind.js';
import { isFinished, journal, journalPath, pendingChanges, readRuns, type JournalEvent } from './deploy-journal.js';
import { getDeploymentOrder, getServiceDependencies, getServiceDependents } from './deployment-order.js';
import { formatPlanDot, formatPlanText, generateDeploymentPlan, planText } from './deployment-plan.js';
import { healthSpecOf, timingOf } from './health-check-form.js';
import { probeHealth, type HealthProbe } from './health-check-kind.js';
import { generateHealthCheck, generateHealthMonitor } from './health-scripts.js';
import { knownDrivers, loadManifest, unreadable } from './load-manifest.js';
import { readManifest, type ManifestProblem } from './read-manifest.js';
import { generateRollbackScript } from './rollback-script.js';
import { validateServiceManifest } from './validate-manifest.js';

type Ctx = PluginContext<DeployConfig>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const json = (ctx: Ctx, v: unknown) => ctx.io.out(`${JSON.stringify(v, null, 2)}\n`);

/** FILE as the user gave it, made absolute against the working directory (never under --root). */
const manifestPath = (input: CommandInput) => (str(input.args.file) ? resolve(str(input.args.file)) : '');

/**
 * Runs a command body. An error goes to the kernel's one printer, except under --json, where a
 * CxError is printed here as the kernel prints one (`{ error: { code, message, exit, …, docs } }`)
 * plus, for a manifest with problems, every problem with its file, line and column.
 */
async function reporting(ctx: Ctx, input: CommandInput, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (input.options.json && isCxError(e)) {
      json(ctx, {
        error: { ...e.toData(), ...(Array.isArray(e.params.problems) ? { problems: e.params.problems } : {}) },
      });
      return e.exitCode;
    }
    throw e;
  }
}

function unknownService(ctx: Ctx, file: string, name: string, known: string[]): CxError {
  const near = closest(name, known);
  return new CxError('CX_ERR_USAGE', {
    plugin: ctx.plugin,
    detail: `${file} has no service '${name}'.${near.length ? ` Did you mean: ${near.join(', ')}?` : ''} Services: ${known.join(', ') || '(none)'}`,
    hint: `${ctx.env.command} deploy plan ${file}`,
  });
}

export async function validateCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  return reporting(ctx, input, async () => {
    const file = manifestPath(input);
    let text: string;
    try {
      text = await ctx.localFs.readFile(file);
    } catch (e) {
      throw unreadable(ctx.plugin, file, e);
    }
    const r = readManifest(text, file);
    const problems: ManifestProblem[] = r.ok
      ? validateServiceManifest(r.source, { drivers: await knownDrivers(ctx) })
      : r.problems;
    const services = r.ok ? Object.keys(r.source.manifest.services).length : 0;
    if (input.options.json) json(ctx, { file, valid: problems.length === 0, services, problems });
    else if (problems.length) {
      const { formatProblems } = await import('./read-manifest.js');
      ctx.io.err(formatProblems(problems));
      ctx.io.err(
        `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}; the format is schemas/deploy-manifest.schema.json\n`,
      );
    } else ctx.io.out(`${file}: valid (${services} service${services === 1 ? '' : 's'})\n`);
    return problems.length ? 2 : 0;
  });
}

export async function planCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  return reporting(ctx, input, async () => {
    const file = manifestPath(input);
    const format = input.options.json ? 'json' : str(input.options.format) || 'text';
    if (!['text', 'json', 'dot'].includes(format))
      throw new CxError('CX_ERR_USAGE', {
        plugin: ctx.plugin,
        detail: `deploy plan: --format must be text, json or dot (got '${format}')`,
        hint: `${ctx.env.command} deploy plan ${file} --format dot | dot -Tsvg > plan.svg`,
      });
    const source = await loadManifest(ctx, file, await knownDrivers(ctx));
    if (format === 'text') ctx.io.out(planText(source.manifest));
    else {
      const plan = generateDeploymentPlan(source.manifest);
      ctx.io.out(format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanDot(plan));
    }
    return 0;
  });
}

export async function depsCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  return reporting(ctx, input, async () => {
    const file = manifestPath(input);
    const service = str(input.args.service);
    const source = await loadManifest(ctx, file, await knownDrivers(ctx));
    const names = Object.keys(source.manifest.services);
    if (!source.manifest.services[service]) throw unknownService(ctx, file, service, names);
    const deps = input.options.reverse
      ? getServiceDependents(source.manifest, service)
      : getServiceDependencies(source.manifest, service);
    if (input.options.json) json(ctx, { service, [input.options.reverse ? 'dependents' : 'dependencies']: deps });
    else
      ctx.io.out(
        deps.length
          ? `${deps.join('\n')}\n`
          : `${service} ${input.options.reverse ? 'has no dependents' : 'depends on nothing'}\n`,
      );
    return 0;
  });
}

/** Checks that every driver the services use works here; throws before anything starts. */
async function checkDrivers(
  ctx: Ctx,
  file: string,
  services: Array<{ name: string; driver: string | null }>,
): Promise<void> {
  const byDriver = new Map<string, string[]>();
  for (const s of services) if (s.driver) byDriver.set(s.driver, [...(byDriver.get(s.driver) ?? []), s.name]);
  for (const [driver, names] of byDriver) {
    const a = (await ctx.registry.invoke(DEPLOY_DRIVER_KIND, driver, { op: 'detect' })) as {
      available: boolean;
      reason?: string;
    };
    if (!a.available)
      throw new CxError('CX_ERR_DEPLOY_DRIVER_UNAVAILABLE', {
        plugin: ctx.plugin,
        file,
        driver,
        services: names,
        reason: a.reason ?? 'unknown',
      });
  }
}

function formatApply(r: ApplyReport): string {
  return `${r.status.toUpperCase()}: ${r.message}\n`;
}

export async function applyCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  return reporting(ctx, input, async () => {
    const file = manifestPath(input);
    const only = Array.isArray(input.options.only) ? input.options.only.map(String) : null;
    const source = await loadManifest(ctx, file, await knownDrivers(ctx));
    const plan = generateDeploymentPlan(source.manifest);
    const enabled = plan.waves.flatMap((w) => w.services.map((s) => s.name));
    for (const n of only ?? []) if (!enabled.includes(n)) throw unknownService(ctx, file, n, enabled);
    const chosen = plan.waves.flatMap((w) => w.services).filter((s) => !only || only.includes(s.name));
    await checkDrivers(ctx, file, chosen);
    const quiet = Boolean(input.options.json);
    const log = (line: string) => (quiet ? undefined : ctx.io.out(`${line}\n`));
    if (!quiet)
      ctx.io.out(
        formatPlanText(
          only
            ? {
                waves: plan.waves
                  .map((w) => ({ ...w, services: w.services.filter((s) => only.includes(s.name)) }))
                  .filter((w) => w.services.length),
                disabled: plan.disabled,
              }
            : plan,
        ),
      );
    if (
      !ctx.env.dryRun &&
      !(await ctx.io.confirm(`Deploy ${chosen.length} service${chosen.length === 1 ? '' : 's'} from ${file}?`))
    ) {
      const message = 'not applied: not confirmed (answer yes, or pass -y)';
      if (quiet) json(ctx, { file, status: 'declined', message });
      else ctx.io.err(`${message}\n`);
      return 1;
    }
    const lock = await ctx.lock('deploy', { what: `deploy apply ${file}` });
    let report: ApplyReport;
    try {
      report = await applyPlan(ctx, { file, manifest: source.manifest, plan, only, log });
    } finally {
      await lock.release();
    }
    if (quiet) json(ctx, report);
    else ctx.io.out(formatApply(report));
    return report.status === 'deployed' || report.status === 'planned' ? 0 : 1;
  });
}

export async function rollbackCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  return reporting(ctx, input, async () => {
    const file = manifestPath(input);
    const service = str(input.args.service) || null;
    const source = await loadManifest(ctx, file, await knownDrivers(ctx));
    if (service && !source.manifest.services[service])
      throw unknownService(ctx, file, service, Object.keys(source.manifest.services));
    if (input.options.script) {
      ctx.io.out(
        generateRollbackScript(source.manifest, service ?? undefined, {
          supervisorConfig: ctx.config.supervisor_config,
        }),
      );
      return 0;
    }
    const path = journalPath(ctx, file);
    const wanted = service ? new Set([service, ...getServiceDependents(source.manifest, service)]) : null;
    const pendingOf = (evs: JournalEvent[]) => pendingChanges(evs).filter((c) => !wanted || wanted.has(c.service));
    // The newest run that still has changes to revert: rolling back again goes one run further back.
    const runs = await readRuns(ctx, path);
    let events = runs[runs.length - 1] ?? [];
    for (let i = runs.length - 1; i >= 0; i--) {
      if (pendingOf(runs[i]!).length) {
        events = runs[i]!;
        break;
      }
    }
    const changes = pendingOf(events);
    const run = (events[0] as { run?: string } | undefined)?.run ?? '';
    if (!changes.length) {
      const message = events.length
        ? `nothing to roll back: run ${run} left no unreverted change${service ? ` to ${service} or what depends on it` : ''}`
        : `nothing to roll back: no deploy run of ${file} is recorded (in ${path})`;
      if (input.options.json) json(ctx, { file, run: run || null, status: 'nothing', reverted: [], message });
      else ctx.io.out(`${message}\n`);
      return 0;
    }
    if (
      !ctx.env.dryRun &&
      !(await ctx.io.confirm(
        `Revert ${changes
          .map((c) => c.service)
          .reverse()
          .join(', ')} (run ${run}${isFinished(events) ? '' : ', which did not finish'})?`,
      ))
    ) {
      const message = 'not rolled back: not confirmed (answer yes, or pass -y)';
      if (input.options.json) json(ctx, { file, run, status: 'declined', reverted: [], message });
      else ctx.io.err(`${message}\n`);
      return 1;
    }
    const lock = await ctx.lock('deploy', { what: `deploy rollback ${file}` });
    let reverted;
    try {
      const log = (l: string) => (input.options.json ? undefined : ctx.io.out(`${l}\n`));
      if (ctx.env.dryRun) {
        for (const c of [...changes].reverse()) log(`would revert ${c.service} (${c.driver})`);
        reverted = changes.map((c) => ({ name: c.service, ok: true, detail: 'dry run', actions: [] }));
      } else {
        reverted = await revertChanges(ctx, { file, manifest: source.manifest, path, run, changes, log });
        if (!isFinished(events))
          await journal(ctx, path, { ev: 'end', run, outcome: 'rolled-back', at: new Date().toISOString() });
      }
    } finally {
      await lock.release();
    }
    const ok = reverted.every((r) => r.ok);
    const message = `${ctx.env.dryRun ? 'dry run: would revert' : ok ? 'reverted' : 'could not revert all of'} ${reverted.map((r) => r.name).join(', ')}`;
    if (input.options.json)
      json(ctx, { file, run, status: ctx.env.dryRun ? 'planned' : ok ? 'rolled-back' : 'failed', reverted, message });
    else ctx.io.out(`${message}\n`);
    return ok ? 0 : 1;
  });
}

type ServiceHealth = {
  name: string;
  driver: string | null;
  driver_state: DriverStatus | null;
  health: HealthProbe | null;
};

async function healthNow(
  ctx: Ctx,
  file: string,
  source: Awaited<ReturnType<typeof loadManifest>>,
  only: string | null,
): Promise<ServiceHealth[]> {
  const order = only ? [only] : (getDeploymentOrder(source.manifest) ?? []).flat();
  return Promise.all(
    order.map(async (name) => {
      const spec = source.manifest.services[name]!;
      const driver = spec.driver?.type ?? null;
      let driver_state: DriverStatus | null = null;
      if (driver) {
        try {
          driver_state = (await ctx.registry.invoke(DEPLOY_DRIVER_KIND, driver, {
            op: 'status',
            service: name,
            spec,
            manifest_file: file,
          })) as DriverStatus;
        } catch (e) {
          driver_state = { state: 'unknown', detail: (e as Error).message };
        }
      }
      const h = healthSpecOf(spec);
      return {
        name,
        driver,
        driver_state,
        health: h ? await probeHealth(ctx, h, spec.ip, timingOf(h).timeoutMs) : null,
      };
    }),
  );
}

/** A positive number of seconds or rounds from an option, or a usage error that says so. */
function positive(ctx: Ctx, file: string, flag: string, value: unknown, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n))) return n;
  throw new CxError('CX_ERR_USAGE', {
    plugin: ctx.plugin,
    detail: `deploy status: ${flag} must be a positive ${integer ? 'whole number' : 'number of seconds'} (got '${String(value)}')`,
    hint: `${ctx.env.command} deploy status ${file} --watch --interval 5 --count 10`,
  });
}

/**
 * Waits `ms`, or less when SIGINT or SIGTERM arrives; `stopped()` says whether one did. While
 * watching, the signals end the watch after the round in progress instead of killing it.
 */
function interruptible(): { sleep(ms: number): Promise<void>; stopped(): boolean; close(): void } {
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stop = true;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (stop) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    stopped: () => stop,
    close: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export async function statusCommand(ctx: Ctx, input: CommandInput): Promise<number> {
  return reporting(ctx, input, async () => {
    const file = manifestPath(input);
    const every = positive(ctx, file, '--interval', input.options.interval, false) ?? 5;
    const count = positive(ctx, file, '--count', input.options.count, true);
    const source = await loadManifest(ctx, file, await knownDrivers(ctx));
    const service = str(input.args.service) || null;
    if (service && !source.manifest.services[service])
      throw unknownService(ctx, file, service, Object.keys(source.manifest.services));
    if (input.options.script) {
      ctx.io.out(
        service
          ? generateHealthCheck(service, source.manifest.services[service]!)
          : generateHealthMonitor(source.manifest),
      );
      return 0;
    }
    const watch = Boolean(input.options.watch) || count !== undefined;
    const rounds = watch ? (count ?? Infinity) : 1;
    const signals = watch ? interruptible() : null;
    try {
      let code = 0;
      for (let round = 1; round <= rounds; round++) {
        const services = await healthNow(ctx, file, source, service);
        const worst = services.some((s) => s.health?.state === 'unhealthy')
          ? 2
          : services.some((s) => s.health?.state === 'degraded')
            ? 1
            : 0;
        const at = new Date().toISOString();
        const status = (['healthy', 'degraded', 'unhealthy'] as const)[worst];
        code = worst === 0 ? 0 : 1;
        // Watching: one JSON document per line and round (NDJSON), or a header per round.
        if (input.options.json)
          ctx.io.out(
            watch
              ? `${JSON.stringify({ file, round, at, status, services })}\n`
              : `${JSON.stringify({ file, at, status, services }, null, 2)}\n`,
          );
        else {
          if (watch) ctx.io.out(`${round > 1 ? '\n' : ''}${at} round ${round}: ${status}\n`);
          ctx.io.out(
            services
              .map(
                (s) =>
                  `${s.name}: ${s.health ? `${s.health.state} (${s.health.detail})` : 'no health_check'}${s.driver_state ? `; ${s.driver} ${s.driver_state.state} (${s.driver_state.detail})` : ''}`,
              )
              .join('\n') + '\n',
          );
        }
        if (round >= rounds || signals?.stopped()) break;
        await signals!.sleep(every * 1000);
        if (signals?.stopped()) break;
      }
      return code;
    } finally {
      signals?.close();
    }
  });
}
