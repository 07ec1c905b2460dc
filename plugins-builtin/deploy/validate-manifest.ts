/**
 * The seed's validateServiceManifest: every problem of a schema-valid manifest at once, with the
 * seed's messages ("Error: Circular dependency detected: service-a", "Error: Missing service
 * dependencies: service-b", "Error: Duplicate IP addresses: …", "Error: Duplicate hostnames:
 * …") and the checks deployment needs beyond them: an IP outside network_cidr, two services on
 * one IP:port, an invalid hostname, an enabled service needing a disabled one, an unknown
 * driver or health-check form.
 */
import { findCycles, serviceGraph } from './deployment-order.js';
import { HEALTH_CHECK_FORMS, healthSpecOf, parseHealthCheck } from './health-check-form.js';
import type { ServiceManifest } from './manifest-types.js';
import { sortProblems, type ManifestProblem, type ManifestSource } from './read-manifest.js';

export interface ValidateOptions {
  /** Driver ids that exist (default: the built-in ones). */
  drivers?: readonly string[];
}

export const BUILTIN_DRIVERS = ['command', 'supervisord', 'systemd'] as const;

/** Settings each built-in driver needs. */
const DRIVER_NEEDS: Record<string, string[]> = { supervisord: ['command'], systemd: ['command'], command: ['start'] };

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function ipNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** Whether `ip` is inside `cidr` (e.g. 192.168.1.0/24). */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const b = Number(bits);
  const size = 2 ** (32 - b);
  return Math.floor(ipNumber(ip) / size) === Math.floor(ipNumber(net!) / size);
}

const list = (xs: readonly string[]) => xs.join(', ');

/**
 * Every problem of the manifest, in file order (empty: valid). Given a plain manifest object
 * instead of a read source, problems carry line 0 (there is no file to point into).
 */
