/**
 * dns_resolution: every configured resolver (default: the nameservers of /etc/resolv.conf)
 * answers for every name (default: the host names of the package sources), all at once with
 * a short timeout.
 */
import { defineCheck, readIfExists, type PluginContext } from 'cx-ops/sdk';
import type { NetworkConfig } from './config.js';
import { gradeProbes, type Probe } from './connectivity.js';
import { isIpLiteral, parseResolvConf, sourceHosts } from './host-config.js';
import { packageSourceUris } from './host-sources.js';

export const dnsCheck = defineCheck({
  id: 'dns_resolution',
  name: 'DNS Resolution',
  description: "The host's resolvers answer for the names it needs (its package sources, or configured names)",
  category: 'network',
  severity: 'high',
  async run(ctx: PluginContext<NetworkConfig>) {
    const cfg = ctx.config.dns_resolution;
    const names = cfg.names.length
      ? cfg.names
      : [
          ...new Set(
            sourceHosts(await packageSourceUris(ctx))
              .map((h) => h.host)
              .filter((h) => !isIpLiteral(h)),
          ),
        ];
    if (!names.length)
      return {
        status: 'SKIP',
        message: 'no names to resolve: the host has no network package sources; set checks.dns_resolution.names',
      };
    let servers: Array<string | undefined> = cfg.servers;
    let source = 'config';
    if (!servers.length) {
      const resolv = await readIfExists(ctx.fs, '/etc/resolv.conf');
      if (resolv === null)
        return { status: 'FAIL', message: 'no /etc/resolv.conf: the host has no resolver configured' };
      servers = parseResolvConf(resolv);
      source = '/etc/resolv.conf';
      if (!servers.length) return { status: 'FAIL', message: 'no nameserver line in /etc/resolv.conf' };
    }
    const queries = servers.flatMap((server) => names.map((name) => ({ server, name })));
    const probes: Array<Probe & { addresses?: string[] }> = await Promise.all(
      queries.map(async ({ server, name }) => {
        const label = `${name}@${server ?? 'system'}`;
        try {
          const r = await ctx.net.resolve(name, { server, timeoutMs: cfg.timeout_ms });
          return {
            target: label,
            ok: r.ok && r.addresses.length > 0,
            ms: Math.round(r.ms),
            addresses: r.addresses,
            ...(r.error ? { error: r.error } : {}),
          };
        } catch (e) {
          return { target: label, ok: false, ms: 0, error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    const g = gradeProbes(probes, probes.length === 1 ? 'lookup answered' : 'lookups answered');
    const message =
      g.status === 'PASS'
        ? `${names.length} name(s) resolved by ${servers.length} resolver(s)`
        : g.status === 'FAIL'
          ? `no lookup answered: ${probes
              .slice(0, 4)
              .map((p) => `${p.target} (${p.error ?? 'no address'})`)
              .join(', ')}`
          : g.message.replace('lookups answered unreachable', 'lookups failed');
    return {
      status: g.status,
      message,
      details: { servers: servers.map((s) => s ?? 'system'), source, names, queries: probes },
    };
  },
});
