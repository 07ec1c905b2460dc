/**
 * compose's depends_on conditions in a rollout: each service passes milestones — `started` (its
 * driver deployed it) and `passed` (its gate: healthy, or for a run-once service that a
 * dependent needs `service_completed_successfully` of, exited 0) — and a dependent waits for the
 * milestone its condition names before it is deployed.
 */
import type { DependencyCondition, ServiceManifest } from './manifest-types.js';
import { dependenciesOf } from './manifest-types.js';

type Milestone = 'started' | 'passed';

/** A promise with its settle function. */
class Flag {
  private settle!: (ok: boolean) => void;
  readonly done: Promise<boolean> = new Promise((r) => (this.settle = r));
  private settled = false;
  set(ok: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(ok);
  }
}

/** The milestone a condition waits for. */
export function milestoneOf(condition: DependencyCondition): Milestone {
  return condition === 'service_started' ? 'started' : 'passed';
}

/** Every service's milestones in one rollout. */
export class Milestones {
  private readonly flags = new Map<string, Record<Milestone, Flag>>();

  constructor(names: Iterable<string>) {
    for (const n of names) this.flags.set(n, { started: new Flag(), passed: new Flag() });
  }

  /** Marks a milestone (a service outside the run, or already done, passes both at once). */
  mark(service: string, milestone: Milestone, ok: boolean): void {
    const f = this.flags.get(service);
    if (!f) return;
    f[milestone].set(ok);
    // Never started: never passes. Passed: was started.
    if (milestone === 'started' && !ok) f.passed.set(false);
    if (milestone === 'passed' && ok) f.started.set(true);
  }

  /** Settles whatever of a service is still open (it failed, or was not started). */
  fail(service: string): void {
    this.mark(service, 'started', false);
    this.mark(service, 'passed', false);
  }

  /**
   * Waits for every dependency's condition; null when all are met, else the first one that
   * will not be, as a sentence. Dependencies outside the run count as met.
   */
  async waitFor(manifest: ManifestServices, service: string): Promise<string | null> {
    const deps = dependenciesOf(manifest.services[service]!);
    const results = await Promise.all(
      deps.map(async (d) => ({ d, ok: (await this.flags.get(d.service)?.[milestoneOf(d.condition)].done) ?? true })),
    );
    const bad = results.find((r) => !r.ok);
    if (!bad) return null;
    const what = {
      service_started: 'was not started',
      service_healthy: 'did not become healthy',
      service_completed_successfully: 'did not complete successfully',
    }[bad.d.condition];
    return `${bad.d.service} ${what} (${service} needs it ${bad.d.condition})`;
  }
}

type ManifestServices = Pick<ServiceManifest, 'services'>;

/** The services some dependent needs `service_completed_successfully` of: their gate is completion. */
export function runOnceServices(manifest: ServiceManifest, names: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const n of names)
    for (const d of dependenciesOf(manifest.services[n]!))
      if (d.condition === 'service_completed_successfully') out.add(d.service);
  return out;
}

/** At most `limit` holders at once, first come first served. */
export class Slots {
  private free: number;
  private readonly queue: Array<() => void> = [];
  constructor(limit: number) {
    this.free = Math.max(1, limit);
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.queue.push(r));
  }
  give(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free++;
  }
}
