// The plan's order on generated graphs: on random DAGs every edge goes from an earlier wave to
// a later one and every service is in the earliest wave it can be (so the waves are minimal);
// on random graphs with cycles a cycle is always found and every printed cycle is real.
import { describe, expect, it } from 'vitest';
import { findCycles, getDeploymentOrder, serviceGraph } from '../../../plugins-builtin/deploy/deployment-order.js';
import { dependenciesOf, type ServiceManifest } from '../../../plugins-builtin/deploy/manifest-types.js';
import { randomManifest } from './random-graph.js';

function edges(m: ServiceManifest): Array<[string, string]> {
  return Object.entries(m.services).flatMap(([n, s]) => dependenciesOf(s).map((d): [string, string] => [n, d.service]));
}

describe('waves on random DAGs', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const n = 1 + ((seed * 7) % 80);
    const m = randomManifest(n, Math.floor(n * (seed % 5)), seed);
    it(`seed ${seed}: ${n} services, ${edges(m).length} edges`, () => {
      expect(findCycles(serviceGraph(m))).toEqual([]);
      const waves = getDeploymentOrder(m)!;
      const waveOf = new Map<string, number>();
      waves.forEach((w, i) => w.forEach((s) => waveOf.set(s, i)));
      expect([...waveOf.keys()].sort()).toEqual(Object.keys(m.services).sort());
      for (const [svc, dep] of edges(m)) expect(waveOf.get(dep)!).toBeLessThan(waveOf.get(svc)!);
      // Minimal: a service not in the first wave has a dependency in the wave right before it.
      for (const [svc, w] of waveOf) {
        const deps = dependenciesOf(m.services[svc]!).map((d) => waveOf.get(d.service)!);
        expect(w === 0 ? deps.length : Math.max(...deps)).toBe(w === 0 ? 0 : w - 1);
      }
    });
  }
});

describe('cycles on random graphs', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const n = 1 + ((seed * 13) % 60);
    const m = randomManifest(n, n * 2, 1000 + seed, 1 + (seed % 3));
    it(`seed ${seed}: ${n} services`, () => {
      const cycles = findCycles(serviceGraph(m));
      const hasCycle = getDeploymentOrder(m) === null;
      expect(hasCycle).toBe(true);
      expect(cycles.length).toBeGreaterThan(0);
      const edgeSet = new Set(edges(m).map(([a, b]) => `${a}>${b}`));
      for (const c of cycles) {
        expect(c[0]).toBe(c[c.length - 1]);
        expect(c.length).toBeGreaterThanOrEqual(2);
        for (let i = 0; i + 1 < c.length; i++) expect(edgeSet.has(`${c[i]}>${c[i + 1]}`)).toBe(true);
        // A simple cycle: no service twice except the ends.
        expect(new Set(c.slice(0, -1)).size).toBe(c.length - 1);
      }
      // One cycle per strongly connected component: no service is in two printed cycles.
      const all = cycles.flatMap((c) => c.slice(0, -1));
      expect(new Set(all).size).toBe(all.length);
    });
  }
});
