/**
 * Limits of a sandboxed plugin and the checks on text crossing the sandbox boundary. Values
 * leave the isolate only as JSON text; the size and nesting depth of that text are checked
 * by scanning it (no parsing, no recursion) before anything on the host materialises it.
 */

export interface SandboxLimits {
  /** Heap limit of the plugin's isolate in MB (default 64). */
  memoryMb: number;
  /** Wall-clock limit of one call (activate, a contribution, a tap) in ms (default 5000). */
  callTimeoutMs: number;
  /** Largest result, log line or host-call argument text in bytes (default 1 MiB; host calls such as writeFile allow 17 MiB). */
  maxOutputBytes: number;
  /** Deepest nesting of arrays/objects in a value crossing the boundary (default 64). */
  maxDepth: number;
}

export const DEFAULT_LIMITS: SandboxLimits = Object.freeze({
  memoryMb: 64,
  callTimeoutMs: 5000,
  maxOutputBytes: 1024 * 1024,
  maxDepth: 64,
});

/** Host-call arguments may carry file contents (writeFile allows 16 MiB). */
export const MAX_HOST_CALL_BYTES = 17 * 1024 * 1024;
/**
 * The OS memory cap of a plugin's sandbox process (RLIMIT_DATA: its writable private memory, the
 * measure closest to what it can make resident): Node and isolated-vm's own needs (~110 MB
 * measured, threads' stacks included), room for host-call texts in flight, and twice the
 * isolate's heap limit (V8 may overshoot it before it reacts).
 */
export function processMemoryCapMb(limits: SandboxLimits): number {
  return 224 + 2 * limits.memoryMb;
}

/** Fills in defaults and clamps limits to sane ranges. */
export function resolveLimits(...layers: Array<Partial<SandboxLimits> | undefined>): SandboxLimits {
  const l = Object.assign(
    {},
    DEFAULT_LIMITS,
    ...layers.map((x) => Object.fromEntries(Object.entries(x ?? {}).filter(([, v]) => v !== undefined))),
  ) as SandboxLimits;
  return {
    memoryMb: Math.min(Math.max(8, Math.floor(l.memoryMb)), 4096),
    callTimeoutMs: Math.min(Math.max(1, Math.floor(l.callTimeoutMs)), 3_600_000),
    maxOutputBytes: Math.min(Math.max(1024, Math.floor(l.maxOutputBytes)), 64 * 1024 * 1024),
    maxDepth: Math.min(Math.max(2, Math.floor(l.maxDepth)), 1000),
  };
}

/** Nesting depth of JSON text (0 for a scalar), found by a linear scan. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** Why JSON text may not cross the boundary, or null when it may. */
export function textProblem(text: unknown, what: string, maxBytes: number, maxDepth: number): string | null {
  if (typeof text !== 'string') return `${what} is not JSON text`;
  if (text.length > maxBytes) return `${what} is ${text.length} characters, over the limit of ${maxBytes}`;
  const d = jsonDepth(text);
  if (d > maxDepth) return `${what} is nested ${d} levels deep, over the limit of ${maxDepth}`;
  return null;
}
