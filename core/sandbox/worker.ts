/**
 * The sandbox process of ONE plugin: holds that plugin's isolated-vm isolate and talks to the
 * kernel over its wire (fd 3, protocol.ts). Each plugin has a process of its own (see host.ts), so a crash here — a V8
 * fatal out-of-memory, the OS memory cap — costs only this plugin's calls.
 *
 * Because the process serves one plugin, plugin code runs synchronously on this process's main
 * thread (no hop onto a worker thread per call), each stretch of it (a call's start, the
 * continuation after a ctx reply) in one synchronous isolated-vm call. The kernel keeps the
 * deadlines outside: it answers a late call itself and kills this process (see STRETCH_TIMEOUTS).
 *
 * Started by the kernel with `--no-node-snapshot --no-expose-wasm` under an OS memory cap
 * (RLIMIT_DATA) and a parent-death signal; exits when the wire closes.
 */
import { Socket } from 'node:net';
import ivm from 'isolated-vm';
import { BOOTSTRAP } from './bootstrap.js';
import { MAX_HOST_CALL_BYTES, textProblem, type SandboxLimits } from './limits.js';
import type { FailureInfo, FromChild, ToChild } from './protocol.js';
import { decodeMessage, encodeMessage, keepContext, LineReader } from './protocol.js';

/** Host calls one plugin may have waiting; more are refused inside the plugin. */
export const MAX_OUTSTANDING_HOST_CALLS = 1024;
/** Bytes of host-call arguments one plugin may have waiting (file contents); more are refused. */
export const MAX_OUTSTANDING_HOST_BYTES = 64 * 1024 * 1024;
/** Log lines and terminal writes one call may send; the rest are dropped (with one warning). */
export const MAX_FIRES_PER_CALL = 10_000;

/**
 * Runs in the isolate after the bootstrap and before plugin code: completion of a call is
 * reported through a synchronous callback (`__cx_done`), using `then` and `stringify` captured
 * before the plugin could replace them.
 */
const STARTER = String.raw`(function () {
const g = globalThis;
const dispatch = g.__cx_dispatch;
const done = g.__cx_done;
const then = Promise.prototype.then;
const stringify = JSON.stringify;
const S = String;
delete g.__cx_done;
g.__cx_start = function (id, target, input, ctxKey, ctx) {
  then.call(dispatch(id, target, input, ctxKey, ctx), function (text) { done(id, text); }, function (e) {
    done(id, 'E' + stringify({ message: 'the sandbox bootstrap failed: ' + S(e), code: null }));
  });
};
})();`;

interface Loaded {
  name: string;
  isolate: ivm.Isolate;
  start: ivm.Reference;
  reply: ivm.Reference;
  limits: SandboxLimits;
  /** Running calls -> their deadline (ms, performance.now()). */
  running: Map<number, number>;
  /** Host calls sent and not yet answered, with the bytes of their arguments. */
  outstanding: Map<number, number>;
  outstandingBytes: number;
  /** Log lines / terminal writes per call, to cap floods. */
  fires: Map<number, number>;
}

let cur: Loaded | null = null;
/** V8's code cache of the kernel's own isolate scripts (never plugin code): a reload compiles them from it. */
const codeCache = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();
/** Context texts by key, as the kernel sent them (it sends each once; see KEPT_CONTEXTS). */
const contexts = new Map<number, string>();

/** The wire to the kernel: fd 3, a socket pair (see protocol.ts). */
const wire = new Socket({ fd: 3, readable: true, writable: true });

function send(m: FromChild): void {
  if (wire.writable) wire.write(encodeMessage(m));
}

function dispose(): void {
  const p = cur;
  cur = null;
  if (p && !p.isolate.isDisposed) {
    try {
      p.isolate.dispose();
    } catch {
      // Already gone.
    }
  }
}

/** Classifies an error thrown by isolated-vm around a stretch of plugin code. */
function failure(e: unknown, isolate: ivm.Isolate): FailureInfo {
  const message = e instanceof Error ? e.message : String(e);
  if (/memory limit/i.test(message)) return { kind: 'memory', message };
  if (/timed out/i.test(message)) return { kind: 'timeout', message };
  if (isolate.isDisposed) return { kind: 'internal', message: `the isolate was stopped (${message})` };
  return { kind: 'internal', message };
}

