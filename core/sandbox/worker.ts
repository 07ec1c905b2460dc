/**
 * The sandbox process: holds one isolated-vm isolate per sandboxed plugin and talks to the
 * kernel over IPC. It never runs plugin code on its own thread (all isolate calls are async), so
 * it always stays able to stop an isolate when the kernel's deadline passes; if it does not
 * answer in time anyway, the kernel kills it and starts a new one.
 *
 * Started by SandboxHost with `--no-node-snapshot --no-expose-wasm`; exits when the IPC channel
 * closes (the kernel went away).
 */
import ivm from 'isolated-vm';
import { BOOTSTRAP } from './bootstrap.js';
import { MAX_HOST_CALL_BYTES, textProblem, type SandboxLimits } from './limits.js';
import { FATAL_MARK, type FailureInfo, type FromChild, type ToChild } from './protocol.js';

interface Loaded {
  isolate: ivm.Isolate;
  context: ivm.Context;
  dispatch: ivm.Reference;
  reply: ivm.Reference;
  limits: SandboxLimits;
  /** Calls whose deadline passed: their isolate is being disposed, the kernel already answered. */
  aborted: Set<number>;
  /** Host calls sent and not yet answered. */
  outstanding: number;
  /** Log lines / terminal writes per call, to cap floods. */
  fires: Map<number, number>;
}

/** Host calls one plugin may have waiting; more are refused inside the plugin. */
export const MAX_OUTSTANDING_HOST_CALLS = 1024;
/** Log lines and terminal writes one call may send; the rest are dropped (with one warning). */
export const MAX_FIRES_PER_CALL = 10_000;

const plugins = new Map<string, Loaded>();
/** Which plugin each running call belongs to. */
const calls = new Map<number, string>();

function send(m: FromChild): void {
  if (process.connected) process.send!(m);
}

function dispose(name: string): void {
  const p = plugins.get(name);
  plugins.delete(name);
  if (p && !p.isolate.isDisposed) {
    try {
      p.isolate.dispose();
    } catch {
      // Already gone.
    }
  }
}

/** Classifies an error thrown by isolated-vm itself (not by plugin code). */
function failure(e: unknown, isolate: ivm.Isolate): FailureInfo {
  const message = e instanceof Error ? e.message : String(e);
  if (/memory limit/i.test(message)) return { kind: 'memory', message };
  if (isolate.isDisposed) return { kind: 'internal', message: `the isolate was stopped (${message})` };
  return { kind: 'plugin', message };
}

/** An isolate with the bootstrap already run, waiting for a plugin. */
interface Prepared {
  isolate: ivm.Isolate;
  context: ivm.Context;
  register: ivm.Reference;
  dispatch: ivm.Reference;
  reply: ivm.Reference;
  /** Whose isolate this is (set when a plugin takes it). */
  owner: { name: string };
  memoryMb: number;
  maxOutputBytes: number;
}

/** One prepared isolate kept ready, so that loading a plugin skips isolate creation (~1.5 ms). */
let spare: Prepared | null = null;

/** Creates an isolate and runs our bootstrap in it (our code only: no plugin code runs here). */
function prepare(limits: SandboxLimits): Prepared {
  const owner = { name: '' };
  const isolate = new ivm.Isolate({
    memoryLimit: limits.memoryMb,
    // V8 lost control of this isolate (e.g. a fatal out-of-memory): say whose it was, then die;
    // the kernel fails the calls in flight and starts a new sandbox process.
    onCatastrophicError: (message) => {
      process.stderr.write(`\n${FATAL_MARK}${JSON.stringify({ plugin: owner.name, message })}\n`);
      process.abort();
    },
  });
  try {
    // Synchronous set-up on this thread: no thread hops, so isolate start stays fast.
    const context = isolate.createContextSync();
    const global = context.global;
    global.setSync('__cx_limits', JSON.stringify({ maxOutputBytes: limits.maxOutputBytes, maxHostCallBytes: MAX_HOST_CALL_BYTES }));
    // A synchronous callback: the isolate waits while the message is queued, so a plugin that
    // loops over ctx.log cannot outpace this process and pile up memory.
    global.setSync('__cx_send', new ivm.Callback((callId: number, hid: number, method: string, args: string) => hostCall(owner.name, callId, hid, method, args)));
    const script = isolate.compileScriptSync(BOOTSTRAP, { filename: 'cx-sandbox-bootstrap.js' });
    script.runSync(context);
    script.release();
    const register = global.getSync('__cx_register', { reference: true }) as ivm.Reference;
    const dispatch = global.getSync('__cx_dispatch', { reference: true }) as ivm.Reference;
    const reply = global.getSync('__cx_reply', { reference: true }) as ivm.Reference;
    context.evalSync('delete globalThis.__cx_register; delete globalThis.__cx_dispatch; delete globalThis.__cx_reply;');
    return { isolate, context, register, dispatch, reply, owner, memoryMb: limits.memoryMb, maxOutputBytes: limits.maxOutputBytes };
  } catch (e) {
    isolate.dispose();
    throw e;
  }
}

