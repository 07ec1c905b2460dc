/**
 * The registry of what plugins contribute, keyed by kind and id. The kernel knows the kinds
 * `command`, `check` and `fix`; a plugin can declare further kinds for others to fill.
 * A duplicate id of one kind is an error naming both plugins.
 */
import { createHash } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { COMMAND_ID_PATTERN, CONTRIBUTION_ID_PATTERN } from '../sdk/tokens.js';
import type { ContributionInfo, Json, Tier } from '../sdk/types.js';
import { CxError, closest } from './errors.js';
import { compileSchema, describeSchemaError } from './schema.js';

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
  /** The config.yaml field the id was chosen in, if the operator chose it (for the duplicate-id error). */
  configField?: string;
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
  private readonly metaValidators = new Map<string, ValidateFunction>();
  /** Metas an earlier run found valid against the same metaSchema (see `rememberValidMetas`). */
  private readonly knownValid = new Set<string>();
  /** Every meta this run found valid, as a hash of it and its kind's metaSchema (for the next run). */
  readonly validMetas = new Set<string>();

  /**
   * Metas found valid before (hashes from `validMetas` of an earlier run, kept in the cache
   * directory): a contribution whose meta and kind's metaSchema are both unchanged is not
   * validated again, so a process that registers cached shapes never loads ajv to compile a
   * metaSchema (a few MB a long-lived daemon would keep). A meta the validator changed (schema
   * defaults) is never remembered, so skipping the validation changes nothing.
   */
  rememberValidMetas(hashes: Iterable<string>): void {
    for (const h of hashes) this.knownValid.add(h);
  }

  declareKind(entry: KindEntry): void {
    const existing = this.kinds.get(entry.kind);
    if (existing) {
      throw new CxError('CX_ERR_DECLARATION_DUPLICATE', {
        plugin: entry.owner,
        what: 'contribution kind',
        name: entry.kind,
        owner: existing.owner,
      });
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
    this.check(c);
    let m = this.byKind.get(c.kind);
    if (!m) this.byKind.set(c.kind, (m = new Map()));
    const prev = m.get(c.id);
    if (prev) {
      throw new CxError('CX_ERR_CONTRIBUTION_DUPLICATE', {
        kind: c.kind,
        id: c.id,
        first: prev.plugin,
        second: c.plugin,
        plugin: c.plugin,
      });
    }
    m.set(c.id, c);
  }

  /** The id pattern and the kind's metaSchema, enforced: CX_ERR_META_INVALID naming what is wrong. */
  private check(c: RegisteredContribution): void {
    const command = c.kind === 'command';
    if (!(command ? COMMAND_ID_PATTERN : CONTRIBUTION_ID_PATTERN).test(c.id)) {
      throw new CxError('CX_ERR_META_INVALID', {
        plugin: c.plugin,
        kind: c.kind,
        id: c.id,
        detail: command
          ? 'has an id that is not kebab-case words separated by single spaces'
          : 'has an id that is not snake_case or kebab-case (lower-case letters and digits, _ or - between them)',
        fix: `Rename it in plugin '${c.plugin}', e.g. '${
          c.id
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, command ? '-' : '_')
            .replace(/^[^a-z]+|[_-]+$/g, '') || 'my_id'
        }'.`,
      });
    }
    const kind = this.kinds.get(c.kind)!;
    if (!kind.metaSchema) return;
    const before = JSON.stringify(c.meta);
    const key = createHash('sha256')
      .update(JSON.stringify(kind.metaSchema))
      .update('\0')
      .update(before)
      .digest('base64url');
    if (this.knownValid.has(key)) {
      this.validMetas.add(key);
      return;
    }
    let validate = this.metaValidators.get(c.kind);
    if (!validate) this.metaValidators.set(c.kind, (validate = compileSchema(kind.metaSchema)));
    const valid = validate(c.meta);
    if (valid && JSON.stringify(c.meta) === before) this.validMetas.add(key);
    if (!valid) {
      const p = describeSchemaError(validate.errors, c.meta);
      throw new CxError('CX_ERR_META_INVALID', {
        plugin: c.plugin,
        kind: c.kind,
        id: c.id,
        detail: `has meta field '${p.field}' that ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}`,
        fix: `Kind '${c.kind}' (declared by ${kind.owner ? `plugin '${kind.owner}'` : 'the kernel'}) requires its meta to match its metaSchema; fix the contribution in plugin '${c.plugin}'.`,
      });
    }
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
    return [...(this.byKind.get(kind)?.values() ?? [])].map(({ kind: k, id, plugin, tier, meta }) => ({
      kind: k,
      id,
      plugin,
      tier: tier as Tier,
      meta,
    }));
  }
}
