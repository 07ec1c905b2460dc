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

/**
 * The wire: one message per line on the child's fd 3 (a socket pair; Node's 'ipc' channel is
 * not used — its own framing, a JSON text around the JSON texts, and a tick per message cost
 * ~5 µs a round trip). A message is its JSON header, then, for the types that carry plugin or
 * kernel data, a tab and that data's JSON text verbatim: it is never encoded twice or escaped
 * again, and the receiver parses it once, where it is used. JSON.stringify never writes a raw
 * newline or tab, so neither occurs in a header; a payload that holds a newline (not JSON text
 * from JSON.stringify) goes inside the header instead, escaped, so a line is always one message.
 */
const PAYLOAD_FIELD: Readonly<Record<string, string>> = Object.freeze({
  call: 'input',
  hostreply: 'value',
  result: 'value',
  hostcall: 'args',
  loaded: 'shape',
});

/** One message as a line of the wire. */
export function encodeMessage(m: ToChild | FromChild): string {
  const field = PAYLOAD_FIELD[m.t];
  const o = m as unknown as Record<string, unknown>;
  const payload = field === undefined ? undefined : o[field];
  if (typeof payload !== 'string' || payload.indexOf('\n') !== -1) return `${JSON.stringify(m)}\n`;
  // Left out of the header (JSON.stringify skips undefined) and put back: the caller's object is unchanged.
  o[field!] = undefined;
  const line = `${JSON.stringify(m)}\t${payload}\n`;
  o[field!] = payload;
  return line;
}

/** A line of the wire (without its newline) as the message it holds. */
export function decodeMessage<T extends ToChild | FromChild>(line: string): T {
  const tab = line.indexOf('\t');
  if (tab === -1) return JSON.parse(line) as T;
  const m = JSON.parse(line.slice(0, tab)) as Record<string, unknown>;
  const field = PAYLOAD_FIELD[String(m.t)];
  if (field === undefined) throw new Error(`a '${String(m.t)}' message carries no data`);
  m[field] = line.slice(tab + 1);
  return m as unknown as T;
}

/** Splits the wire's text into lines; a line longer than `max` characters calls `overflow` and ends the reading. */
export class LineReader {
  private parts: string[] = [];
  private size = 0;
  private broken = false;

  constructor(
    private readonly max: number,
    private readonly onLine: (line: string) => void,
    private readonly overflow: () => void,
  ) {}

  push(chunk: string): void {
    let start = 0;
    while (!this.broken) {
      const nl = chunk.indexOf('\n', start);
      if (nl === -1) {
        if (start < chunk.length) this.keep(start === 0 ? chunk : chunk.slice(start));
        return;
      }
      let line = chunk.slice(start, nl);
      start = nl + 1;
      if (this.parts.length > 0) {
        this.parts.push(line);
        line = this.parts.join('');
        this.parts = [];
        this.size = 0;
      }
      if (line.length > this.max) return this.stop();
      this.onLine(line);
    }
  }

  private keep(part: string): void {
    this.size += part.length;
    if (this.size > this.max) return this.stop();
    this.parts.push(part);
  }

  private stop(): void {
    this.broken = true;
    this.parts = [];
    this.overflow();
  }
}
