/**
 * cx-ops SDK: the one import for plugin authors.
 *
 *   import { definePlugin, defineCheck, pass, fail } from 'cx-ops/sdk';
 *
 * Built-in plugins use exactly this module; nothing under core/ is importable by plugins.
 * This file must stay free of Node APIs: it is bundled into sandboxed plugins.
 */
import { defineHook, defineKind, hookName, kindName, type HookToken, type KindToken } from './tokens.js';
import type {
  CheckDefinition,
  CheckOutcome,
  CommandDefinition,
  Contribution,
  FixDefinition,
  FixInput,
  FixOutcome,
  Json,
  KernelHookPayloads,
  PluginContext,
  PluginDefinition,
  TapDefinition,
  CheckResult,
  CommandInput,
} from './types.js';

export * from './types.js';
export {
  CxError,
  ERRORS,
  ERROR_CODE_PATTERN,
  defineErrors,
  errorSpecsOf,
  errorText,
  isCxError,
  isErrorCode,
  messageOf,
  renderMessage,
  type ErrorCatalogue,
  type ErrorCode,
  type ErrorData,
  type ErrorFix,
  type ErrorSpec,
  type ErrorSpecs,
} from './errors.js';
export * from './tokens.js';
export * from './journal.js';
export * from './closest.js';
export * from './read-if-exists.js';
export * from './check-preamble.js';
export * from './map-limit.js';
export * from './compare-code-units.js';
export * from './preferred-fix.js';
export * from './task.js';

/** Declares a plugin. Returns the definition unchanged (the loader validates it). */
export function definePlugin<Config = Record<string, unknown>>(
  def: PluginDefinition<Config>,
): PluginDefinition<Config> {
  return def;
}

/** The kernel's contribution kinds as tokens: `ctx.registry.invoke(fixKind, id, { result })` is typed. */
export const commandKind = defineKind<CommandInput, number>('command', {
  description: 'A command mounted on the cx-ops command line',
});
export const checkKind = defineKind<Record<string, never>, CheckOutcome>('check', {
  description: 'A health check run by doctor',
});
export const fixKind = defineKind<FixInput, FixOutcome>('fix', { description: 'A fix offered for a failing check' });

/** The kernel's hooks as tokens (their payloads from KernelHookPayloads). */
export const kernelHooks = Object.freeze({
  pre_check: defineHook<KernelHookPayloads['pre_check']>('pre_check', {
    type: 'bail',
    description: 'Before running a check (false vetoes)',
  }),
  post_check: defineHook<KernelHookPayloads['post_check']>('post_check', {
    type: 'series',
    description: 'After running a check',
  }),
  pre_fix: defineHook<KernelHookPayloads['pre_fix']>('pre_fix', {
    type: 'bail',
    description: 'Before applying a fix (false vetoes)',
  }),
  post_fix: defineHook<KernelHookPayloads['post_fix']>('post_fix', {
    type: 'series',
    description: 'After applying a fix',
  }),
});

/**
 * Declares a contribution of any kind. Given the kind's token (from the plugin that declares
 * it), the run function's input and answer are typed by it.
 */
export function defineContribution<Input, Output>(
  kind: KindToken<Input, Output>,
  id: string,
  meta: Record<string, Json>,
  run: (ctx: PluginContext<unknown>, input: Input) => Promise<Output>,
): Contribution<Input, Output>;
export function defineContribution<Input = Json, Output = Json>(
  kind: string,
  id: string,
  meta: Record<string, Json>,
  run: Contribution<Input, Output>['run'],
): Contribution<Input, Output>;
export function defineContribution(
  kind: string | KindToken<unknown, unknown>,
  id: string,
  meta: Record<string, Json>,
  run: Contribution['run'],
): Contribution {
  return { kind: kindName(kind), id, meta, run };
}

/** Declares a health check (contribution kind `check`). */
export function defineCheck<Config = unknown>(
  def: CheckDefinition<Config>,
): Contribution<Record<string, never>, CheckOutcome> {
  const meta: Record<string, Json> = {
    name: def.name,
    description: def.description,
    category: def.category,
    severity: def.severity,
    fix_id: def.fix_id ?? null,
    depends_on: def.depends_on ?? [],
  };
  // The kernel hands each contribution its own plugin's context, so its config is the plugin's.
  return { kind: 'check', id: def.id, meta, run: (ctx) => def.run(ctx as PluginContext<Config>) };
}

/** Declares a fix (contribution kind `fix`), offered to `doctor --fix` by a check's fix_id. */
export function defineFix<Config = unknown>(def: FixDefinition<Config>): Contribution<FixInput, FixOutcome> {
  return {
    kind: 'fix',
    id: def.id,
    meta: { name: def.name, description: def.description, safe: def.safe },
    run: (ctx, input) => def.run(ctx as PluginContext<Config>, input),
  };
}

