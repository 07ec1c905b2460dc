/**
 * The default resolver (the seed's SimpleResolver), asked after every other `heal-resolver`:
 * memory → clear_system_cache, disk → cleanup_disk, a service → restart_service. CPU and load
 * have no generic cure (the seed's set_cpu_governor has no safe Debian counterpart), nor has a
 * LOW issue (the seed's "monitor only"): they are reported, and a custom resolver may claim them.
 */
import { defineContribution, type ContributionInfo, type Json, type PluginContext } from 'cx-ops/sdk';
import { healErrors } from './errors.js';
import { healResolverKind } from './heal-kinds.js';
import type { ActionPlan, Issue } from './heal-types.js';

/** The default action for an issue, or null (monitor only). */
export function defaultPlan(issue: Issue): ActionPlan | null {
  if (issue.severity === 'LOW') return null;
  switch (issue.detector) {
    case 'memory':
      return { action: 'clear_system_cache', parameters: { level: 1 } };
    case 'disk':
      return { action: 'cleanup_disk', parameters: { mount: issue.component } };
    case 'service':
      return {
        action: 'restart_service',
        parameters: { service: issue.component, ...(issue.manager ? { manager: issue.manager } : {}) },
      };
    default:
      return null;
  }
}

export const defaultResolver = defineContribution(
  healResolverKind,
  'default',
  { priority: 1000, description: 'memory: clear_system_cache; disk: cleanup_disk; a service: restart_service' },
  async (_ctx, issue) => defaultPlan(issue),
);

/** What resolving one issue came to. */
export interface Resolution {
  plan: ActionPlan | null;
  /** `plugin/id` of the resolver that answered. */
  resolver: string;
  /** Resolvers that threw or answered garbage (each attributed to its plugin). */
  errors: Array<{ plugin: string; resolver: string; code: string; message: string }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** A resolver's answer checked: a plan, null (not mine), or why it is garbage. */
export function planOf(v: unknown, actions: ReadonlySet<string>): ActionPlan | null | string {
  if (v === null || v === undefined) return null;
  if (!isObject(v)) return `answered ${JSON.stringify(v)?.slice(0, 80)}, not { action, parameters } or null`;
  const { action, parameters } = v;
  if (action === null) return null;
  if (typeof action !== 'string') return `answered an action that is not a string: ${JSON.stringify(action)}`;
  if (!actions.has(action))
    return `answered the action '${action}', which no plugin contributes (heal-action: ${[...actions].sort().join(', ')})`;
  if (parameters !== undefined && !isObject(parameters)) return `answered parameters that are not an object`;
  return { action, parameters: (parameters ?? {}) as Record<string, Json> };
}

/** Resolvers in the order they are asked: by priority (default 500), then plugin and id. */
export function resolverOrder(list: readonly ContributionInfo[]): ContributionInfo[] {
  const p = (c: ContributionInfo) => (typeof c.meta.priority === 'number' ? c.meta.priority : 500);
  return [...list].sort((a, b) => p(a) - p(b) || a.plugin.localeCompare(b.plugin) || a.id.localeCompare(b.id));
}

/**
 * Asks the resolvers in order; the first plan (or null) wins; a failing one is reported and
 * skipped. Synchronous when the built-in default is the first to ask (no other resolver).
 */
export function resolveIssue(
  ctx: PluginContext<unknown>,
  issue: Issue,
  resolvers: readonly ContributionInfo[],
  actions: ReadonlySet<string>,
): Resolution | Promise<Resolution> {
  const first = resolvers[0];
  if (!first || (first.plugin === ctx.plugin && first.id === 'default'))
    return { plan: defaultPlan(issue), resolver: 'heal/default', errors: NO_ERRORS };
  return askResolvers(ctx, issue, resolvers, actions);
}

const NO_ERRORS: Resolution['errors'] = Object.freeze([]) as unknown as Resolution['errors'];

async function askResolvers(
  ctx: PluginContext<unknown>,
  issue: Issue,
  resolvers: readonly ContributionInfo[],
  actions: ReadonlySet<string>,
): Promise<Resolution> {
  const errors: Resolution['errors'] = [];
  for (const r of resolvers) {
    // The built-in default needs no round trip through the registry.
    if (r.plugin === ctx.plugin && r.id === 'default')
      return { plan: defaultPlan(issue), resolver: 'heal/default', errors };
    let answer: unknown;
    try {
      answer = await ctx.registry.invoke(healResolverKind, r.id, issue, { timeoutMs: 10_000 });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      errors.push({
        plugin: r.plugin,
        resolver: r.id,
        code: typeof code === 'string' ? code : 'CX_ERR_PLUGIN_THREW',
        message: e instanceof Error ? e.message : String(e),
      });
      continue;
    }
    const plan = planOf(answer, actions);
    if (typeof plan === 'string') {
      errors.push({
        plugin: r.plugin,
        resolver: r.id,
        code: 'CX_ERR_HEAL_RESOLVER_ANSWER',
        message: healErrors.CX_ERR_HEAL_RESOLVER_ANSWER({ plugin: r.plugin, resolver: r.id, detail: plan }).message,
      });
      continue;
    }
    if (plan) return { plan, resolver: `${r.plugin}/${r.id}`, errors };
  }
  return { plan: defaultPlan(issue), resolver: 'heal/default', errors };
}
