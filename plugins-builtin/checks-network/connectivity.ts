/**
 * network_connectivity: TCP connects (or HTTP requests for URL targets) to the configured
 * targets, all at once with a short timeout. Default targets are the hosts of the host's own
 * package sources; the default route (/proc/net/route) must exist. It does not depend on
 * dns_resolution as a whole: an IP target needs no DNS and is probed whatever DNS does; a
 * name target that does not resolve is reported as such (see dns_resolution).
 */
import { defineCheck, readIfExists, type CheckOutcome, type PluginContext } from 'cx-ops/sdk';
import type { NetworkConfig } from './config.js';
import { defaultGateway, sourceHosts } from './host-config.js';
import { packageSourceUris } from './host-sources.js';

export type Target =
  { kind: 'tcp'; host: string; port: number; label: string } | { kind: 'http'; url: string; label: string };

/** Parses a configured target: "host:port", "[v6]:port" or an http(s) URL. */
export function parseTarget(s: string): Target {
  if (/^https?:\/\//i.test(s)) return { kind: 'http', url: s, label: s };
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`config checks.network_connectivity.targets: '${s}' is not host:port or an http(s) URL`);
  return { kind: 'tcp', host: (m[1] ?? m[2])!, port: Number(m[3]), label: s };
}

export interface Probe {
  target: string;
  ok: boolean;
  ms: number;
  error?: string;
  status?: number;
  /** The target is a name that did not resolve: its failure is DNS's. */
  unresolved?: boolean;
}

/** IPv4 or IPv6 literal (no DNS needed). */
export function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || (host.includes(':') && /^[0-9a-f:.]+$/i.test(host));
}

/** The host a target connects to. */
export function targetHost(t: Target): string {
  if (t.kind === 'tcp') return t.host;
  return new URL(t.url).hostname.replace(/^\[|\]$/g, '');
}

/** Resolver failures as the socket and HTTP layers report them. */
const UNRESOLVED = /\b(ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NONAME|EAI_NODATA)\b/;

async function probe(ctx: PluginContext<unknown>, t: Target, timeoutMs: number): Promise<Probe> {
  const p = await probeOnce(ctx, t, timeoutMs);
  if (!p.ok && p.error && UNRESOLVED.test(p.error) && !isIpLiteral(targetHost(t)))
    return { ...p, unresolved: true, error: `name not resolved: ${p.error}; see dns_resolution` };
  return p;
}

async function probeOnce(ctx: PluginContext<unknown>, t: Target, timeoutMs: number): Promise<Probe> {
  const start = Date.now();
  try {
    if (t.kind === 'tcp') {
      const r = await ctx.net.tcpConnect(t.host, t.port, { timeoutMs });
      return { target: t.label, ok: r.ok, ms: Math.round(r.ms), ...(r.error ? { error: r.error } : {}) };
    }
    const r = await ctx.net.http({ url: t.url, method: 'HEAD', timeoutMs });
    return { target: t.label, ok: r.status > 0, ms: Date.now() - start, status: r.status };
  } catch (e) {
    return { target: t.label, ok: false, ms: Date.now() - start, error: e instanceof Error ? e.message : String(e) };
  }
}

/** PASS when every target answers, WARN when some do, FAIL when none does. */
export function gradeProbes(probes: Probe[], what: string): Pick<CheckOutcome, 'status' | 'message'> {
  const bad = probes.filter((p) => !p.ok);
  if (!bad.length) return { status: 'PASS', message: `${probes.length} ${what} reachable` };
  const list = bad
    .slice(0, 4)
    .map((p) => `${p.target}${p.error ? ` (${p.error})` : ''}`)
    .join(', ');
  if (bad.length === probes.length) return { status: 'FAIL', message: `no ${what} reachable: ${list}` };
  return { status: 'WARN', message: `${bad.length} of ${probes.length} ${what} unreachable: ${list}` };
}

export const connectivityCheck = defineCheck({
  id: 'network_connectivity',
  name: 'Network Connectivity',
  description: "Reaches the host's package sources (or the configured targets) over TCP",
  category: 'network',
  severity: 'high',
  async run(ctx: PluginContext<NetworkConfig>) {
    const cfg = ctx.config.network_connectivity;
    const routeText = await readIfExists(ctx.fs, '/proc/net/route');
    const gateway = routeText === null ? null : defaultGateway(routeText);
    const details: Record<string, unknown> = { gateway: gateway?.gateway ?? null, interface: gateway?.iface ?? null };
    if (cfg.require_default_route && routeText !== null && !gateway) {
      return { status: 'FAIL', message: 'no default route (nothing in /proc/net/route for 0.0.0.0)', details };
    }
    let targets: Target[];
    let source: string;
    if (cfg.targets.length) {
      try {
        targets = cfg.targets.map(parseTarget);
      } catch (e) {
        return { status: 'ERROR', message: (e as Error).message, fix_id: null };
      }
      source = 'config';
    } else {
      targets = sourceHosts(await packageSourceUris(ctx)).map((h) => ({
        kind: 'tcp' as const,
        host: h.host,
        port: h.port,
        label: `${h.host}:${h.port}`,
      }));
      source = 'package sources';
    }
    if (!targets.length) {
      return {
        status: 'SKIP',
        message: 'no targets: the host has no network package sources; set checks.network_connectivity.targets',
        details,
      };
    }
    const probes = await Promise.all(targets.map((t) => probe(ctx, t, cfg.timeout_ms)));
    const g = gradeProbes(probes, probes.length === 1 ? 'target' : 'targets');
    return { ...g, details: { ...details, source, probes: probes } };
  },
});
