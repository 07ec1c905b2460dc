/**
 * The registry of what plugins contribute, keyed by kind and id. The kernel knows the kinds
 * `command`, `check` and `fix`; a plugin can declare further kinds for others to fill.
 * A duplicate id of one kind is an error naming both plugins.
 */
import type { ContributionInfo, Json, Tier } from '../sdk/types.js';
import { CxError, closest } from './errors.js';

export interface KindEntry {
  kind: string;
  description: string;
  /** The plugin that declared it; undefined for kernel kinds. */
  owner?: string;
  metaSchema?: Record<string, Json>;
}

export interface InvokeRequest {
  dryRun: boolean;
  timeoutMs?: number;
}

export interface RegisteredContribution extends ContributionInfo {
  /** Runs the contribution (trusted or sandboxed: the kernel built this closure). */
  invoke(input: Json, request: InvokeRequest): Promise<Json>;
}

export const KERNEL_KINDS: readonly KindEntry[] = Object.freeze([
  { kind: 'command', description: 'A command mounted on the cx-ops command line' },
  { kind: 'check', description: 'A health check run by doctor' },
  { kind: 'fix', description: 'A fix offered for a failing check' },
]);

export class Registry {
  private readonly kinds = new Map<string, KindEntry>(KERNEL_KINDS.map((k) => [k.kind, k]));
  private readonly byKind = new Map<string, Map<string, RegisteredContribution>>();

  declareKind(entry: KindEntry): void {
    const existing = this.kinds.get(entry.kind);
    if (existing) {
      throw new CxError('CX_ERR_DECLARATION_DUPLICATE', { plugin: entry.owner, what: 'contribution kind', name: entry.kind, owner: existing.owner });
    }
    this.kinds.set(entry.kind, entry);
  }

  kindNames(): string[] {
    return [...this.kinds.keys()];
  }

  hasKind(kind: string): boolean {
    return this.kinds.has(kind);
  }

  /** Adds a contribution; throws CX_ERR_CONTRIBUTION_DUPLICATE or CX_ERR_KIND_UNKNOWN. */
  add(c: RegisteredContribution): void {
    if (!this.kinds.has(c.kind)) {
      throw new CxError('CX_ERR_KIND_UNKNOWN', { plugin: c.plugin, kind: c.kind, known: this.kindNames() });
    }
    let m = this.byKind.get(c.kind);
    if (!m) this.byKind.set(c.kind, (m = new Map()));
    const prev = m.get(c.id);
    if (prev) {
      throw new CxError('CX_ERR_CONTRIBUTION_DUPLICATE', { kind: c.kind, id: c.id, first: prev.plugin, second: c.plugin, plugin: c.plugin });
    }
    m.set(c.id, c);
  }

  /** Removes everything a plugin contributed (on disable or failure). */
  removePlugin(plugin: string): void {
    for (const m of this.byKind.values()) for (const [id, c] of m) if (c.plugin === plugin) m.delete(id);
  }

  get(kind: string, id: string): RegisteredContribution | undefined {
    return this.byKind.get(kind)?.get(id);
  }

  /** Like get, but an unknown id is an error with the nearest ids. */
  require(kind: string, id: string): RegisteredContribution {
    const c = this.get(kind, id);
    if (!c) throw new CxError('CX_ERR_CONTRIBUTION_UNKNOWN', { kind, id, suggestions: closest(id, this.ids(kind)) });
    return c;
  }

  ids(kind: string): string[] {
    return [...(this.byKind.get(kind)?.keys() ?? [])];
  }

  /** Plain data of every contribution of a kind, in registration order. */
  list(kind: string): ContributionInfo[] {
    return [...(this.byKind.get(kind)?.values() ?? [])].map(({ kind: k, id, plugin, tier, meta }) => ({ kind: k, id, plugin, tier: tier as Tier, meta }));
  }
}
