/**
 * Checks that should have run but could not: an enabled plugin failed to load (its config
 * section is invalid, it was refused for a name mismatch or changed files, its code threw).
 * A monitor must never go green because it could not look, so each becomes an ERROR result
 * (UNKNOWN in Nagios terms) naming the cause and the fix — one per check id when the last
 * successful load told the ids (the kernel's shape cache), else one per failed plugin.
 */
import type { CheckResult, ContributionInfo, Json, PluginContext, PluginListing } from 'cx-ops/sdk';
import type { CheckInfoSummary } from './report-model.js';

/** A check that is missing from the registry, with the ERROR result that stands for it. */
export interface UnavailableCheck {
  /** The check's id, or `plugin:<name>` when the failed plugin's checks are not known. */
  id: string;
  /** The check's id is known (from the last successful load). */
  known: boolean;
  plugin: string;
  tier: PluginListing['tier'];
  category: string | null;
  severity: string;
  result: CheckResult;
}

const text = (v: Json | undefined, fallback: string): string => (typeof v === 'string' ? v : fallback);

/** The failed plugins' checks; none when every enabled plugin loaded. */
export async function unavailableChecks(ctx: PluginContext<unknown>): Promise<UnavailableCheck[]> {
  const out: UnavailableCheck[] = [];
  for (const p of await ctx.plugins.list()) {
    if (!p.enabled || p.status !== 'failed') continue;
    const cause = p.error ?? { code: 'CX_ERR_PLUGIN_THREW', message: `plugin '${p.name}' failed to load` };
    const cached = p.last_contributes;
    if (cached) {
      for (const c of cached.filter((x) => x.kind === 'check')) out.push(forCheck(p, c, cause));
    } else {
      out.push(forPlugin(p, cause));
    }
  }
  return out;
}

function forCheck(
  p: PluginListing,
  c: { id: string; meta: Record<string, Json> },
  cause: { code: string; message: string },
): UnavailableCheck {
  return {
    id: c.id,
    known: true,
    plugin: p.name,
    tier: p.tier,
    category: text(c.meta.category, 'other'),
    severity: text(c.meta.severity, 'medium'),
    result: {
      check_id: c.id,
      name: text(c.meta.name, c.id),
      status: 'ERROR',
      message: `not run: plugin '${p.name}' failed to load: ${cause.message}`,
      details: { plugin: p.name, code: cause.code, cause: cause.message },
      fix_id: null,
      duration_ms: 0,
    },
  };
}

function forPlugin(p: PluginListing, cause: { code: string; message: string }): UnavailableCheck {
  const id = `plugin:${p.name}`;
  return {
    id,
    known: false,
    plugin: p.name,
    tier: p.tier,
    category: null,
    severity: 'high',
    result: {
      check_id: id,
      name: `Checks of plugin ${p.name}`,
      status: 'ERROR',
      message: `the checks of plugin '${p.name}' did not run: it failed to load: ${cause.message}`,
      details: { plugin: p.name, code: cause.code, cause: cause.message },
      fix_id: null,
      duration_ms: 0,
    },
  };
}

/** Registry rows for the report's `checks` map. */
export function infoOf(u: UnavailableCheck): CheckInfoSummary {
  return { category: u.category ?? 'other', severity: u.severity, plugin: u.plugin, tier: u.tier };
}

/** The unavailable checks a selection (--check, --category) takes: a plugin whose ids are unknown may hold any of them. */
export function selectUnavailable(
  missing: UnavailableCheck[],
  o: { check: string[]; category: string[] },
  registered: ContributionInfo[],
): UnavailableCheck[] {
  const registeredIds = new Set(registered.map((c) => c.id));
  return missing.filter((u) => {
    // Its checks are not known, so any category may hold one, and any id nobody else has.
    if (!u.known)
      return (
        !o.check.length || o.check.some((id) => !registeredIds.has(id) && !missing.some((m) => m.known && m.id === id))
      );
    return (
      (!o.check.length || o.check.includes(u.id)) && (!o.category.length || o.category.includes(u.category ?? 'other'))
    );
  });
}
