/**
 * Messages between the kernel (parent) and the sandbox process (child). Plugin values travel
 * only as JSON text; the parent parses them after the child checked their size and depth.
 */
import type { SandboxLimits } from './limits.js';

/** What the sandbox process reports about a failure. */
export interface FailureInfo {
  /** plugin: the plugin's code threw; memory: the isolate hit its heap limit; timeout: a stretch of its code ran past
   * the call's time; limit: a value broke a cap; internal: anything else. */
  kind: 'plugin' | 'memory' | 'timeout' | 'limit' | 'internal' | 'not-loaded' | 'no-context';
  message: string;
  code?: string | null;
  /** A CxError's fix, as data (plugin errors only). */
  hint?: string | null;
  suggestions?: string[] | null;
}

export type ToChild =
  | { t: 'load'; id: number; name: string; code: string; filename: string; limits: SandboxLimits }
  /** `ctx` (the context's data as JSON text) comes with the first call of a context; later ones name it by `ctxKey`. */
  | { t: 'call'; id: number; name: string; target: string; input: string; ctxKey: number; ctx?: string }
  | { t: 'hostreply'; name: string; hid: number; ok: boolean; value: string }
  | { t: 'abort'; id: number; name: string }
  | { t: 'unload'; name: string };

export type FromChild =
  | { t: 'ready' }
  | { t: 'loaded'; id: number; ok: true; shape: string }
  | { t: 'loaded'; id: number; ok: false; error: FailureInfo }
  | { t: 'result'; id: number; ok: true; value: string }
  | { t: 'result'; id: number; ok: false; error: FailureInfo }
  | { t: 'hostcall'; id: number; hid: number; method: string; args: string }
  | { t: 'aborted'; id: number };

/**
 * Context texts a sandbox process keeps: worker.ts adds a text when a call brings one and drops
 * the oldest past this many, and the kernel's record of what the child holds does the same in the
 * same order, so a call sends its context's text only the first time.
 */
const KEPT_CONTEXTS = 16;

/** Adds `key` to an insertion-ordered set (or map) of at most KEPT_CONTEXTS keys, dropping the oldest. */
export function keepContext(kept: Set<number> | Map<number, string>, key: number, text = ''): void {
  if (kept instanceof Map) kept.set(key, text);
  else kept.add(key);
  if (kept.size > KEPT_CONTEXTS) kept.delete(kept.keys().next().value!);
}
