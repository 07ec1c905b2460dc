/**
 * The seed's validateServiceManifest: every problem of a schema-valid manifest at once, with the
 * seed's messages ("Error: Circular dependency detected: service-a", "Error: Missing service
 * dependencies: service-b", "Error: Duplicate IP addresses: …", "Error: Duplicate hostnames:
 * …") and the checks deployment needs beyond them: an IP outside network_cidr, two services on
 * one IP:port, an invalid hostname, an enabled service needing a disabled one, a depends_on
 * condition its dependency cannot meet, an unknown driver or health-check form.
 */
import { findCycles, serviceGraph, waveIndexes } from './deployment-order.js';
import { HEALTH_CHECK_FORMS, healthSpecOf, parseHealthCheck } from './health-check-form.js';
import type { ServiceManifest, ServiceSpec } from './manifest-types.js';
import { sortProblems, type ManifestProblem, type ManifestSource } from './read-manifest.js';

export interface ValidateOptions {
  /** Driver ids that exist (default: the built-in ones). */
  drivers?: readonly string[];
}

export const BUILTIN_DRIVERS = ['command', 'supervisord', 'systemd'] as const;

/** Settings each built-in driver needs. */
const DRIVER_NEEDS: Record<string, string[]> = { supervisord: ['command'], systemd: ['command'], command: ['start'] };

// Non-capturing: nothing is kept of a match.
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** An IPv4 address as a number (the schema has checked its shape). */
function ipNumber(ip: string): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return n * 256 + octet;
}

/** The test "is this IP inside `cidr`" (e.g. 192.168.1.0/24), parsed once. */
function cidrTest(cidr: string): (ip: string) => boolean {
  const slash = cidr.indexOf('/');
  const size = 2 ** (32 - Number(cidr.slice(slash + 1)));
  const net = Math.floor(ipNumber(cidr.slice(0, slash)) / size);
  return (ip) => Math.floor(ipNumber(ip) / size) === net;
}

const list = (xs: readonly string[]) => xs.join(', ');

