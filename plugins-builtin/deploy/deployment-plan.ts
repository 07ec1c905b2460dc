/**
 * The seed's generateDeploymentPlan: the enabled services as phases (topological waves), each
 * service with the reason it is in its wave, and the plan drawn as text, JSON or a Graphviz
 * digraph.
 */
import { serviceGraph, waveIndexes } from './deployment-order.js';
import { healthSpecOf } from './health-check-form.js';
import { dependenciesOf, type DependencyCondition, type ServiceManifest } from './manifest-types.js';

export interface PlannedService {
  name: string;
  ip: string;
  hostname: string;
  driver: string | null;
  health_check: string | null;
  depends_on: Array<{ service: string; condition: DependencyCondition }>;
  /** Why it is in this wave: "no dependencies", or the dependencies in the wave before. */
  reason: string;
}

export interface DeploymentPlan {
  waves: Array<{ wave: number; services: PlannedService[] }>;
  /** Disabled services: not deployed. */
  disabled: string[];
}

/** The plan of the enabled services; throws on a cycle (validate first). Linear in services + edges. */
export function generateDeploymentPlan(manifest: ServiceManifest): DeploymentPlan {
  const g = serviceGraph(manifest, { enabledOnly: true });
  const waves = waveIndexes(g);
  if (!waves) throw new Error('the manifest has a dependency cycle; run deploy validate');
  const waveOf = new Int32Array(g.names.length);
  for (let i = 0; i < waves.length; i++) for (const s of waves[i]!) waveOf[s] = i;
  const planned: DeploymentPlan['waves'] = new Array(waves.length);
  for (let i = 0; i < waves.length; i++) {
    const w = waves[i]!;
    const services: PlannedService[] = new Array(w.length);
    for (let k = 0; k < w.length; k++) {
      const s = w[k]!;
      const name = g.names[s]!;
      const spec = manifest.services[name]!;
      const deps = dependenciesOf(spec);
      let reason = 'no dependencies';
      if (deps.length) {
        // The dependencies in the wave before are why it is in this wave; the others are older.
        let latest = '';
        let older = '';
        // The graph resolved these names already, in this order, leaving out unknown and disabled ones.
        const resolved = g.deps[s]!;
        let next = 0;
        for (const d of deps) {
          const r = resolved[next];
          const j = r !== undefined && g.names[r] === d.service ? (next++, r) : undefined;
          if (j !== undefined && waveOf[j] === i - 1) latest = latest ? `${latest}, ${d.service}` : d.service;
          else older = older ? `${older}, ${d.service}` : d.service;
        }
        reason = `after ${latest} (wave ${i})${older ? `; also needs ${older}` : ''}`;
      }
      services[k] = {
        name,
        ip: spec.ip,
        hostname: spec.hostname,
        driver: spec.driver?.type ?? null,
        health_check: healthSpecOf(spec)?.test ?? null,
        depends_on: deps,
        reason,
      };
    }
    planned[i] = { wave: i + 1, services };
  }
  const disabled: string[] = [];
  const all = serviceGraph(manifest).names;
  if (g.names.length !== all.length) for (const n of all) if (!manifest.services[n]!.enable) disabled.push(n);
  return { waves: planned, disabled };
}

/** The plan as lines: "Wave 1" then one line per service with its reason. */
export function formatPlanText(plan: DeploymentPlan): string {
  const out: string[] = [];
  for (const w of plan.waves) {
    out.push(`Wave ${w.wave} (${w.services.length} service${w.services.length === 1 ? '' : 's'}):`);
    for (const s of w.services)
      out.push(`  ${s.name}  ${s.ip}  ${s.hostname}${s.driver ? `  [${s.driver}]` : ''} - ${s.reason}`);
  }
  if (plan.disabled.length) out.push(`Disabled (not deployed): ${plan.disabled.join(', ')}`);
  return `${out.join('\n')}\n`;
}

const q = (s: string) => JSON.stringify(s);

/** The plan as a Graphviz digraph: one cluster per wave, an edge per dependency. */
export function formatPlanDot(plan: DeploymentPlan): string {
  const out = ['digraph deployment {', '  rankdir=LR;', '  node [shape=box];'];
  for (const w of plan.waves) {
    out.push(`  subgraph cluster_wave_${w.wave} {`, `    label=${q(`Wave ${w.wave}`)};`);
    for (const s of w.services) out.push(`    ${q(s.name)} [label=${q(`${s.name}\n${s.ip}`)}];`);
    out.push('  }');
  }
  for (const w of plan.waves) {
    for (const s of w.services)
      for (const d of s.depends_on)
        out.push(
          `  ${q(d.service)} -> ${q(s.name)}${d.condition === 'service_healthy' ? '' : ` [label=${q(d.condition)}]`};`,
        );
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