/** Fails every running call of the plugin with `f` and drops its isolate. */
function failAll(p: Loaded, f: FailureInfo): void {
  for (const id of p.running.keys()) send({ t: 'result', id, ok: false, error: f });
  p.running.clear();
  if (cur === p) dispose();
}

/**
 * Whether each stretch of plugin code runs under isolated-vm's own timeout. With a parent-death
 * signal (setpriv) it does not: the kernel's deadline kills this whole process when a call's time
 * is up (it always came first: this timeout was the latest deadline + 50 ms), and the kernel's
 * death kills it too, so a timer per stretch (~2.5 µs, and a timer-thread entry that lives until
 * it would have fired) buys nothing. Without setpriv this process could outlive a dead kernel
 * while plugin code holds its thread (the wire's end would never be handled): then every
 * stretch keeps the timeout.
 */
const STRETCH_TIMEOUTS = process.argv.includes('--stretch-timeouts');

/** Options of a stretch: until the latest running call's deadline (kernel deadlines rule), or none (see STRETCH_TIMEOUTS). */
const UNTIMED = Object.freeze({});
function stretchOptions(p: Loaded): { timeout?: number } {
  if (!STRETCH_TIMEOUTS) return UNTIMED;
  let latest = 0;
  for (const d of p.running.values()) latest = Math.max(latest, d);
  return { timeout: Math.max(1, Math.ceil(latest - performance.now())) + 50 };
}

/** Runs a stretch of plugin code synchronously; a limit breach fails every running call. */
function stretch(p: Loaded, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    failAll(p, failure(e, p.isolate));
  }
}

function finished(p: Loaded, id: number, out: unknown): void {
  if (!p.running.delete(id)) return;
  p.fires.delete(id);
  if (typeof out !== 'string') {
    send({
      t: 'result',
      id,
      ok: false,
      error: { kind: 'internal', message: 'the sandbox bootstrap returned no text' },
    });
    return;
  }
  const body = out.slice(1);
  if (out[0] === 'R') {
    const problem = textProblem(body, 'the result', p.limits.maxOutputBytes, p.limits.maxDepth);
    if (problem) send({ t: 'result', id, ok: false, error: { kind: 'limit', message: problem } });
    else send({ t: 'result', id, ok: true, value: body });
    return;
  }
  const problem = textProblem(body, 'the error', 8 * 1024, 2);
  if (problem) {
    send({ t: 'result', id, ok: false, error: { kind: 'plugin', message: `the plugin threw, and ${problem}` } });
    return;
  }
  const info = JSON.parse(body) as {
    message: string;
    code: string | null;
    hint?: string | null;
    suggestions?: string[] | null;
  };
  const kind = info.code === 'CX_ERR_SANDBOX_LIMIT' ? 'limit' : 'plugin';
  send({
    t: 'result',
    id,
    ok: false,
    error: { kind, message: info.message, code: info.code, hint: info.hint, suggestions: info.suggestions },
  });
}

