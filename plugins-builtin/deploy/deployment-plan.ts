/**
 * The seed's generateDeploymentPlan: the enabled services as phases (topological waves), each
 * service with the reason it is in its wave, and the plan drawn as text, JSON or a Graphviz
 * digraph.
 */
import { serviceGraph, waveIndexes } from './deployment-order.js';
import { healthSpecOf } from './health-check-form.js';
import { dependenciesOf, type DependencyCondition, type ServiceManifest, type ServiceSpec } from './manifest-types.js';

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

/**
 * Walks the plan: each enabled service in wave order with its wave (0-based) and the reason it is
 * there; returns the disabled services. Throws on a cycle (validate first). Linear in services +
 * edges; what it hands out is all a caller keeps (the text form keeps nothing per service).
 */
function walkPlan(
  manifest: ServiceManifest,
  visit: (wave: number, waveSize: number, name: string, spec: ServiceSpec, reason: string) => void,
): string[] {
  const g = serviceGraph(manifest, { enabledOnly: true });
  const waves = waveIndexes(g);
  if (!waves) throw new Error('the manifest has a dependency cycle; run deploy validate');
  const waveOf = new Int32Array(g.names.length);
  for (let i = 0; i < waves.length; i++) for (const s of waves[i]!) waveOf[s] = i;
  const { depStart, depList } = g;
  for (let i = 0; i < waves.length; i++) {
    const w = waves[i]!;
    for (let k = 0; k < w.length; k++) {
      const s = w[k]!;
      const name = g.names[s]!;
      const spec = g.specs[s]!;
      let reason = 'no dependencies';
      const d = spec.depends_on;
      const targets = !d ? null : Array.isArray(d) ? d : Object.keys(d);
      if (targets?.length) {
        // The dependencies in the wave before are why it is in this wave; the others are older.
        let latest = '';
        let older = '';
        // The graph resolved these names already, in this order, leaving out unknown and disabled ones.
        let next = depStart[s]!;
        const last = depStart[s + 1]!;
        for (const t of targets) {
          const r = next < last ? depList[next]! : -1;
          const j = r >= 0 && g.names[r] === t ? (next++, r) : -1;
          if (j >= 0 && waveOf[j] === i - 1) latest = latest ? `${latest}, ${t}` : t;
          else older = older ? `${older}, ${t}` : t;
        }
        reason = `after ${latest} (wave ${i})${older ? `; also needs ${older}` : ''}`;
      }
      visit(i, w.length, name, spec, reason);
    }
  }
  const disabled: string[] = [];
  const all = serviceGraph(manifest).names;
  if (g.names.length !== all.length) for (const n of all) if (!manifest.services[n]!.enable) disabled.push(n);
  return disabled;
}

/** The plan of the enabled services; throws on a cycle (validate first). Linear in services + edges. */
export function generateDeploymentPlan(manifest: ServiceManifest): DeploymentPlan {
  const waves: DeploymentPlan['waves'] = [];
  const disabled = walkPlan(manifest, (wave, _size, name, spec, reason) => {
    if (!waves[wave]) waves[wave] = { wave: wave + 1, services: [] };
    waves[wave].services.push({
      name,
      ip: spec.ip,
      hostname: spec.hostname,
      driver: spec.driver?.type ?? null,
      health_check: healthSpecOf(spec)?.test ?? null,
      depends_on: dependenciesOf(spec),
      reason,
    });
  });
  return { waves, disabled };
}

const waveLine = (wave: number, size: number) => `Wave ${wave} (${size} service${size === 1 ? '' : 's'}):\n`;
const serviceLine = (name: string, ip: string, hostname: string, driver: string | null | undefined, reason: string) =>
  `  ${name}  ${ip}  ${hostname}${driver ? `  [${driver}]` : ''} - ${reason}\n`;
const disabledLine = (disabled: string[]) =>
  disabled.length ? `Disabled (not deployed): ${disabled.join(', ')}\n` : '';

/** The plan as lines: "Wave 1" then one line per service with its reason. */
export function formatPlanText(plan: DeploymentPlan): string {
  let out = '';
  for (const w of plan.waves) {
    out += waveLine(w.wave, w.services.length);
    for (const s of w.services) out += serviceLine(s.name, s.ip, s.hostname, s.driver, s.reason);
  }
  // An empty plan is one empty line.
  return out + disabledLine(plan.disabled) || '\n';
}

/**
 * formatPlanText(generateDeploymentPlan(manifest)) without the plan in between: each line is
 * written as its service is walked and nothing is kept per service but the text (what `deploy
 * plan` prints; on a 10,000-service manifest the plan objects were most of its memory and time).
 */
export function planText(manifest: ServiceManifest): string {
  const text = new TextChunks();
  let wave = -1;
  const disabled = walkPlan(manifest, (w, size, name, spec, reason) => {
    if (w !== wave) text.add(waveLine((wave = w) + 1, size));
    text.add(serviceLine(name, spec.ip, spec.hostname, spec.driver?.type, reason));
  });
  text.add(disabledLine(disabled));
  return text.done() || '\n';
}

/**
 * Text built in flat chunks of about 64 KiB: each line is copied into the chunk at once, so no
 * line (nor a rope of them) lives on until the end.
 */
class TextChunks {
  private readonly chunks: string[] = [];
  private current = '';
  add(s: string): void {
    this.current += s;
    if (this.current.length > 65536) {
      // Reading one character flattens the rope into one string.
      void this.current.charCodeAt(0);
      this.chunks.push(this.current);
      this.current = '';
    }
  }
  done(): string {
    this.chunks.push(this.current);
    return this.chunks.join('');
  }
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
