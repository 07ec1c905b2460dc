/**
 * The dependency graph of a manifest: topological waves (each service in the first wave after
 * all of its dependencies — the fewest waves possible), transitive dependencies, and cycles.
 * Linear in services + edges; the 10,000-service benchmark runs through here.
 */
import type { ServiceManifest, ServiceSpec } from './manifest-types.js';

/**
 * Services by index, each with the indexes of the services it depends on: those of service i
 * are depList[depStart[i] .. depStart[i + 1]) (one flat array, not an array per service).
 */
export interface ServiceGraph {
  names: string[];
  /** The services' specs, by index (what names[i] stands for in the manifest). */
  specs: ServiceSpec[];
  index: Map<string, number>;
  depStart: Int32Array;
  depList: Int32Array;
}

/** The dependencies of service i, as a copy (for code off the hot paths). */
export function depsOf(g: ServiceGraph, i: number): number[] {
  return Array.from(g.depList.subarray(g.depStart[i]!, g.depStart[i + 1]!));
}

// Validation and planning of one manifest share its graphs (the manifest is not changed after
// reading; a caller that changes one gets a new graph by passing a new object).
const graphs = new WeakMap<ServiceManifest, { all?: ServiceGraph; enabled?: ServiceGraph }>();

/** The graph of the enabled services (or all of them); edges to unknown services are left out. */
export function serviceGraph(manifest: ServiceManifest, options: { enabledOnly?: boolean } = {}): ServiceGraph {
  const key = options.enabledOnly ? 'enabled' : 'all';
  let cache = graphs.get(manifest);
  const cached = cache?.[key];
  if (cached) return cached;
  const services = manifest.services;
  const all = Object.keys(services);
  const names = options.enabledOnly ? all.filter((n) => services[n]!.enable) : all;
  const index = new Map<string, number>();
  const n = names.length;
  const specs: ServiceSpec[] = new Array<ServiceSpec>(n);
  let everyEnabled = true;
  let edges = 0;
  for (let i = 0; i < n; i++) {
    index.set(names[i]!, i);
    const spec = services[names[i]!]!;
    specs[i] = spec;
    if (!spec.enable) everyEnabled = false;
    const d = spec.depends_on;
    if (d) edges += Array.isArray(d) ? d.length : Object.keys(d).length;
  }
  const depStart = new Int32Array(n + 1);
  const depList = new Int32Array(edges);
  let k = 0;
  for (let i = 0; i < n; i++) {
    depStart[i] = k;
    const d = specs[i]!.depends_on;
    if (!d) continue;
    const targets = Array.isArray(d) ? d : Object.keys(d);
    for (let t = 0; t < targets.length; t++) {
      const j = index.get(targets[t]!);
      if (j !== undefined) depList[k++] = j;
    }
  }
  depStart[n] = k;
  const g = { names, specs, index, depStart, depList };
  if (!cache) graphs.set(manifest, (cache = {}));
  cache[key] = g;
  // Every service is enabled: the two graphs are one (and the services are listed once).
  if (names.length === all.length && everyEnabled) cache.all = cache.enabled = g;
  return g;
}

// The waves of a graph, computed once (validation finds "no cycle" with them; the plan shows them).
const waveCache = new WeakMap<ServiceGraph, number[][] | null>();

/**
 * Waves by longest dependency chain: wave 0 has no dependencies; a service is in the wave after
 * its latest dependency; within a wave, services keep manifest order. Returns null when there is
 * a cycle. Kahn's algorithm on a flat (CSR) reverse graph, then the services bucketed by wave in
 * one counting pass (no sort): linear in services + edges.
 */
export function waveIndexes(g: ServiceGraph): number[][] | null {
  const cached = waveCache.get(g);
  if (cached !== undefined) return cached;
  const n = g.names.length;
  const { depStart, depList } = g;
  const indegree = new Int32Array(n);
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    indegree[i] = depStart[i + 1]! - depStart[i]!;
    for (let k = depStart[i]!; k < depStart[i + 1]!; k++) start[depList[k]! + 1]!++;
  }
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const dependents = new Int32Array(start[n]!);
  for (let i = 0; i < n; i++) {
    for (let k = depStart[i]!; k < depStart[i + 1]!; k++) dependents[fill[depList[k]!]!++] = i;
  }
  // Kahn's queue: a service's wave is final when its last dependency leaves the queue.
  const wave = new Int32Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) if (indegree[i] === 0) queue[tail++] = i;
  let waves = 0;
  for (let head = 0; head < tail; head++) {
    const i = queue[head]!;
    const w = wave[i]! + 1;
    if (w > waves) waves = w;
    for (let k = start[i]!; k < start[i + 1]!; k++) {
      const j = dependents[k]!;
      if (wave[j]! < w) wave[j] = w;
      if (--indegree[j]! === 0) queue[tail++] = j;
    }
  }
  if (tail !== n) {
    waveCache.set(g, null);
    return null;
  }
  // Counting sort by wave, walking services in manifest order: each wave comes out in order.
  const sizes = new Int32Array(waves);
  for (let i = 0; i < n; i++) sizes[wave[i]!]!++;
  const result: number[][] = new Array<number[]>(waves);
  const at = new Int32Array(waves);
  for (let w = 0; w < waves; w++) result[w] = new Array<number>(sizes[w]!);
  for (let i = 0; i < n; i++) {
    const w = wave[i]!;
    result[w]![at[w]!++] = i;
  }
  waveCache.set(g, result);
  return result;
}

