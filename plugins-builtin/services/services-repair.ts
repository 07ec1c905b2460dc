/**
 * `repair services`: failed services of every available service manager are restarted with
 * backoff and verified (still running after `verify_seconds`). A service that keeps failing is
 * given up on: left alone and reported, and not restarted again by later runs for
 * `give_up_hours` unless named with --service.
 */
import { appendJournal, closest, CxError, type Availability, type PluginContext } from 'cx-ops/sdk';
import {
  askServiceManager,
  serviceManagerKind,
  type ServiceManagerReply,
  type ServiceManagerRequest,
  type ServiceStatus,
} from './service-manager-contract.js';
import type { SupervisorConfig } from './supervisord-manager.js';

export interface ServicesConfig extends SupervisorConfig {
  max_attempts?: number;
  backoff_seconds?: number;
  verify_seconds?: number;
  give_up_hours?: number;
}

export interface RestartAttempt {
  ok: boolean;
  detail: string;
  /** State after the verify wait. */
  state: ServiceStatus['state'];
}

export interface ServiceOutcome {
  manager: string;
  name: string;
  before: ServiceStatus;
  outcome: 'restarted' | 'still-failing' | 'left-alone' | 'would-restart' | 'healthy' | 'stopped';
  attempts: RestartAttempt[];
  message: string;
}

export interface ServicesReport {
  dryRun: boolean;
  status: 'ok' | 'repaired' | 'failing' | 'planned' | 'skipped' | 'declined';
  managers: Array<{ id: string } & Availability>;
  services: ServiceOutcome[];
  message: string;
}

/** Thrown for a --service that no manager knows. */
type GaveUp = Record<string, { at: string; attempts: number; detail: string }>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readGaveUp(ctx: PluginContext<unknown>): Promise<GaveUp> {
  try {
    return JSON.parse(await ctx.localFs.readFile(`${ctx.env.stateDir}/gave-up.json`)) as GaveUp;
  } catch {
    return {};
  }
}

async function writeGaveUp(ctx: PluginContext<unknown>, g: GaveUp): Promise<void> {
  if (ctx.env.dryRun) return;
  await ctx.localFs.mkdir(ctx.env.stateDir, { mode: 0o700 });
  await ctx.localFs.writeFile(`${ctx.env.stateDir}/gave-up.json`, `${JSON.stringify(g, null, 2)}\n`, { mode: 0o600 });
}

function call<R extends ServiceManagerRequest>(
  ctx: PluginContext<unknown>,
  manager: string,
  req: R,
): Promise<ServiceManagerReply<R>> {
  // A contribution invoked from a dry run must run dry too: the registry does not pass it on.
  return askServiceManager(ctx, manager, req, { dryRun: ctx.env.dryRun });
}

/** Restarts one service until it stays up or the attempts run out. */
async function restartWithBackoff(
  ctx: PluginContext<ServicesConfig>,
  manager: string,
  name: string,
): Promise<RestartAttempt[]> {
  const max = ctx.config.max_attempts ?? 3;
  const backoff = (ctx.config.backoff_seconds ?? 2) * 1000;
  const verify = (ctx.config.verify_seconds ?? 3) * 1000;
  const attempts: RestartAttempt[] = [];
  for (let i = 1; i <= max; i++) {
    const r = await call(ctx, manager, { op: 'restart', name });
    await sleep(verify);
    const s = await call(ctx, manager, { op: 'status', name });
    attempts.push({ ok: r.ok && s.state === 'running', detail: r.detail, state: s.state });
    if (r.ok && s.state === 'running') break;
    if (i < max) await sleep(backoff * 2 ** (i - 1));
  }
  return attempts;
}

/** Repairs (or, in a dry run, plans); one run at a time (throws CX_ERR_STATE_LOCKED). */
export interface RepairServicesOptions {
  service: string | null;
  /** Asked with the plan (each service to restart, through which manager) before any restart; false stops. */
  confirm?: (plan: string[]) => Promise<boolean>;
}

export async function repairServices(
  ctx: PluginContext<ServicesConfig>,
  o: RepairServicesOptions,
): Promise<ServicesReport> {
  const lock = await ctx.lock('services-repair', {
    what: `repair services${o.service ? ` --service ${o.service}` : ''}`,
  });
  try {
    return await repairWith(ctx, o);
  } finally {
    await lock.release();
  }
}