export function validateServiceManifest(input: ManifestSource | ServiceManifest, options: ValidateOptions = {}): ManifestProblem[] {
  const source: ManifestSource = 'position' in input ? input : { file: '(manifest)', manifest: input, position: () => ({ line: 0, column: 0 }) };
  const m: ServiceManifest = source.manifest;
  const problems: ManifestProblem[] = [];
  const at = (path: Array<string | number>, message: string, detail?: string) =>
    problems.push({ file: source.file, ...source.position(path), field: path.join('.'), message, ...(detail ? { detail } : {}) });
  const names = Object.keys(m.services);
  const drivers = options.drivers ?? BUILTIN_DRIVERS;

  // Dependencies: missing, disabled, cycles.
  const missing = new Map<string, Array<{ by: string; path: Array<string | number> }>>();
  const disabled = new Map<string, string[]>();
  for (const name of names) {
    const s = m.services[name]!;
    if (!s.depends_on) continue;
    const list = Array.isArray(s.depends_on);
    const targets = list ? (s.depends_on as string[]) : Object.keys(s.depends_on);
    for (let i = 0; i < targets.length; i++) {
      const dep = targets[i]!;
      const target = m.services[dep];
      if (target && (!s.enable || target.enable)) continue;
      const path = ['services', name, 'depends_on', list ? i : dep];
      if (!target) missing.set(dep, [...(missing.get(dep) ?? []), { by: name, path }]);
      else {
        if (!disabled.has(dep)) at(path, `Error: Enabled service depends on a disabled service: ${dep}`, `needed by ${name}. Enable ${dep}, or disable ${name}, or remove ${dep} from its depends_on.`);
        disabled.set(dep, [...(disabled.get(dep) ?? []), name]);
      }
    }
  }
  for (const [svc, uses] of missing) {
    at(uses[0]!.path, `Error: Missing service dependencies: ${svc}`, `needed by ${list(uses.map((u) => u.by))}. Define services.${svc}, or remove it from depends_on.`);
  }
  for (const cycle of findCycles(serviceGraph(m))) {
    at(['services', cycle[0]!, 'depends_on'], `Error: Circular dependency detected: ${cycle[0]}`, `${cycle.join(' -> ')}\nRemove one of these depends_on entries.`);
  }

  // Addresses and names.
  const byValue = (get: (name: string) => string): Array<[string, string[]]> => {
    const first = new Map<string, string>();
    const dups = new Map<string, string[]>();
    for (const n of names) {
      const v = get(n);
      const f = first.get(v);
      if (f === undefined) first.set(v, n);
      else dups.set(v, [...(dups.get(v) ?? [f]), n]);
    }
    return [...dups];
  };
  for (const [ip, ns] of byValue((n) => m.services[n]!.ip)) at(['services', ns[1]!, 'ip'], `Error: Duplicate IP addresses: ${ip}`, `used by ${list(ns)}; give each service its own IP.`);
  for (const [h, ns] of byValue((n) => m.services[n]!.hostname.toLowerCase())) at(['services', ns[1]!, 'hostname'], `Error: Duplicate hostnames: ${h}`, `used by ${list(ns)}; give each service its own hostname.`);
  const cidr = m.network?.network_cidr;
  for (const n of names) {
    const s = m.services[n]!;
    if (!HOSTNAME.test(s.hostname)) at(['services', n, 'hostname'], `Error: Invalid hostname: ${s.hostname}`, 'A hostname is dot-separated labels of letters, digits and inner hyphens (RFC 1123), each at most 63 characters.');
    if (cidr && !inCidr(s.ip, cidr)) at(['services', n, 'ip'], `Error: IP address outside network_cidr ${cidr}: ${s.ip}`, `services.${n}.ip must be inside network.network_cidr.`);
  }
  // First claimant of each ip:port/proto; a second one makes it a conflict (kept in order).
  const ports = new Map<string, string>();
  const clashes = new Map<string, { names: string[]; path: Array<string | number> }>();
  for (const n of names) {
    const ps = m.services[n]!.ports;
    if (!ps) continue;
    ps.forEach((p, i) => {
      const text = String(p);
      const slash = text.indexOf('/');
      const num = Number(slash < 0 ? text : text.slice(0, slash));
      const key = `${m.services[n]!.ip}:${num}/${slash < 0 ? 'tcp' : text.slice(slash + 1)}`;
      if (num < 1 || num > 65535) at(['services', n, 'ports', i], `Error: Invalid port: ${p}`, 'A port is 1-65535, optionally with /tcp or /udp.');
      const owner = ports.get(key);
      if (owner === undefined) ports.set(key, n);
      else if (owner !== n) {
        const c = clashes.get(key) ?? { names: [owner], path: ['services', n, 'ports', i] };
        if (!c.names.includes(n)) c.names.push(n);
        clashes.set(key, c);
      }
    });
  }
  for (const [key, e] of clashes) at(e.path, `Error: Duplicate ports: ${key}`, `claimed by ${list(e.names)}; two services cannot listen on one IP and port.`);

  // Drivers and health checks.
  for (const n of names) {
    const s = m.services[n]!;
    if (s.driver) {
      if (!drivers.includes(s.driver.type)) at(['services', n, 'driver', 'type'], `Error: Unknown driver: ${s.driver.type}`, `known drivers: ${list([...drivers].sort())}.`);
      for (const need of DRIVER_NEEDS[s.driver.type] ?? []) {
        if (!(s.driver as unknown as Record<string, unknown>)[need]) at(['services', n, 'driver'], `Error: Driver ${s.driver.type} needs driver.${need}: ${n}`, `Set services.${n}.driver.${need}.`);
      }
    }
    const h = healthSpecOf(s);
    if (h) {
      const f = parseHealthCheck(h, s.ip);
      if (typeof f === 'string') at(['services', n, 'health_check'], `Error: Unknown health check form: ${h.test}`, `${f}; known forms: ${list(HEALTH_CHECK_FORMS)}.`);
    }
  }
  return sortProblems(problems);
}
