/**
 * Running plugin code (either tier) for a contribution or a tap, and the one place a failure of
 * plugin code is attributed: dry runs and development mode are applied here, and any throw
 * becomes a CxError naming the plugin and the contribution or hook.
 */
import type { Json, PluginContext } from '../../sdk/types.js';
import type { DryRunRecorder } from '../capabilities/index.js';
import { CxError, isErrorCode, messageOf } from '../errors.js';
import { withTimeout } from '../hooks.js';
import type { InvokeRequest } from '../registry.js';
import { pluginTerminalText } from '../terminal-text.js';
import type { PluginRecord } from './plugin-record.js';

/** What a call runs: a contribution, or the plugin's tap number `index` on `hook`. */
export type CallTarget =
  { type: 'contribution'; kind: string; id: string } | { type: 'tap'; index: number; hook: string };

/** What invocation needs from the kernel. */
export interface InvocationHost {
  /** Development mode: every call is a dry run, and what it recorded is kept in `devRecorder`. */
  devMode: boolean;
  devRecorder: DryRunRecorder;
  context(p: PluginRecord, o?: { dryRun: boolean; recorder?: DryRunRecorder }): PluginContext;
  /** Loads and activates a plugin registered from the shape cache, on first use. */
  ensureReady(p: PluginRecord): Promise<void>;
}

/** Runs plugin code with attribution. `where` names the call in messages ("check 'disk'", "its 'x' tap"). */
export async function runPluginCode(
  host: InvocationHost,
  p: PluginRecord,
  target: CallTarget,
  input: Json,
  req: InvokeRequest,
  where: string,
): Promise<Json> {
  const dryRun = req.dryRun || host.devMode;
  // Each call records into its own list (in development mode also kept for the final report).
  const recorder: DryRunRecorder | undefined = dryRun ? { actions: [] } : undefined;
  // Errors the host raised to a sandboxed plugin during this call: only those may come back
  // out of it under their catalogue code (a plugin cannot forge a kernel error).
  const raised: CxError[] = [];
  const ctx = host.context(p, { dryRun, recorder });
  const work = async (): Promise<Json> => {
    await host.ensureReady(p);
    if (p.sandboxed)
      return p.sandboxed.call(
        target.type === 'tap' ? { type: 'tap', index: target.index } : target,
        input,
        ctx,
        raised,
      );
    const d = p.definition!;
    if (target.type === 'tap') return (await d.taps![target.index]!.run(ctx, input)) as Json;
    const c = d.contributes!.find((x) => x.kind === target.kind && x.id === target.id)!;
    return (await c.run(ctx, input)) as Json;
  };
  let out: Json;
  try {
    out = req.timeoutMs
      ? await withTimeout(
          work(),
          req.timeoutMs,
          () =>
            new CxError('CX_ERR_CALL_TIMEOUT', {
              plugin: p.name,
              where,
              ms: req.timeoutMs,
              contribution: target.type === 'contribution' ? target.id : undefined,
            }),
        )
      : await work();
  } catch (e) {
    throw attributed(e, p, target, where, raised);
  } finally {
    if (host.devMode && recorder) host.devRecorder.actions.push(...recorder.actions);
  }
  // The caller learns what was recorded instead of performed (in development mode only when
  // something was: a result built on calls that did not really run is not a real result).
  if (recorder && (!host.devMode || recorder.actions.length) && out && typeof out === 'object' && !Array.isArray(out)) {
    return { ...out, dry_run_actions: recorder.actions };
  }
  return out;
}

/**
 * What a throw out of plugin code becomes: a CxError keeps its code and exit code and gets the
 * plugin and contribution/hook stamped on it; a sandboxed plugin's error keeps its code when the
 * code is one of the plugin's own (defineErrors), or a kernel error the host raised to it in
 * this call (a plugin cannot forge a kernel error); anything else is CX_ERR_PLUGIN_THREW.
 */
export function attributed(e: unknown, p: PluginRecord, target: CallTarget, where: string, raised: CxError[]): CxError {
  const at = {
    plugin: p.name,
    contribution: target.type === 'contribution' ? target.id : undefined,
    hook: target.type === 'tap' ? target.hook : undefined,
  };
  if (e instanceof CxError) return e.attribute(at);
  const code = (e as { code?: unknown } | null)?.code;
  const message = messageOf(e);
  const own = p.shape?.errors?.find((x) => x.code === code);
  if (own) {
    const { hint, suggestions } = e as { hint?: string; suggestions?: string[] };
    return CxError.fromData({ code: own.code, message, exit: own.exit, hint, suggestions }, at);
  }
  // A sandboxed plugin's message arrives escaped and marked (core/terminal-text.ts).
  const host = raised.find(
    (r) => r.code === code && (r.message === message || pluginTerminalText(p.name, r.message) === message),
  );
  const genuine = p.tier === 'trusted' || host !== undefined;
  if (isErrorCode(code) && genuine) return CxError.withMessage(code, host?.message ?? message, at);
  return new CxError('CX_ERR_PLUGIN_THREW', { ...at, where, detail: message }, { cause: e });
}

/** A command that declares `dryRun: true` runs as a dry run when its input has `--dry-run`. */
export function wantsDryRun(c: { kind: string; meta: Record<string, unknown> }, input: Json): boolean {
  if (c.kind !== 'command' || c.meta.dry_run !== true) return false;
  const options =
    input && typeof input === 'object' && !Array.isArray(input)
      ? (input as { options?: Record<string, unknown> }).options
      : undefined;
  return options?.dryRun === true;
}