/** A case-insensitive 32-bit FNV-1a hash of a hostname: a number for numericClashes. */
function foldedHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Claims of one value by number (an IP, an ip:port/proto, a hostname's hash), grouped by their
 * exact text. The numbers are sorted natively first: a manifest without a clash (the usual case) never
 * builds a map; one with clashes groups only the claims whose numbers collide.
 */
function numericClashes(numbers: number[], text: (claim: number) => string): number[][] {
  const sorted = Float64Array.from(numbers).sort();
  let candidates: Set<number> | null = null;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) (candidates ??= new Set()).add(sorted[i]!);
  if (!candidates) return [];
  const groups = new Map<string, number[]>();
  for (let c = 0; c < numbers.length; c++) {
    if (!candidates.has(numbers[c]!)) continue;
    const key = text(c);
    const g = groups.get(key);
    if (g) g.push(c);
    else groups.set(key, [c]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

/**
 * Every problem of the manifest, in file order (empty: valid). Given a plain manifest object
 * instead of a read source, problems carry line 0 (there is no file to point into).
 *
 * One pass over the services, linear in services + dependencies (the plan benchmark runs
 * through here); problems of one position keep the order of the checks below.
 */
export function validateServiceManifest(
  input: ManifestSource | ServiceManifest,
  options: ValidateOptions = {},
): ManifestProblem[] {
  const source: ManifestSource =
    'position' in input ? input : { file: '(manifest)', manifest: input, position: () => ({ line: 0, column: 0 }) };
  const m: ServiceManifest = source.manifest;
  // One list per kind of check, joined in this order before the (stable) sort by position.
  const found = {
    disabled: [] as ManifestProblem[],
    missing: [] as ManifestProblem[],
    cycles: [] as ManifestProblem[],
    ips: [] as ManifestProblem[],
    hostnames: [] as ManifestProblem[],
    addresses: [] as ManifestProblem[],
    ports: [] as ManifestProblem[],
    drivers: [] as ManifestProblem[],
  };
  const at = (into: ManifestProblem[], path: Array<string | number>, message: string, detail?: string) =>
    into.push({
      file: source.file,
      ...source.position(path),
      field: path.join('.'),
      message,
      ...(detail ? { detail } : {}),
    });
  const g = serviceGraph(m);
  // The graph's names are Object.keys(services) and its specs their values, listed once (a
  // 10,000-key object lists slowly) and shared with the plan.
  const names = g.names;
  const specs = g.specs;
  const drivers = options.drivers ?? BUILTIN_DRIVERS;
  const inNetwork = m.network?.network_cidr ? cidrTest(m.network.network_cidr) : null;
  const cidr = m.network?.network_cidr;

  const missing = new Map<string, Array<{ by: string; path: Array<string | number> }>>();
  const disabledSeen = new Set<string>();
  const hostnameHashes: number[] = new Array(names.length);
  const ipNumbers: number[] = new Array(names.length);
  // Each port claim: its service, its index in that service's ports, and ip:port/proto as a number.
  const portService: number[] = [];
  const portIndex: number[] = [];
  const portNumbers: number[] = [];
  const portKey = (c: number) => {
    const p = String(specs[portService[c]!]!.ports![portIndex[c]!]);
    const slash = p.indexOf('/');
    return `${specs[portService[c]!]!.ip}:${Number(slash < 0 ? p : p.slice(0, slash))}/${slash < 0 ? 'tcp' : p.slice(slash + 1)}`;
  };
  // compose refuses a condition its dependency cannot meet; so does this, before anything starts.
  const conditionProblems = (name: string, dep: string, condition: string | undefined, target: ServiceSpec) => {
    const path = ['services', name, 'depends_on', dep, 'condition'];
    if (condition === 'service_healthy' && target.health_check === undefined) {
      at(
        found.disabled,
        path,
        `Error: Dependency condition service_healthy needs a health check: ${dep}`,
        `${name} waits for ${dep} to be healthy, but ${dep} has no health_check. Give services.${dep} a health_check, or use condition: service_started.`,
      );
    }
    if (
      condition === 'service_completed_successfully' &&
      target.driver &&
      target.driver.type !== 'command' &&
      (target.restart_policy ?? 'always') !== 'never'
    ) {
      at(
        found.disabled,
        path,
        `Error: Dependency condition service_completed_successfully needs restart_policy never: ${dep}`,
        `${name} waits for ${dep} to run to its end, but restart_policy ${target.restart_policy ?? 'always'}${target.restart_policy ? '' : ' (the default)'} restarts it. Set services.${dep}.restart_policy: never.`,
      );
    }
  };

  for (let si = 0; si < names.length; si++) {
    const name = names[si]!;
    const s = specs[si]!;

    // Dependencies: missing, disabled (cycles come from the graph, below).
    const d = s.depends_on;
    if (d) {
      const isList = Array.isArray(d);
      const targets = isList ? d : Object.keys(d);
      // The graph resolved these names already, in this order, leaving out unknown ones.
      let next = g.depStart[si]!;
      const last = g.depStart[si + 1]!;
      for (let i = 0; i < targets.length; i++) {
        const dep = targets[i]!;
        const r = next < last ? g.depList[next]! : -1;
        const j = r >= 0 && names[r] === dep ? (next++, r) : undefined;
        if (!isList && j !== undefined)
          conditionProblems(name, dep, (d as Record<string, { condition?: string }>)[dep]?.condition, specs[j]!);
        if (j !== undefined && (!s.enable || specs[j]!.enable)) continue;
        const path = ['services', name, 'depends_on', isList ? i : dep];
        if (j === undefined) {
          const uses = missing.get(dep);
          if (uses) uses.push({ by: name, path });
          else missing.set(dep, [{ by: name, path }]);
        } else if (!disabledSeen.has(dep)) {
          disabledSeen.add(dep);
          at(
            found.disabled,
            path,
            `Error: Enabled service depends on a disabled service: ${dep}`,
            `needed by ${name}. Enable ${dep}, or disable ${name}, or remove ${dep} from its depends_on.`,
          );
        }
      }
    }

    // Addresses and names.
    const ip = ipNumber(s.ip);
    ipNumbers[si] = ip;
    hostnameHashes[si] = foldedHash(s.hostname);
    if (!HOSTNAME.test(s.hostname))
      at(
        found.addresses,
        ['services', name, 'hostname'],
        `Error: Invalid hostname: ${s.hostname}`,
        'A hostname is dot-separated labels of letters, digits and inner hyphens (RFC 1123), each at most 63 characters.',
      );
    if (inNetwork && !inNetwork(s.ip))
      at(
        found.addresses,
        ['services', name, 'ip'],
        `Error: IP address outside network_cidr ${cidr}: ${s.ip}`,
        `services.${name}.ip must be inside network.network_cidr.`,
      );
    const ps = s.ports;
    if (ps) {
      for (let i = 0; i < ps.length; i++) {
        const p = ps[i]!;
        let num: number;
        let udp = 0;
        if (typeof p === 'number') num = p;
        else {
          const slash = p.indexOf('/');
          num = Number(slash < 0 ? p : p.slice(0, slash));
          if (slash >= 0) udp = p.slice(slash + 1) === 'udp' ? 1 : 2;
        }
        if (!(num >= 1 && num <= 65535))
          at(
            found.ports,
            ['services', name, 'ports', i],
            `Error: Invalid port: ${p}`,
            'A port is 1-65535, optionally with /tcp or /udp.',
          );
        portService.push(si);
        portIndex.push(i);
        // Below 2^53: exact. "/tcp" written out and left out are one key (udp 0 and 2 meet in portKey).
        portNumbers.push((ip * 65536 + (num & 65535)) * 2 + (udp & 1));
      }
    }

    // Drivers and health checks.
    if (s.driver) {
      if (!drivers.includes(s.driver.type))
        at(
          found.drivers,
          ['services', name, 'driver', 'type'],
          `Error: Unknown driver: ${s.driver.type}`,
          `known drivers: ${list([...drivers].sort())}.`,
        );
      for (const need of DRIVER_NEEDS[s.driver.type] ?? []) {
        if (!Reflect.get(s.driver, need))
          at(
            found.drivers,
            ['services', name, 'driver'],
            `Error: Driver ${s.driver.type} needs driver.${need}: ${name}`,
            `Set services.${name}.driver.${need}.`,
          );
      }
    }
    const h = healthSpecOf(s);
    if (h) {
      const f = parseHealthCheck(h, s.ip);
      if (typeof f === 'string')
        at(
          found.drivers,
          ['services', name, 'health_check'],
          `Error: Unknown health check form: ${h.test}`,
          `${f}; known forms: ${list(HEALTH_CHECK_FORMS)}.`,
        );
    }
  }

  for (const [svc, uses] of missing) {
    at(
      found.missing,
      uses[0]!.path,
      `Error: Missing service dependencies: ${svc}`,
      `needed by ${list(uses.map((u) => u.by))}. Define services.${svc}, or remove it from depends_on.`,
    );
  }
  // Kahn's waves find "no cycle" in one linear pass (and the plan reuses them); only a graph
  // with a cycle pays for the strongly connected components.
  if (!waveIndexes(g)) {
    for (const cycle of findCycles(g)) {
      at(
        found.cycles,
        ['services', cycle[0]!, 'depends_on'],
        `Error: Circular dependency detected: ${cycle[0]}`,
        `${cycle.join(' -> ')}\nRemove one of these depends_on entries.`,
      );
    }
  }
  for (const claims of numericClashes(ipNumbers, (c) => specs[c]!.ip)) {
    at(
      found.ips,
      ['services', names[claims[1]!]!, 'ip'],
      `Error: Duplicate IP addresses: ${specs[claims[0]!]!.ip}`,
      `used by ${list(claims.map((c) => names[c]!))}; give each service its own IP.`,
    );
  }
  for (const claims of numericClashes(hostnameHashes, (c) => specs[c]!.hostname.toLowerCase())) {
    at(
      found.hostnames,
      ['services', names[claims[1]!]!, 'hostname'],
      `Error: Duplicate hostnames: ${specs[claims[0]!]!.hostname.toLowerCase()}`,
      `used by ${list(claims.map((c) => names[c]!))}; give each service its own hostname.`,
    );
  }
  for (const claims of numericClashes(portNumbers, portKey)) {
    // One service listing a port twice is not a clash; its first other claimant is where it is shown.
    const owners = claims.filter((c, i) => i === 0 || portService[c] !== portService[claims[i - 1]!]);
    if (owners.length < 2) continue;
    at(
      found.ports,
      ['services', names[portService[owners[1]!]!]!, 'ports', portIndex[owners[1]!]!],
      `Error: Duplicate ports: ${portKey(claims[0]!)}`,
      `claimed by ${list(owners.map((c) => names[portService[c]!]!))}; two services cannot listen on one IP and port.`,
    );
  }

  return sortProblems([
    ...found.disabled,
    ...found.missing,
    ...found.cycles,
    ...found.ips,
    ...found.hostnames,
    ...found.addresses,
    ...found.ports,
    ...found.drivers,
  ]);
}
