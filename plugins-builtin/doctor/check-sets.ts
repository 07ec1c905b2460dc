/**
 * Checks known only at run time: every `check-set` contribution (the declarative plugin reads
 * YAML files) lists its checks for this run, and they join the registered ones. A set that
 * cannot list them (a checks file that does not validate) is an ERROR result naming the file
 * and line: doctor could not look, so it is not green.
 */
import type { CheckResult, ContributionInfo, Json, PluginContext } from 'cx-ops/sdk';
import { askCheckSet, checkSetKind } from '../checks-declarative/check-set-kind.js';
import { UsageProblem } from './usage-problem.js';

/** The checks of every check set, and one ERROR result per set that could not list its own. */
export async function checkSetChecks(
  ctx: PluginContext<unknown>,
  files: string[],
): Promise<{ checks: ContributionInfo[]; errors: CheckResult[] }> {
  let sets: ContributionInfo[];
  try {
    sets = await ctx.registry.list(checkSetKind);
  } catch {
    sets = []; // nobody declares the kind: the declarative plugin is disabled
  }
  if (files.length && !sets.length) {
    throw new UsageProblem(
      'CX_ERR_USAGE',
      `--checks-file needs the checks-declarative plugin, which is not loaded. Enable it with: ${ctx.env.command} plugins enable checks-declarative`,
    );
  }
  const checks: ContributionInfo[] = [];
  const errors: CheckResult[] = [];
  for (const s of sets) {
    try {
      const defs = await askCheckSet(ctx, s.id, { op: 'list', files });
      for (const d of defs) {
        checks.push({
          kind: 'check-set',
          id: String(d.id),
          plugin: s.plugin,
          tier: s.tier,
          meta: { ...d, set: s.id, files },
        });
      }
    } catch (e) {
      // The kernel attributes a plugin's throw to it (CX_ERR_PLUGIN_THREW); the set's own code is its cause's.
      const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;
      errors.push({
        check_id: `check-set:${s.id}`,
        name: `Checks of ${String(s.meta.name ?? s.id)}`,
        status: 'ERROR',
        message: `the checks of set '${s.id}' (plugin '${s.plugin}') did not run: ${e instanceof Error ? e.message : String(e)}`,
        details: { plugin: s.plugin, ...(code ? { code } : {}) },
        fix_id: null,
        duration_ms: 0,
      });
    }
  }
  return { checks, errors };
}

/** How the runner calls a check: registered checks directly, a set's checks through their set. */
export function invocationOf(c: ContributionInfo): { kind: string; id: string; input: Json } {
  if (c.kind !== 'check-set') return { kind: 'check', id: c.id, input: {} };
  return { kind: 'check-set', id: String(c.meta.set), input: { op: 'run', id: c.id, files: c.meta.files ?? [] } };
}