/**
 * Every cycle, one per strongly connected component (Tarjan, iterative): each starts and ends
 * at the component's first service in manifest order, and each step is a real depends_on edge.
 */
export function findCycles(g: ServiceGraph): string[][] {
  const n = g.names.length;
  const idx = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const comp = new Int32Array(n).fill(-1);
  const components: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (idx[root] !== -1) continue;
    const work: Array<[number, number]> = [[root, 0]];
    idx[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length) {
      const top = work[work.length - 1]!;
      const [v, k] = top;
      if (g.depStart[v]! + k < g.depStart[v + 1]!) {
        top[1]++;
        const w = g.depList[g.depStart[v]! + k]!;
        if (idx[w] === -1) {
          idx[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v]!, idx[w]!);
        continue;
      }
      work.pop();
      if (work.length) {
        const p = work[work.length - 1]![0];
        low[p] = Math.min(low[p]!, low[v]!);
      }
      if (low[v] === idx[v]) {
        const c: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp[w] = components.length;
          c.push(w);
        } while (w !== v);
        components.push(c);
      }
    }
  }
  const cycles: string[][] = [];
  for (let ci = 0; ci < components.length; ci++) {
    const c = components[ci]!;
    const start = Math.min(...c);
    if (c.length === 1 && !depsOf(g, start).includes(start)) continue;
    cycles.push(cycleThrough(g, start, comp, ci).map((i) => g.names[i]!));
  }
  return cycles.sort((a, b) => g.index.get(a[0]!)! - g.index.get(b[0]!)!);
}

/** The shortest depends_on path from `start` back to itself inside its component (BFS). */
function cycleThrough(g: ServiceGraph, start: number, comp: Int32Array, ci: number): number[] {
  const prev = new Map<number, number>();
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q]!;
    for (const w of depsOf(g, v)) {
      if (comp[w] !== ci) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x)!) path.push(x);
        path.push(start);
        return [path[0]!, ...path.slice(1, -1).reverse(), start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** The seed's getDeploymentOrder: enabled services in topological waves (null on a cycle). */
export function getDeploymentOrder(manifest: ServiceManifest): string[][] | null {
  const g = serviceGraph(manifest, { enabledOnly: true });
  return waveIndexes(g)?.map((w) => w.map((i) => g.names[i]!)) ?? null;
}

/**
 * The seed's getServiceDependencies: everything `service` needs, transitively, nearest first
 * by breadth (a service appears once, however many paths lead to it).
 */
export function getServiceDependencies(manifest: ServiceManifest, service: string): string[] {
  const g = serviceGraph(manifest);
  const start = g.index.get(service);
  if (start === undefined) return [];
  const seen = new Set<number>([start]);
  const out: number[] = [];
  for (let q = [start], i = 0; i < q.length; i++) {
    for (const d of depsOf(g, q[i]!)) {
      if (seen.has(d)) continue;
      seen.add(d);
      out.push(d);
      q.push(d);
    }
  }
  return out.map((i) => g.names[i]!);
}

/** The services that depend on `service`, transitively (what must go down before it on rollback). */
export function getServiceDependents(manifest: ServiceManifest, service: string): string[] {
  const g = serviceGraph(manifest);
  const rev: number[][] = g.names.map(() => []);
  for (let i = 0; i < g.names.length; i++) for (const d of depsOf(g, i)) rev[d]!.push(i);
  const start = g.index.get(service);
  if (start === undefined) return [];
  const seen = new Set<number>([start]);
  const out: number[] = [];
  for (let q = [start], i = 0; i < q.length; i++) {
    for (const d of rev[q[i]!]!) {
      if (seen.has(d)) continue;
      seen.add(d);
      out.push(d);
      q.push(d);
    }
  }
  return out.map((i) => g.names[i]!);
}