function load(m: Extract<ToChild, { t: 'load' }>): void {
  dispose();
  let isolate: ivm.Isolate;
  try {
    // No onCatastrophicError: it would need this thread, which a synchronous stretch of plugin
    // code holds. A V8 fatal out-of-memory aborts this process (V8's report goes to stderr);
    // the kernel fails this plugin's calls in flight and starts a new process on its next call.
    isolate = new ivm.Isolate({ memoryLimit: m.limits.memoryMb });
  } catch (e) {
    send({
      t: 'loaded',
      id: m.id,
      ok: false,
      error: {
        kind: 'internal',
        message: `could not create an isolate: ${e instanceof Error ? e.message : String(e)}`,
      },
    });
    return;
  }
  const timeout = m.limits.callTimeoutMs;
  try {
    const context = isolate.createContextSync();
    const global = context.global;
    global.setSync(
      '__cx_limits',
      JSON.stringify({
        maxOutputBytes: m.limits.maxOutputBytes,
        maxHostCallBytes: MAX_HOST_CALL_BYTES,
        maxDepth: m.limits.maxDepth,
        maxWaitingBytes: MAX_OUTSTANDING_HOST_BYTES,
      }),
    );
    // Synchronous callbacks: the plugin's code waits while its message is queued, so a plugin
    // that loops over ctx.log cannot outpace this process and pile up memory.
    global.setSync(
      '__cx_send',
      new ivm.Callback((callId: number, hid: number, method: string, args: string) =>
        hostCall(callId, hid, method, args),
      ),
    );
    global.setSync('__cx_done', new ivm.Callback((callId: number, text: string) => cur && finished(cur, callId, text)));
    for (const [src, filename] of [
      [BOOTSTRAP, 'cx-sandbox-bootstrap.js'],
      [STARTER, 'cx-sandbox-starter.js'],
    ] as const) {
      const cachedData = codeCache.get(filename);
      const script: ivm.Script & ivm.CachedDataResult & { cachedDataRejected?: boolean } = isolate.compileScriptSync(
        src,
        cachedData ? { filename, cachedData } : { filename, produceCachedData: true },
      );
      if (script.cachedDataRejected) codeCache.delete(filename);
      else if (!cachedData && script.cachedData) codeCache.set(filename, script.cachedData);
      script.runSync(context);
      script.release();
    }
    const register = global.getSync('__cx_register', { reference: true }) as ivm.Reference;
    const start = global.getSync('__cx_start', { reference: true }) as ivm.Reference;
    const reply = global.getSync('__cx_reply', { reference: true }) as ivm.Reference;
    context.evalSync(
      'delete globalThis.__cx_register; delete globalThis.__cx_dispatch; delete globalThis.__cx_reply; delete globalThis.__cx_start;',
    );
    cur = {
      name: m.name,
      isolate,
      start,
      reply,
      limits: m.limits,
      running: new Map(),
      outstanding: new Map(),
      outstandingBytes: 0,
      fires: new Map(),
    };
    const mod = isolate.compileModuleSync(m.code, { filename: m.filename });
    mod.instantiateSync(context, (specifier) => {
      throw new Error(
        `cannot import '${specifier}': a sandboxed plugin is one self-contained bundle (build it with cx-ops plugins build)`,
      );
    });
    mod.evaluateSync({ timeout });
    const def = mod.namespace.getSync('default', { reference: true }) as ivm.Reference;
    const shape = register.applySync(undefined, [def.derefInto()], { timeout }) as string;
    register.release();
    def.release();
    const problem = textProblem(shape, 'the plugin definition', m.limits.maxOutputBytes, m.limits.maxDepth);
    if (problem) throw Object.assign(new Error(problem), { limit: true });
    send({ t: 'loaded', id: m.id, ok: true, shape });
  } catch (e) {
    const f: FailureInfo = (e as { limit?: boolean }).limit
      ? { kind: 'limit', message: (e as Error).message }
      : failure(e, isolate);
    if (f.kind === 'internal' && !isolate.isDisposed) f.kind = 'plugin';
    dispose();
    if (!isolate.isDisposed) isolate.dispose();
    send({ t: 'loaded', id: m.id, ok: false, error: f });
  }
}

function call(m: Extract<ToChild, { t: 'call' }>): void {
  if (typeof m.ctx === 'string') keepContext(contexts, m.ctxKey, m.ctx);
  const ctx = contexts.get(m.ctxKey);
  const p = cur;
  if (!p || p.isolate.isDisposed || p.name !== m.name) {
    send({ t: 'result', id: m.id, ok: false, error: { kind: 'not-loaded', message: 'not loaded' } });
    return;
  }
  if (ctx === undefined) {
    send({ t: 'result', id: m.id, ok: false, error: { kind: 'no-context', message: 'no such context' } });
    return;
  }
  p.running.set(m.id, performance.now() + p.limits.callTimeoutMs);
  stretch(p, () =>
    // Numbers and strings only: primitives cross as values (no ExternalCopy per argument).
    p.start.applySync(undefined, [m.id, m.target, m.input, m.ctxKey, ctx], stretchOptions(p)),
  );
}