/** The spare isolate when it fits these limits, else a new one. */
function take(limits: SandboxLimits): Prepared {
  const s = spare;
  spare = null;
  if (s && !s.isolate.isDisposed && s.memoryMb === limits.memoryMb && s.maxOutputBytes === limits.maxOutputBytes) return s;
  if (s && !s.isolate.isDisposed) s.isolate.dispose();
  return prepare(limits);
}

/** Prepares the next spare isolate once this process is idle. */
function warm(limits: SandboxLimits): void {
  setImmediate(() => {
    if (spare) return;
    try {
      spare = prepare(limits);
    } catch {
      // No spare: the next load prepares its own isolate.
    }
  });
}

async function load(m: Extract<ToChild, { t: 'load' }>): Promise<void> {
  dispose(m.name);
  let prepared: Prepared;
  try {
    prepared = take(m.limits);
  } catch (e) {
    send({ t: 'loaded', id: m.id, ok: false, error: { kind: 'internal', message: `could not create an isolate: ${e instanceof Error ? e.message : String(e)}` } });
    return;
  }
  const { isolate, context, register, dispatch, reply } = prepared;
  prepared.owner.name = m.name;
  const loaded: Loaded = { isolate, context, dispatch, reply, limits: m.limits, aborted: new Set(), outstanding: 0, fires: new Map() };
  try {
    plugins.set(m.name, loaded);
    calls.set(m.id, m.name);
    const mod = await isolate.compileModule(m.code, { filename: m.filename });
    mod.instantiateSync(context, (specifier) => {
      throw new Error(`cannot import '${specifier}': a sandboxed plugin is one self-contained bundle (build it with cx-ops plugins build)`);
    });
    await mod.evaluate({ timeout: m.limits.callTimeoutMs });
    const def = mod.namespace.getSync('default', { reference: true }) as ivm.Reference;
    const shape = (await register.apply(undefined, [def.derefInto()], { timeout: m.limits.callTimeoutMs })) as string;
    register.release();
    def.release();
    const problem = textProblem(shape, 'the plugin definition', m.limits.maxOutputBytes, m.limits.maxDepth);
    if (problem) throw Object.assign(new Error(problem), { limit: true });
    if (!loaded.aborted.has(m.id)) send({ t: 'loaded', id: m.id, ok: true, shape });
  } catch (e) {
    if (loaded.aborted.has(m.id)) return;
    const f = (e as { limit?: boolean }).limit ? { kind: 'limit' as const, message: (e as Error).message } : failure(e, isolate);
    if (plugins.get(m.name) === loaded) dispose(m.name);
    else if (!isolate.isDisposed) isolate.dispose();
    send({ t: 'loaded', id: m.id, ok: false, error: f });
  } finally {
    calls.delete(m.id);
    warm(m.limits);
  }
}

