/**
 * The seed's service actions, through the services plugin's service managers: restart_service
 * and reload_service. parameters: { service, manager? (default: the first available manager
 * that knows the service), wait_seconds? (then the service must be running) }.
 */
import { defineContribution, type Json, type PluginContext } from 'cx-ops/sdk';
import { askServiceManager, serviceManagerKind } from '../../services/service-manager-contract.js';
import { healActionKind, type ActionOutput } from '../heal-kinds.js';
import { recordedBy } from './recorded.js';

/** The manager to act through, or why there is none. */
async function managerFor(
  ctx: PluginContext<unknown>,
  service: string,
  wanted: string | undefined,
): Promise<{ id: string } | { problem: string }> {
  const known = (await ctx.registry.list(serviceManagerKind)).map((m) => m.id).sort();
  if (wanted && !known.includes(wanted))
    return { problem: `no service manager '${wanted}' is registered (known: ${known.join(', ') || 'none'})` };
  const reasons: string[] = [];
  for (const id of wanted ? [wanted] : known) {
    const a = await askServiceManager(ctx, id, { op: 'detect' });
    if (!a.available) {
      reasons.push(`${id}: ${a.reason ?? 'not available'}`);
      continue;
    }
    if (wanted) return { id };
    const s = await askServiceManager(ctx, id, { op: 'status', name: service });
    if (s.state !== 'unknown') return { id };
    reasons.push(`${id}: does not know '${service}'`);
  }
  return {
    problem: wanted
      ? `the service manager '${wanted}' is not available here (${reasons.join('; ')})`
      : `no available service manager knows '${service}' (${reasons.join('; ') || 'none registered'})`,
  };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serviceAction(
  ctx: PluginContext<unknown>,
  op: 'restart' | 'reload_service',
  parameters: Record<string, Json>,
): Promise<ActionOutput> {
  const service = parameters.service;
  if (typeof service !== 'string' || !service) return { ok: false, detail: 'parameters.service must name a service' };
  const m = await managerFor(ctx, service, typeof parameters.manager === 'string' ? parameters.manager : undefined);
  if ('problem' in m) return { ok: false, detail: m.problem };
  const r = await askServiceManager(ctx, m.id, { op, name: service });
  const recorded = recordedBy(r);
  if (ctx.env.dryRun)
    return { ok: true, detail: `would ${op === 'restart' ? 'restart' : 'reload'} ${m.id}/${service}`, recorded };
  if (!r.ok) return { ok: false, detail: `${m.id}/${service}: ${r.detail}` };
  const seconds = Number(parameters.wait_seconds ?? 0);
  if (seconds > 0) {
    await wait(Math.min(seconds, 300) * 1000);
    const s = await askServiceManager(ctx, m.id, { op: 'status', name: service });
    if (s.state !== 'running')
      return { ok: false, detail: `${m.id}/${service} is ${s.state} ${seconds}s later: ${s.detail}` };
  }
  return { ok: true, detail: `${m.id}/${service}: ${r.detail}` };
}

export const restartService = defineContribution(
  healActionKind,
  'restart_service',
  {
    category: 'service',
    description: 'restarts parameters.service through its service manager (systemd, supervisord)',
  },
  async (ctx, { parameters }) => serviceAction(ctx, 'restart', parameters),
);

export const reloadService = defineContribution(
  healActionKind,
  'reload_service',
  { category: 'service', description: 'makes parameters.service re-read its configuration (systemctl reload, SIGHUP)' },
  async (ctx, { parameters }) => serviceAction(ctx, 'reload_service', parameters),
);