async function repairWith(ctx: PluginContext<ServicesConfig>, o: RepairServicesOptions): Promise<ServicesReport> {
  const dryRun = ctx.env.dryRun;
  const report: ServicesReport = { dryRun, status: 'ok', managers: [], services: [], message: '' };
  for (const m of await ctx.registry.list(serviceManagerKind)) {
    const a = await call(ctx, m.id, { op: 'detect' });
    report.managers.push({ id: m.id, available: a.available, ...(a.reason ? { reason: a.reason } : {}) });
  }
  const usable = report.managers.filter((m) => m.available);
  if (!usable.length) {
    return {
      ...report,
      status: 'skipped',
      message: `no service manager runs here: ${report.managers.map((m) => `${m.id}: ${m.reason}`).join('; ') || 'none is loaded'}`,
    };
  }
  const all: Array<{ manager: string; s: ServiceStatus }> = [];
  for (const m of usable) for (const s of await call(ctx, m.id, { op: 'list' })) all.push({ manager: m.id, s });
  let targets = all;
  if (o.service) {
    targets = all.filter((x) => x.s.name === o.service);
    if (!targets.length) {
      const near = closest(
        o.service,
        all.map((x) => x.s.name),
      );
      throw new CxError('CX_ERR_USAGE', {
        detail: `repair services: no service '${o.service}' in ${usable.map((m) => m.id).join(', ')}.${near.length ? ` Did you mean: ${near.join(', ')}?` : ''} Known: ${all.map((x) => x.s.name).join(', ') || '(none)'}`,
        hint: `${ctx.env.command} repair services --dry-run   (every failed service)`,
      });
    }
  }
  const gaveUp = await readGaveUp(ctx);
  const windowMs = (ctx.config.give_up_hours ?? 24) * 3_600_000;
  const todo: Array<{ manager: string; s: ServiceStatus; base: Omit<ServiceOutcome, 'outcome' | 'message'> }> = [];
  for (const { manager, s } of targets) {
    const key = `${manager}/${s.name}`;
    const base = { manager, name: s.name, before: s, attempts: [] as RestartAttempt[] };
    if (s.state !== 'failed') {
      if (s.state === 'stopped' && o.service)
        report.services.push({
          ...base,
          outcome: 'stopped',
          message: `${s.name} is stopped (${s.detail}), not failed: left as it is`,
        });
      else if (o.service)
        report.services.push({
          ...base,
          outcome: 'healthy',
          message: `${s.name} is ${s.state} (${s.detail}): nothing to do`,
        });
      continue;
    }
    const g = gaveUp[key];
    if (g && !o.service && Date.now() - Date.parse(g.at) < windowMs) {
      report.services.push({
        ...base,
        outcome: 'left-alone',
        message: `${s.name} kept failing (${g.attempts} restarts at ${g.at}); left alone. Try again with: ${ctx.env.command} repair services --service ${s.name}`,
      });
      continue;
    }
    if (dryRun) {
      report.services.push({
        ...base,
        outcome: 'would-restart',
        message: `${s.name} is failed (${s.detail}): would restart it (up to ${ctx.config.max_attempts ?? 3} attempts) and verify`,
      });
      continue;
    }
    todo.push({ manager, s, base });
  }
  const max = ctx.config.max_attempts ?? 3;
  const plan = todo.map(
    ({ manager, s }) =>
      `restart ${manager}/${s.name} (now ${s.detail}) through ${manager}, up to ${max} attempt(s) with backoff, then verify it runs`,
  );
  if (todo.length && o.confirm && !(await o.confirm(plan))) {
    return {
      ...report,
      status: 'declined',
      message: `not repaired: ${todo.length} failed service(s) (${todo.map((x) => x.s.name).join(', ')}) and the plan was not confirmed; nothing was restarted`,
    };
  }
  for (const { manager, s, base } of todo) {
    const key = `${manager}/${s.name}`;
    const attempts = await restartWithBackoff(ctx, manager, s.name);
    const ok = attempts[attempts.length - 1]?.ok ?? false;
    if (ok) delete gaveUp[key];
    else
      gaveUp[key] = {
        at: new Date().toISOString(),
        attempts: attempts.length,
        detail: attempts[attempts.length - 1]?.detail ?? '',
      };
    report.services.push({
      ...base,
      attempts,
      outcome: ok ? 'restarted' : 'still-failing',
      message: ok
        ? `${s.name} restarted and verified running (attempt ${attempts.length})`
        : `${s.name} still fails after ${attempts.length} restart(s) (${attempts[attempts.length - 1]?.detail}); left alone and not restarted again for ${ctx.config.give_up_hours ?? 24} h`,
    });
  }
  await writeGaveUp(ctx, gaveUp);
  const acted = report.services.filter((x) => x.attempts.length);
  if (acted.length) {
    await appendJournal(ctx, {
      run: 'repair services',
      restarts: acted.map((x) => ({
        service: `${x.manager}/${x.name}`,
        outcome: x.outcome,
        attempts: x.attempts.length,
      })),
    });
  }
  const failing = report.services.filter((x) => x.outcome === 'still-failing' || x.outcome === 'left-alone');
  const restarted = report.services.filter((x) => x.outcome === 'restarted');
  const planned = report.services.filter((x) => x.outcome === 'would-restart');
  const status: ServicesReport['status'] = failing.length
    ? 'failing'
    : planned.length
      ? 'planned'
      : restarted.length
        ? 'repaired'
        : 'ok';
  const message =
    status === 'ok'
      ? o.service
        ? report.services[0]!.message
        : 'no failed services'
      : status === 'planned'
        ? `dry run: would restart ${planned.map((x) => x.name).join(', ')}`
        : status === 'repaired'
          ? `restarted ${restarted.map((x) => x.name).join(', ')}`
          : `still failing: ${failing.map((x) => x.name).join(', ')}${restarted.length ? `; restarted ${restarted.map((x) => x.name).join(', ')}` : ''}`;
  return { ...report, status, message };
}