async function call(m: Extract<ToChild, { t: 'call' }>): Promise<void> {
  const p = plugins.get(m.name);
  if (!p || p.isolate.isDisposed) {
    send({ t: 'result', id: m.id, ok: false, error: { kind: 'not-loaded', message: 'not loaded' } });
    return;
  }
  calls.set(m.id, m.name);
  try {
    const out = (await p.dispatch.apply(undefined, [m.id, m.target, m.input, m.ctx], { arguments: { copy: true }, result: { promise: true, copy: true } })) as string;
    if (p.aborted.has(m.id)) return;
    if (typeof out !== 'string') throw new Error('the sandbox bootstrap returned no text');
    const body = out.slice(1);
    if (out[0] === 'R') {
      const problem = textProblem(body, 'the result', p.limits.maxOutputBytes, p.limits.maxDepth);
      if (problem) send({ t: 'result', id: m.id, ok: false, error: { kind: 'limit', message: problem } });
      else send({ t: 'result', id: m.id, ok: true, value: body });
    } else {
      const problem = textProblem(body, 'the error', 8 * 1024, 2);
      if (problem) throw new Error(`the plugin threw, and ${problem}`);
      const info = JSON.parse(body) as { message: string; code: string | null; hint?: string | null; suggestions?: string[] | null };
      const kind = info.code === 'CX_ERR_SANDBOX_LIMIT' ? 'limit' : 'plugin';
      send({ t: 'result', id: m.id, ok: false, error: { kind, message: info.message, code: info.code, hint: info.hint, suggestions: info.suggestions } });
    }
  } catch (e) {
    if (p.aborted.has(m.id)) return;
    const f = failure(e, p.isolate);
    if (p.isolate.isDisposed) dispose(m.name);
    send({ t: 'result', id: m.id, ok: false, error: f });
  } finally {
    calls.delete(m.id);
    p.fires.delete(m.id);
  }
}

/** A ctx method called inside an isolate: forwarded to the kernel as text (checked first). */
function hostCall(name: string, callId: number, hid: number, method: string, args: string): void {
  const p = plugins.get(name);
  if (!p || calls.get(callId) !== name) return;
  // Log lines and terminal output are capped like results; only file contents may be larger.
  const cap = /^(log\.|io\.(out|err)$)/.test(method) ? p.limits.maxOutputBytes : MAX_HOST_CALL_BYTES;
  const problem = typeof method !== 'string' || method.length > 64 ? 'bad method' : textProblem(args, `the arguments of ctx.${method}`, cap, p.limits.maxDepth);
  if (problem) {
    if (hid) answer(name, hid, false, JSON.stringify({ message: problem, code: 'CX_ERR_SANDBOX_LIMIT' }), false);
    return;
  }
  if (!hid) {
    const n = (p.fires.get(callId) ?? 0) + 1;
    p.fires.set(callId, n);
    if (n === MAX_FIRES_PER_CALL + 1) {
      send({ t: 'hostcall', id: callId, hid: 0, method: 'log.warn', args: JSON.stringify([`more than ${MAX_FIRES_PER_CALL} log lines or terminal writes in one call; the rest are dropped`, null]) });
    }
    if (n > MAX_FIRES_PER_CALL) return;
  } else if (p.outstanding >= MAX_OUTSTANDING_HOST_CALLS) {
    answer(name, hid, false, JSON.stringify({ message: `plugin '${name}' has more than ${MAX_OUTSTANDING_HOST_CALLS} ctx calls waiting; the call to ctx.${method} was refused.`, code: 'CX_ERR_TOO_MANY_CALLS' }), false);
    return;
  } else p.outstanding++;
  send({ t: 'hostcall', id: callId, hid, method, args });
}

function answer(name: string, hid: number, ok: boolean, value: string, counted = true): void {
  const p = plugins.get(name);
  if (!p || p.isolate.isDisposed) return;
  if (counted) p.outstanding = Math.max(0, p.outstanding - 1);
  p.reply.apply(undefined, [hid, ok, value], { arguments: { copy: true } }).catch(() => undefined);
}

process.on('message', (m: ToChild) => {
  switch (m.t) {
    case 'load':
      void load(m);
      break;
    case 'call':
      void call(m);
      break;
    case 'hostreply':
      answer(m.name, m.hid, m.ok, m.value);
      break;
    case 'abort': {
      plugins.get(m.name)?.aborted.add(m.id);
      dispose(m.name);
      send({ t: 'aborted', id: m.id });
      break;
    }
    case 'unload':
      dispose(m.name);
      break;
  }
});
process.on('disconnect', () => process.exit(0));
// Nothing a plugin does may take the sandbox process down through a stray rejection.
process.on('unhandledRejection', (e) => {
  process.stderr.write(`cx-sandbox: unhandled rejection: ${e instanceof Error ? e.message : String(e)}\n`);
});
