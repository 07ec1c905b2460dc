/**
 * The --fix pass: for each result with a fix_id that did not pass, ask (unless -y, or the fix is
 * safe and doctor.auto_fix_safe is set), fire pre_fix (a tap can veto), apply the fix through
 * the registry, fire post_fix, run the check again and report fixed / not fixed. With --dry-run
 * nothing is asked or applied: the fix runs in dry-run mode and lists what it would do.
 */
import { fixKind, kernelHooks, type CheckResult, type ContributionInfo, type PluginContext } from 'cx-ops/sdk';
import type { FixReport } from './report-model.js';
import { runOneCheck } from './run-checks.js';

export interface FixOptions {
  dryRun: boolean;
  autoFixSafe: boolean;
  assumeYes: boolean;
  timeoutSeconds: number;
  /** Called as each fix finishes (the text report prints it at once). */
  onFix?: (f: FixReport) => void;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Applies fixes in order; returns the reports and the results with re-run checks swapped in. */
export async function applyFixes(
  ctx: PluginContext<unknown>,
  results: CheckResult[],
  checks: Map<string, ContributionInfo>,
  options: FixOptions,
): Promise<{ fixes: FixReport[]; results: CheckResult[] }> {
  const fixes = new Map((await ctx.registry.list(fixKind)).map((f) => [f.id, f]));
  const reports: FixReport[] = [];
  const after = [...results];
  const base = (r: CheckResult, fixId: string, safe: boolean) => ({
    check_id: r.check_id,
    fix_id: fixId,
    safe,
    actions: [] as string[],
    recorded_actions: [] as string[],
    verified: null,
    result_after: null,
  });
  for (const [i, r] of results.entries()) {
    if (!r.fix_id || r.status === 'PASS' || r.status === 'SKIP') continue;
    const fix = fixes.get(r.fix_id);
    const safe = fix?.meta.safe === true;
    const name = typeof fix?.meta.name === 'string' ? fix.meta.name : r.fix_id;
    let report: FixReport;
    if (!fix) {
      report = {
        ...base(r, r.fix_id, false),
        outcome: 'unavailable',
        message: `no plugin contributes fix '${r.fix_id}'; install or enable the plugin that provides it (see: ${ctx.env.command} plugins list --available)`,
      };
    } else if (options.dryRun) {
      report = await invokeFix(ctx, r, fix, true, options);
    } else {
      const unasked = options.assumeYes || (options.autoFixSafe && safe);
      // The question shows the fix's exact plan (its dry run: commands, packages, files) first.
      if (!unasked) ctx.io.err(planText(await invokeFix(ctx, r, fix, true, options), name));
      const yes =
        unasked || (await ctx.io.confirm(`Apply fix '${name}' (${r.fix_id}) for ${r.check_id}: ${r.message}?`));
      if (!yes) {
        report = {
          ...base(r, r.fix_id, safe),
          outcome: 'declined',
          message: ctx.io.interactive
            ? 'declined'
            : 'not applied: no terminal to ask; use -y (or doctor.auto_fix_safe for safe fixes)',
        };
      } else {
        const pre = await ctx.registry.callHook(kernelHooks.pre_fix, {
          fix_id: fix.id,
          check_id: r.check_id,
          name,
          safe,
          result: r,
        });
        for (const e of pre.errors) ctx.io.err(`warning: pre_fix tap of plugin '${e.plugin}' failed: ${e.message}\n`);
        if (!pre.proceed) {
          report = {
            ...base(r, r.fix_id, safe),
            outcome: 'vetoed',
            message: `vetoed by plugin '${pre.vetoedBy ?? 'unknown'}' (pre_fix)`,
            vetoed_by: pre.vetoedBy,
          };
        } else {
          report = await invokeFix(ctx, r, fix, false, options);
          const post = await ctx.registry.callHook(kernelHooks.post_fix, {
            fix_id: fix.id,
            check_id: r.check_id,
            outcome: report.outcome,
            message: report.message,
            actions: report.actions,
          });
          for (const e of post.errors)
            ctx.io.err(`warning: post_fix tap of plugin '${e.plugin}' failed: ${e.message}\n`);
          const check = checks.get(r.check_id);
          if (check && report.outcome === 'applied') {
            const again = await runOneCheck(ctx, check, options.timeoutSeconds);
            report.result_after = again;
            report.verified = again.status === 'PASS' ? 'fixed' : 'not fixed';
            after[i] = again;
          }
        }
      }
    }
    reports.push(report);
    options.onFix?.(report);
  }
  return { fixes: reports, results: after };
}

/** What a fix would do, from its dry run, printed before its question. */
export function planText(plan: FixReport, name: string): string {
  const lines = plan.actions.length ? plan.actions : plan.recorded_actions;
  if (plan.outcome === 'failed') return `Fix '${name}' (${plan.fix_id}) could not show its plan: ${plan.message}\n`;
  return `Fix '${name}' (${plan.fix_id}) would:\n${lines.length ? lines.map((a) => `  ${a}\n`).join('') : `  (nothing listed: ${plan.message})\n`}`;
}

async function invokeFix(
  ctx: PluginContext<unknown>,
  r: CheckResult,
  fix: ContributionInfo,
  dryRun: boolean,
  options: FixOptions,
): Promise<FixReport> {
  const safe = fix.meta.safe === true;
  const common = { check_id: r.check_id, fix_id: fix.id, safe, verified: null, result_after: null };
  try {
    const out = (await ctx.registry.invoke(
      'fix',
      fix.id,
      { result: r },
      { dryRun, timeoutMs: Math.max(300, options.timeoutSeconds * 10) * 1000 },
    )) as Record<string, unknown> | null;
    if (!out || typeof out !== 'object' || typeof out.ok !== 'boolean' || typeof out.message !== 'string') {
      return {
        ...common,
        outcome: 'failed',
        message: `plugin '${fix.plugin}' returned a malformed result for fix '${fix.id}': expected { ok: boolean, message: string, actions: string[] }`,
        actions: [],
        recorded_actions: [],
      };
    }
    const actions = strings(out.actions);
    const recorded = strings(out.dry_run_actions);
    if (dryRun) return { ...common, outcome: 'dry_run', message: out.message, actions, recorded_actions: recorded };
    return { ...common, outcome: out.ok ? 'applied' : 'failed', message: out.message, actions, recorded_actions: [] };
  } catch (e) {
    return {
      ...common,
      outcome: 'failed',
      message: e instanceof Error ? e.message : String(e),
      actions: [],
      recorded_actions: [],
    };
  }
}
