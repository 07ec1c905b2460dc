/**
 * The `health-check` contribution kind: one "is this service healthy" for deploy, the daemon
 * and self-healing. Each of the seed's forms is a contribution with the form's id (systemd,
 * http, tcp, command); another plugin may add forms. A probe answers Consul's three states.
 */
import { defineContribution, type Contribution, type Json, type PluginContext } from 'cx-ops/sdk';
import { parseHealthCheck, type HealthCheckForm } from './health-check-form.js';
import type { HealthCheckSpec } from './manifest-types.js';
import { askServiceManager } from '../services/service-manager-contract.js';

export const HEALTH_CHECK_KIND = 'health-check';

/** Consul's check states: passing, warning, critical. */
export type HealthState = 'healthy' | 'degraded' | 'unhealthy';

export type HealthProbe = {
  state: HealthState;
  /** What the probe saw (status code, exit code and output, connect error). */
  detail: string;
  ms: number;
};

/** What a health-check contribution receives: its form's parameters and a timeout. */
export type HealthProbeRequest = HealthCheckForm & { timeout_ms: number };

/** Declares a health-check form: `probe` answers one probe within `timeout_ms`. */
export function defineHealthCheck(def: {
  id: string;
  description: string;
  probe(ctx: PluginContext<unknown>, request: HealthProbeRequest): Promise<Omit<HealthProbe, 'ms'>>;
}): Contribution<HealthProbeRequest, Json> {
  return defineContribution<HealthProbeRequest, Json>(
    HEALTH_CHECK_KIND,
    def.id,
    { description: def.description },
    async (ctx, req) => {
      const t = Date.now();
      const r = await def.probe(ctx, req);
      return { ...r, ms: Date.now() - t };
    },
  );
}

/** Output kept from a command check (Consul caps it at 4 KiB too). */
const OUTPUT_CAP = 4096;

export const commandHealthCheck = defineHealthCheck({
  id: 'command',
  description:
    'Any command, run by sh: exit 0 healthy, 1 degraded, anything else unhealthy (Consul); output capped at 4 KiB',
  async probe(ctx, req) {
    if (req.form !== 'command') throw new Error(`health-check 'command' got a ${req.form} request`);
    const r = await ctx.exec.run('sh', ['-c', req.command], {
      timeoutMs: req.timeout_ms,
      readOnly: true,
      maxOutputBytes: OUTPUT_CAP,
    });
    const out = `${r.stdout}${r.stderr}`.trim().slice(0, OUTPUT_CAP);
    if (r.timedOut)
      return { state: 'unhealthy', detail: `timed out after ${req.timeout_ms} ms${out ? `: ${out}` : ''}` };
    const state: HealthState = r.exitCode === 0 ? 'healthy' : r.exitCode === 1 ? 'degraded' : 'unhealthy';
    return { state, detail: `exit ${r.exitCode ?? r.signal}${out ? `: ${out}` : ''}` };
  },
});

export const httpHealthCheck = defineHealthCheck({
  id: 'http',
  description: 'An HTTP(S) GET: 2xx/3xx is healthy, optionally only when the body contains expect_body',
  async probe(ctx, req) {
    if (req.form !== 'http') throw new Error(`health-check 'http' got a ${req.form} request`);
    let r;
    try {
      r = await ctx.net.http({ url: req.url, method: 'GET', timeoutMs: req.timeout_ms });
    } catch (e) {
      return { state: 'unhealthy', detail: `GET ${req.url}: ${(e as Error).message}` };
    }
    if (r.status < 200 || r.status >= 400) return { state: 'unhealthy', detail: `GET ${req.url}: HTTP ${r.status}` };
    if (req.expectBody !== undefined && !r.body.includes(req.expectBody))
      return {
        state: 'unhealthy',
        detail: `GET ${req.url}: HTTP ${r.status}, but the body does not contain ${JSON.stringify(req.expectBody)}`,
      };
    return { state: 'healthy', detail: `GET ${req.url}: HTTP ${r.status}` };
  },
});

export const tcpHealthCheck = defineHealthCheck({
  id: 'tcp',
  description: 'A TCP connect to HOST:PORT (tcp:PORT probes the service IP)',
  async probe(ctx, req) {
    if (req.form !== 'tcp') throw new Error(`health-check 'tcp' got a ${req.form} request`);
    const r = await ctx.net.tcpConnect(req.host, req.port, { timeoutMs: req.timeout_ms });
    return r.ok
      ? { state: 'healthy', detail: `connected to ${req.host}:${req.port}` }
      : { state: 'unhealthy', detail: `${req.host}:${req.port}: ${r.error ?? 'connect failed'}` };
  },
});

export const systemdHealthCheck = defineHealthCheck({
  id: 'systemd',
  description: "systemctl is-active --quiet NAME, asked through the services plugin's systemd service manager",
  async probe(ctx, req) {
    if (req.form !== 'systemd') throw new Error(`health-check 'systemd' got a ${req.form} request`);
    const a = await askServiceManager(ctx, 'systemd', { op: 'detect' });
    if (!a.available) return { state: 'unhealthy', detail: `cannot ask systemd: ${a.reason}` };
    const s = await askServiceManager(ctx, 'systemd', { op: 'status', name: req.unit });
    return { state: s.state === 'running' ? 'healthy' : 'unhealthy', detail: `${req.unit}: ${s.detail}` };
  },
});

/** Probes once through the registry: parses the form, invokes its contribution. */
export async function probeHealth(
  ctx: PluginContext<unknown>,
  spec: HealthCheckSpec,
  ip: string,
  timeoutMs: number,
): Promise<HealthProbe> {
  const form = parseHealthCheck(spec, ip);
  if (typeof form === 'string') return { state: 'unhealthy', detail: form, ms: 0 };
  try {
    // Probes only look; they run under a dry run too (a trusted readOnly exec, a connect).
    const request: HealthProbeRequest = { ...form, timeout_ms: timeoutMs };
    return (await ctx.registry.invoke(HEALTH_CHECK_KIND, form.form, request, {
      timeoutMs: timeoutMs + 5000,
    })) as HealthProbe;
  } catch (e) {
    return { state: 'unhealthy', detail: (e as Error).message, ms: 0 };
  }
}