/** Declares a command (contribution kind `command`) mounted on the cx-ops command line. */
export function defineCommand<Config = unknown>(def: CommandDefinition<Config>): Contribution<CommandInput, number> {
  return {
    kind: 'command',
    id: def.name,
    meta: {
      name: def.name,
      description: def.description,
      arguments: (def.arguments ?? []) as unknown as Json,
      options: (def.options ?? []) as unknown as Json,
      help: def.help ?? null,
      dry_run: def.dryRun ?? false,
      ...(def.statusExit ? { status_exit: true } : {}),
      ...(def.stopSignals ? { stop_signals: true } : {}),
    },
    run: (ctx, input) => def.run(ctx as PluginContext<Config>, input),
  };
}

/**
 * Declares a tap: on a kernel hook by name (the payload typed by KernelHookPayloads), or on a
 * hook another plugin declared, by its token (the payload typed by it) or by name (plain JSON).
 */
export function defineTap<K extends keyof KernelHookPayloads>(
  hook: K,
  run: (ctx: PluginContext<unknown>, payload: KernelHookPayloads[K]) => Promise<unknown>,
  options?: { priority?: number },
): TapDefinition;
export function defineTap<Payload>(
  hook: HookToken<Payload>,
  run: (ctx: PluginContext<unknown>, payload: Payload) => Promise<unknown>,
  options?: { priority?: number },
): TapDefinition;
export function defineTap(
  hook: string,
  run: (ctx: PluginContext<unknown>, payload: Json) => Promise<unknown>,
  options?: { priority?: number },
): TapDefinition;
export function defineTap(
  hook: string | HookToken<unknown>,
  run: (ctx: PluginContext<unknown>, payload: never) => Promise<unknown>,
  options: { priority?: number } = {},
): TapDefinition {
  // The kernel calls a tap with its hook's payload (the overloads above type it).
  return { hook: hookName(hook), run: run as TapDefinition['run'], priority: options.priority };
}

// ---------------------------------------------------------------------------
// Result helpers
// ---------------------------------------------------------------------------

export const pass = (message: string, details?: Record<string, unknown>): CheckOutcome => ({
  status: 'PASS',
  message,
  details,
});
export const warn = (message: string, details?: Record<string, unknown>): CheckOutcome => ({
  status: 'WARN',
  message,
  details,
});
export const fail = (message: string, details?: Record<string, unknown>): CheckOutcome => ({
  status: 'FAIL',
  message,
  details,
});
export const skip = (message: string, details?: Record<string, unknown>): CheckOutcome => ({
  status: 'SKIP',
  message,
  details,
});
export const error = (message: string, details?: Record<string, unknown>): CheckOutcome => ({
  status: 'ERROR',
  message,
  details,
});

/** Grades a value against warn/fail thresholds (higher is worse). */
export function grade(value: number, thresholds: { warn: number; fail: number }): 'PASS' | 'WARN' | 'FAIL' {
  if (value >= thresholds.fail) return 'FAIL';
  if (value >= thresholds.warn) return 'WARN';
  return 'PASS';
}

/** The worst status of several (ERROR > FAIL > WARN > PASS > SKIP). */
export function worstStatus(statuses: Iterable<CheckResult['status']>): CheckResult['status'] {
  const rank = { SKIP: 0, PASS: 1, WARN: 2, FAIL: 3, ERROR: 4 } as const;
  let worst: CheckResult['status'] = 'SKIP';
  for (const s of statuses) if (rank[s] > rank[worst]) worst = s;
  return worst;
}

/**
 * Turns whatever a check returned into a CheckResult. Anything malformed (third-party checks
 * can return garbage) becomes an ERROR naming the plugin.
 */
export function checkResultFrom(
  check: { id: string; plugin: string; meta: Record<string, Json> },
  outcome: unknown,
  durationMs: number,
): CheckResult {
  const name = typeof check.meta.name === 'string' ? check.meta.name : check.id;
  const declaredFix = typeof check.meta.fix_id === 'string' ? check.meta.fix_id : null;
  const base = { check_id: check.id, name, duration_ms: Math.round(durationMs * 100) / 100 };
  const o = outcome as Partial<CheckOutcome> | null;
  const statuses: readonly string[] = ['PASS', 'WARN', 'FAIL', 'SKIP', 'ERROR'];
  if (
    !o ||
    typeof o !== 'object' ||
    Array.isArray(o) ||
    !statuses.includes(o.status as string) ||
    typeof o.message !== 'string'
  ) {
    return {
      ...base,
      status: 'ERROR',
      message: `plugin '${check.plugin}' returned a malformed result for check '${check.id}': expected { status: PASS|WARN|FAIL|SKIP|ERROR, message: string }`,
      details: { plugin: check.plugin },
      fix_id: null,
    };
  }
  const details = o.details && typeof o.details === 'object' && !Array.isArray(o.details) ? o.details : {};
  const fix_id = o.fix_id !== undefined ? o.fix_id : o.status === 'PASS' || o.status === 'SKIP' ? null : declaredFix;
  return { ...base, status: o.status!, message: o.message!, details, fix_id: fix_id ?? null };
}