/** A ctx method called inside the isolate: forwarded to the kernel as text (checked first). */
function hostCall(callId: number, hid: number, method: string, args: string): void {
  const p = cur;
  if (!p || !p.running.has(callId)) return;
  // Log lines and terminal output are capped like results; only file contents may be larger.
  const cap = /^(log\.|io\.(out|err)$)/.test(method) ? p.limits.maxOutputBytes : MAX_HOST_CALL_BYTES;
  const problem =
    typeof method !== 'string' || method.length > 64
      ? 'bad method'
      : textProblem(args, `the arguments of ctx.${method}`, cap, p.limits.maxDepth);
  if (problem) {
    if (hid) answer(hid, false, JSON.stringify({ message: problem, code: 'CX_ERR_SANDBOX_LIMIT' }));
    return;
  }
  if (!hid) {
    const n = (p.fires.get(callId) ?? 0) + 1;
    p.fires.set(callId, n);
    if (n === MAX_FIRES_PER_CALL + 1) {
      send({
        t: 'hostcall',
        id: callId,
        hid: 0,
        method: 'log.warn',
        args: JSON.stringify([
          `more than ${MAX_FIRES_PER_CALL} log lines or terminal writes in one call; the rest are dropped`,
          null,
        ]),
      });
    }
    if (n > MAX_FIRES_PER_CALL) return;
  } else if (
    p.outstanding.size >= MAX_OUTSTANDING_HOST_CALLS ||
    p.outstandingBytes + args.length > MAX_OUTSTANDING_HOST_BYTES
  ) {
    const what =
      p.outstanding.size >= MAX_OUTSTANDING_HOST_CALLS
        ? `more than ${MAX_OUTSTANDING_HOST_CALLS} ctx calls`
        : `more than ${MAX_OUTSTANDING_HOST_BYTES >> 20} MiB of ctx call arguments`;
    answer(
      hid,
      false,
      JSON.stringify({
        message: `plugin '${p.name}' has ${what} waiting; the call to ctx.${method} was refused.`,
        code: 'CX_ERR_TOO_MANY_CALLS',
      }),
    );
    return;
  } else {
    p.outstanding.set(hid, args.length);
    p.outstandingBytes += args.length;
  }
  send({ t: 'hostcall', id: callId, hid, method, args });
}

/** Answers a host call inside the isolate; the plugin's continuation runs now, synchronously. */
function answer(hid: number, ok: boolean, value: string): void {
  const p = cur;
  if (!p || p.isolate.isDisposed) return;
  const bytes = p.outstanding.get(hid);
  if (bytes !== undefined) {
    p.outstanding.delete(hid);
    p.outstandingBytes -= bytes;
  }
  stretch(p, () => p.reply.applySync(undefined, [hid, ok, value], stretchOptions(p)));
}

function onMessage(m: ToChild): void {
  switch (m.t) {
    case 'load':
      load(m);
      break;
    case 'call':
      call(m);
      break;
    case 'hostreply':
      if (cur?.name === m.name) answer(m.hid, m.ok, m.value);
      break;
    case 'abort': {
      // The kernel already answered this call; its isolate goes (a fresh one is loaded next time).
      const p = cur;
      if (p?.name === m.name) {
        p.running.delete(m.id);
        failAll(p, {
          kind: 'internal',
          message: 'another call of this plugin went over its time limit and its isolate was stopped',
        });
      }
      send({ t: 'aborted', id: m.id });
      break;
    }
    case 'unload':
      if (cur?.name === m.name) dispose();
      break;
  }
}
// The kernel's messages are its own (no cap on a line); a line that is not a message ends this process.
const reader = new LineReader(
  Infinity,
  (line) => onMessage(decodeMessage<ToChild>(line)),
  () => process.exit(1),
);
wire.setEncoding('utf8');
wire.on('data', (text: string) => reader.push(text));
// The kernel closed the wire (it exited, or ended this plugin's process).
wire.on('end', () => process.exit(0));
wire.on('error', () => process.exit(0));
// Ctrl-C reaches the terminal's whole process group: the kernel decides, this process follows it.
process.on('SIGINT', () => undefined);
send({ t: 'ready' });
// Nothing a plugin does may take the sandbox process down through a stray rejection.
process.on('unhandledRejection', (e) => {
  process.stderr.write(`cx-sandbox: unhandled rejection: ${e instanceof Error ? e.message : String(e)}\n`);
});
