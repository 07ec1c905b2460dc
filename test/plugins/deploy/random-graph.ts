/** Seeded random service graphs for the order tests and the benchmark's shape. */
import type { ServiceManifest } from '../../../plugins-builtin/deploy/manifest-types.js';
import { rng as prng } from '../../helpers/fuzz.js';

/** A manifest of `n` services with about `edges` dependencies; acyclic unless `cycles`. */
export function randomManifest(n: number, edges: number, seed: number, cycles = 0): ServiceManifest {
  const rnd = prng(seed);
  // A random topological order, so the DAG is not simply "lower index first".
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const deps: Array<Set<number>> = Array.from({ length: n }, () => new Set());
  for (let e = 0; e < edges && n > 1; e++) {
    const a = Math.floor(rnd() * n);
    const b = Math.floor(rnd() * n);
    if (a === b) continue;
    const [early, late] = a < b ? [a, b] : [b, a];
    deps[order[late]!]!.add(order[early]!);
  }
  for (let c = 0; c < cycles && n > 0; c++) {
    // A back edge from an early service to a later one that (transitively) needs it, or a self-loop.
    const a = Math.floor(rnd() * n);
    const b = Math.floor(rnd() * n);
    if (a === b) deps[order[a]!]!.add(order[a]!);
    else {
      const [early, late] = a < b ? [a, b] : [b, a];
      deps[order[late]!]!.add(order[early]!);
      deps[order[early]!]!.add(order[late]!);
    }
  }
  const name = (i: number) => `svc-${i}`;
  const services: ServiceManifest['services'] = {};
  for (let i = 0; i < n; i++) {
    services[name(i)] = {
      enable: true,
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      hostname: `svc-${i}.example.com`,
      depends_on: [...deps[i]!].map(name),
    };
  }
  return { network: { network_cidr: '10.0.0.0/8' }, services };
}
