/**
 * Runs checks through the registry: at most `maxParallel` at once, dependencies first (a check
 * whose dependency FAILed or ERRORed is SKIPped), pre_check (veto) and post_check hooks around
 * each, a time limit per check. Whatever a check does — throw, hang, return garbage — becomes
 * a CheckResult naming its plugin; the run always goes on.
 */
import {
  checkResultFrom,
  kernelHooks,
  type CheckResult,
  type ContributionInfo,
  type Json,
  type PluginContext,
} from 'cx-ops/sdk';
import { invocationOf } from './check-sets.js';

export interface RunOptions {
  maxParallel: number;
  timeoutSeconds: number;
  /** Called when a check starts and ends (the live progress line). */
  onProgress?: (event: { done: number; total: number; running: string[] }) => void;
}

const depsOf = (c: ContributionInfo): string[] =>
  Array.isArray(c.meta.depends_on) ? c.meta.depends_on.filter((d): d is string => typeof d === 'string') : [];

/** Dependencies before dependents (stable otherwise); a cycle is broken where it is found. */
export function orderByDependencies(checks: ContributionInfo[]): ContributionInfo[] {
  const byId = new Map(checks.map((c) => [c.id, c]));
  const out: ContributionInfo[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (c: ContributionInfo) => {
    if (state.get(c.id)) return;
    state.set(c.id, 'visiting');
    for (const d of depsOf(c)) {
      const dep = byId.get(d);
      if (dep && !state.get(d)) visit(dep);
    }
    state.set(c.id, 'done');
    out.push(c);
  };
  checks.forEach(visit);
  return out;
}

/** A result built by the runner itself (skips, timeouts, throws). */
function own(
  c: ContributionInfo,
  status: CheckResult['status'],
  message: string,
  details: Record<string, unknown> = {},
  ms = 0,
): CheckResult {
  return {
    check_id: c.id,
    name: typeof c.meta.name === 'string' ? c.meta.name : c.id,
    status,
    message,
    details,
    fix_id: null,
    duration_ms: Math.round(ms * 100) / 100,
  };
}

/** Runs one check with hooks and its time limit. */
export async function runOneCheck(
  ctx: PluginContext<unknown>,
  c: ContributionInfo,
  timeoutSeconds: number,
): Promise<CheckResult> {
  const pre = await ctx.registry.callHook(kernelHooks.pre_check, {
    check_id: c.id,
    name: String(c.meta.name ?? c.id),
    category: typeof c.meta.category === 'string' ? c.meta.category : null,
    plugin: c.plugin,
  });
  reportHookErrors(ctx, 'pre_check', pre.errors);
  let result: CheckResult;
  if (!pre.proceed) {
    result = own(c, 'SKIP', `skipped: vetoed by plugin '${pre.vetoedBy ?? 'unknown'}' (pre_check)`, {
      vetoed_by: pre.vetoedBy ?? null,
    });
  } else {
    const start = performance.now();
    try {
      const how = invocationOf(c);
      const outcome = await ctx.registry.invoke(how.kind, how.id, how.input, {
        timeoutMs: Math.round(timeoutSeconds * 1000),
      });
      const unreal = notPerformed(outcome);
      if (unreal.length) {
        // Development mode (--dev) recorded these calls instead of running them: whatever the
        // check concluded from their empty answers is not a diagnosis.
        result = own(
          c,
          'SKIP',
          `not diagnosed: development mode recorded its call(s) instead of running them (${unreal.slice(0, 3).join('; ')}${unreal.length > 3 ? '; …' : ''})`,
          { plugin: c.plugin, recorded: unreal },
          performance.now() - start,
        );
      } else {
        result = checkResultFrom(c, outcome, performance.now() - start);
        result = plainData(c, result);
      }
    } catch (e) {
      const ms = performance.now() - start;
      const code = (e as { code?: string }).code;
      if (code === 'CX_ERR_CALL_TIMEOUT') {
        result = own(
          c,
          'ERROR',
          `timed out after ${timeoutSeconds}s (plugin '${c.plugin}')`,
          { plugin: c.plugin, timeout_seconds: timeoutSeconds },
          ms,
        );
      } else if (code === 'CX_ERR_SANDBOX_TIMEOUT') {
        // The plugin's own sandbox limit (limits.call_timeout_ms) was shorter than doctor's.
        const limit = Number((e as { params?: { ms?: number } }).params?.ms) / 1000 || timeoutSeconds;
        result = own(
          c,
          'ERROR',
          `timed out after ${limit}s (the sandbox limit of plugin '${c.plugin}'; raise limits.call_timeout_ms in its plugin.yaml)`,
          { plugin: c.plugin, timeout_seconds: limit },
          ms,
        );
      } else {
        const msg = e instanceof Error ? e.message : String(e);
        result = own(
          c,
          'ERROR',
          msg.includes(`'${c.plugin}'`) ? msg : `plugin '${c.plugin}' failed in check '${c.id}': ${msg}`,
          { plugin: c.plugin, ...(code ? { code } : {}) },
          ms,
        );
      }
    }
  }
  const post = await ctx.registry.callHook(kernelHooks.post_check, result);
  reportHookErrors(ctx, 'post_check', post.errors);
  return result;
}

/** The recorded program runs and HTTP requests a check's answer relied on (empty outside dry runs). */
function notPerformed(outcome: Json): string[] {
  const actions =
    outcome && typeof outcome === 'object' && !Array.isArray(outcome)
      ? (outcome as Record<string, unknown>).dry_run_actions
      : undefined;
  return Array.isArray(actions)
    ? actions.filter((a): a is string => typeof a === 'string' && /^(exec|http): /.test(a))
    : [];
}

/** A trusted check can return values that are not plain data (BigInt, cycles): that is a malformed result too. */
function plainData(c: ContributionInfo, r: CheckResult): CheckResult {
  try {
    return {
      ...r,
      details: JSON.parse(JSON.stringify(r.details)) as Record<string, unknown>,
      fix_id: typeof r.fix_id === 'string' ? r.fix_id : null,
    };
  } catch (e) {
    return own(
      c,
      'ERROR',
      `plugin '${c.plugin}' returned details for check '${c.id}' that are not plain JSON data: ${e instanceof Error ? e.message : String(e)}`,
      { plugin: c.plugin },
      r.duration_ms,
    );
  }
}

function reportHookErrors(
  ctx: PluginContext<unknown>,
  hook: string,
  errors: Array<{ plugin: string; message: string }>,
): void {
  for (const e of errors) ctx.io.err(`warning: ${hook} tap of plugin '${e.plugin}' failed: ${e.message}\n`);
}

/** Runs the checks; results come back in the order the checks were given. */
export async function runChecks(
  ctx: PluginContext<unknown>,
  checks: ContributionInfo[],
  options: RunOptions,
): Promise<CheckResult[]> {
  const selected = new Set(checks.map((c) => c.id));
  const ordered = orderByDependencies(checks);
  const pending = new Map<string, Promise<CheckResult>>();
  const resolvers = new Map<string, (r: CheckResult) => void>();
  for (const c of ordered) pending.set(c.id, new Promise((res) => resolvers.set(c.id, res)));
  const running = new Set<string>();
  let done = 0;
  const progress = () => options.onProgress?.({ done, total: checks.length, running: [...running] });

  const position = new Map(ordered.map((c, i) => [c.id, i]));
  const runWithDeps = async (c: ContributionInfo): Promise<CheckResult> => {
    // Only dependencies ordered before the check count: that is where a cycle is broken.
    const deps = depsOf(c).filter((d) => selected.has(d) && position.get(d)! < position.get(c.id)!);
    for (const d of deps) {
      const dr = await pending.get(d)!;
      if (dr.status === 'FAIL' || dr.status === 'ERROR') {
        // It did not run, so no pre_check; post_check still sees every result.
        const skipped = own(c, 'SKIP', `skipped: ${d} failed`, { depends_on: deps, failed_dependency: d });
        const post = await ctx.registry.callHook(kernelHooks.post_check, skipped);
        reportHookErrors(ctx, 'post_check', post.errors);
        return skipped;
      }
    }
    return runOneCheck(ctx, c, options.timeoutSeconds);
  };

  let next = 0;
  const worker = async () => {
    while (next < ordered.length) {
      const c = ordered[next++]!;
      running.add(c.id);
      progress();
      const r = await runWithDeps(c);
      running.delete(c.id);
      done++;
      resolvers.get(c.id)!(r);
      progress();
    }
  };
  const n = Math.max(1, Math.min(options.maxParallel, ordered.length));
  await Promise.all(Array.from({ length: n }, worker));
  return Promise.all(checks.map((c) => pending.get(c.id)!));
}
