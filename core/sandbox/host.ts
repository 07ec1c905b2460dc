/**
 * The kernel side of the sandbox: one child process (the sandbox process, worker.ts) holding an
 * isolated-vm isolate per sandboxed plugin. Deadlines are kept HERE, outside the child: when a
 * call's time is up it is rejected at once, the child is told to dispose that isolate, and if it
 * does not confirm within a grace period the whole child process group is killed and a new child
 * is started on the next call. A child that dies (e.g. a V8 fatal error) fails only the calls in
 * flight; plugins are reloaded lazily into the new child.
 *
 * State: after an isolate is disposed (time or memory limit, or a restart), the next call to that
 * plugin gets a fresh isolate with its code evaluated again: module-level state is lost, and
 * activate() is NOT run again.
 *
 * The worker runs as compiled JavaScript: next to this file in dist/, or — when this file runs
 * as TypeScript source (vitest) — from dist/core/sandbox/worker.js, so run `npm run build`
 * first (the test suite's globalSetup does).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Json, PluginContext } from '../../sdk/types.js';
import { CxError, messageOf } from '../errors.js';
import { contextData, HOST_METHODS } from './host-calls.js';
import { ABORT_GRACE_MS, MAX_HOST_CALL_BYTES, resolveLimits, type SandboxLimits } from './limits.js';
import { FATAL_MARK, type FailureInfo, type FromChild, type ToChild } from './protocol.js';
import { parseShape, type PluginShape } from './shape.js';

export type { SandboxLimits } from './limits.js';
export type { PluginShape } from './shape.js';

/** What to run in a sandboxed plugin. */
export type CallTarget = { type: 'activate' } | { type: 'deactivate' } | { type: 'contribution'; kind: string; id: string } | { type: 'tap'; index: number };

/** A plugin loaded into the sandbox. */
export interface SandboxedPlugin {
  readonly name: string;
  /** What the plugin contributes, taps and declares: validated plain data. */
  readonly shape: PluginShape;
  readonly limits: SandboxLimits;
  /** Runs plugin code; its ctx methods are served by `hostCtx` (grants, audit, dry-run apply there). */
  call(target: CallTarget, input: Json, hostCtx: PluginContext): Promise<Json>;
  /** Disposes the plugin's isolate. */
  unload(): void;
}

export interface LoadSpec {
  name: string;
  /** One self-contained ES module (no imports) whose default export is definePlugin({...}). */
  code: string;
  filename: string;
  limits?: Partial<SandboxLimits>;
}

/** An error thrown by the plugin's own code (or passed through it from a host call). */
export class PluginCodeError extends Error {
  constructor(
    message: string,
    readonly plugin: string,
    readonly code?: string,
    readonly hint?: string,
    readonly suggestions?: string[],
  ) {
    super(message);
    this.name = 'PluginCodeError';
  }
}

interface Pending {
  kind: 'load' | 'call';
  plugin: string;
  where: string;
  limits: SandboxLimits;
  ctx?: PluginContext;
  resolve(text: string): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

function whereOf(t: CallTarget): string {
  switch (t.type) {
    case 'activate':
      return 'activate()';
    case 'deactivate':
      return 'deactivate()';
    case 'tap':
      return `tap #${t.index}`;
    default:
      return `${t.kind} '${t.id}'`;
  }
}

/** The plugin and message of a fatal isolate error the sandbox process reported before dying. */
function fatalOf(stderr: string): { plugin: string; message: string } | null {
  const at = stderr.lastIndexOf(FATAL_MARK);
  if (at < 0) return null;
  try {
    const v = JSON.parse(stderr.slice(at + FATAL_MARK.length).split('\n')[0]!) as { plugin?: unknown; message?: unknown };
    return { plugin: String(v.plugin), message: String(v.message) };
  } catch {
    return null;
  }
}

/** The compiled worker file (see the module comment). */
export function workerFile(): string {
  const beside = new URL('./worker.js', import.meta.url);
  if (import.meta.url.endsWith('.js') && existsSync(fileURLToPath(beside))) return fileURLToPath(beside);
  const built = fileURLToPath(new URL('../../dist/core/sandbox/worker.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`the sandbox worker is not built (looked for ${built}); run: npm run build`);
}

export class SandboxHost {
  private child?: ChildProcess;
  private generation = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly aborting = new Map<number, NodeJS.Timeout>();
  private readonly specs = new Map<string, { spec: LoadSpec; limits: SandboxLimits }>();
  /** Plugin name -> generation of the child it is loaded in. */
  private readonly loadedIn = new Map<string, number>();
  private stderrTail = '';
  private closed = false;
  private readonly defaults: SandboxLimits;

  constructor(options: { defaultLimits?: Partial<SandboxLimits> } = {}) {
    this.defaults = resolveLimits(options.defaultLimits);
  }

  /** Process id of the sandbox process (undefined until started). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Compiles and evaluates a plugin bundle in a fresh isolate and returns its validated shape. */
  async load(spec: LoadSpec): Promise<SandboxedPlugin> {
    const limits = resolveLimits(this.defaults, spec.limits);
    this.specs.set(spec.name, { spec, limits });
    this.loadedIn.delete(spec.name);
    const text = await this.loadInChild(spec.name);
    const shape = parseShape(text);
    if (typeof shape === 'string') throw new CxError('CX_ERR_MAIN_INVALID', { plugin: spec.name, main: spec.filename, detail: shape });
    const host = this;
    return Object.freeze({
      name: spec.name,
      shape,
      limits,
      call: (target: CallTarget, input: Json, hostCtx: PluginContext) => host.call(spec.name, target, input, hostCtx),
      unload: () => host.unload(spec.name),
    });
  }

  /** Disposes a plugin's isolate and forgets it. */
  unload(name: string): void {
    this.specs.delete(name);
    if (this.loadedIn.delete(name)) this.send({ t: 'unload', name });
  }

  /** Kills the sandbox process; calls in flight fail with CX_ERR_SANDBOX_CRASHED. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) return;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // An unref'd child does not keep the loop alive: without this, a process whose last work
    // is closing the sandbox ends before 'exit' arrives (Node exit code 13).
    child.ref();
    this.kill();
    await exited;
  }

  private async call(name: string, target: CallTarget, input: Json, ctx: PluginContext): Promise<Json> {
    const entry = this.specs.get(name);
    if (!entry) throw new CxError('CX_ERR_SANDBOX_CRASHED', { plugin: name, where: whereOf(target), detail: 'the plugin was unloaded' });
    const ctxText = JSON.stringify(contextData(ctx));
    const inputText = JSON.stringify(input ?? null);
    for (let attempt = 0; ; attempt++) {
      if (this.loadedIn.get(name) !== this.generation || !this.child) await this.loadInChild(name);
      try {
        const text = await this.request({ kind: 'call', plugin: name, where: whereOf(target), limits: entry.limits, ctx }, (id) => ({ t: 'call', id, name, target: JSON.stringify(target), input: inputText, ctx: ctxText }));
        return JSON.parse(text) as Json;
      } catch (e) {
        // The isolate went away between load and call (another call's limit): load again once.
        if ((e as { notLoaded?: boolean }).notLoaded && attempt === 0) {
          this.loadedIn.delete(name);
          continue;
        }
        throw e;
      }
    }
  }

  private async loadInChild(name: string): Promise<string> {
    const entry = this.specs.get(name)!;
    const { spec, limits } = entry;
    const text = await this.request({ kind: 'load', plugin: name, where: 'loading its code', limits }, (id) => ({ t: 'load', id, name, code: spec.code, filename: spec.filename, limits }));
    this.loadedIn.set(name, this.generation);
    return text;
  }

  private request(p: Omit<Pending, 'resolve' | 'reject' | 'timer'>, message: (id: number) => ToChild): Promise<string> {
    if (this.closed) return Promise.reject(new CxError('CX_ERR_SANDBOX_CRASHED', { plugin: p.plugin, where: p.where, detail: 'the sandbox is closed' }));
    this.start();
    const id = ++this.seq;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.deadline(id), p.limits.callTimeoutMs);
      this.pending.set(id, { ...p, resolve, reject, timer });
      this.updateRef();
      this.send(message(id));
    });
  }

  /** The call's time is up: answer now, then make sure the isolate really stops. */
  private deadline(id: number): void {
    const p = this.settle(id);
    if (!p) return;
    p.reject(new CxError('CX_ERR_SANDBOX_TIMEOUT', { plugin: p.plugin, where: p.where, ms: p.limits.callTimeoutMs }));
    this.loadedIn.delete(p.plugin);
    this.send({ t: 'abort', id, name: p.plugin });
    const child = this.child;
    this.aborting.set(
      id,
      setTimeout(() => {
        this.aborting.delete(id);
        if (this.child === child) this.kill();
      }, ABORT_GRACE_MS),
    );
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(id);
    this.updateRef();
    return p;
  }

  private fail(p: Pending, f: FailureInfo): Error {
    switch (f.kind) {
      case 'memory':
        this.loadedIn.delete(p.plugin);
        return new CxError('CX_ERR_SANDBOX_MEMORY', { plugin: p.plugin, where: p.where, mb: p.limits.memoryMb });
      case 'limit':
        return new CxError('CX_ERR_SANDBOX_LIMIT', { plugin: p.plugin, detail: `${p.where}: ${f.message}` });
      case 'internal':
        this.loadedIn.delete(p.plugin);
        return new CxError('CX_ERR_SANDBOX_CRASHED', { plugin: p.plugin, where: p.where, detail: f.message });
      case 'not-loaded':
        return Object.assign(new CxError('CX_ERR_SANDBOX_CRASHED', { plugin: p.plugin, where: p.where, detail: 'its isolate was gone' }), { notLoaded: true });
      default:
        if (p.kind === 'load') return new CxError('CX_ERR_MAIN_INVALID', { plugin: p.plugin, main: this.specs.get(p.plugin)?.spec.filename, detail: f.message });
        return new PluginCodeError(f.message, p.plugin, f.code ?? undefined, f.hint ?? undefined, f.suggestions ?? undefined);
    }
  }

  private onMessage(m: FromChild): void {
    switch (m.t) {
      case 'loaded':
      case 'result': {
        const p = this.settle(m.id);
        if (!p) return;
        if (m.ok) p.resolve(m.t === 'loaded' ? m.shape : m.value);
        else p.reject(this.fail(p, m.error));
        return;
      }
      case 'aborted': {
        clearTimeout(this.aborting.get(m.id));
        this.aborting.delete(m.id);
        return;
      }
      case 'hostcall':
        void this.hostCall(m);
    }
  }

  /** Serves a ctx method for a running call by calling the same method on the kernel's context. */
  private async hostCall(m: Extract<FromChild, { t: 'hostcall' }>): Promise<void> {
    const p = this.pending.get(m.id);
    const name = p?.plugin ?? '';
    const reply = (ok: boolean, value: unknown) => {
      if (!m.hid) return;
      let text: string;
      try {
        text = JSON.stringify(value ?? null);
      } catch (e) {
        [ok, text] = [false, JSON.stringify({ message: `the result of ctx.${m.method} is not plain data (${messageOf(e)})`, code: 'CX_ERR_SANDBOX_LIMIT' })];
      }
      this.send({ t: 'hostreply', name, hid: m.hid, ok, value: text });
    };
    if (!p || p.kind !== 'call' || !p.ctx) return;
    const method = Object.hasOwn(HOST_METHODS, m.method) ? HOST_METHODS[m.method] : undefined;
    if (!method) return reply(false, { message: `ctx.${m.method} does not exist`, code: 'CX_ERR_SANDBOX_LIMIT' });
    let args: unknown;
    try {
      if (typeof m.args !== 'string' || m.args.length > MAX_HOST_CALL_BYTES) throw new Error('too large');
      args = JSON.parse(m.args);
      if (!Array.isArray(args)) throw new Error('not a list');
    } catch (e) {
      return reply(false, { message: `the arguments of ctx.${m.method} are not valid (${messageOf(e)})`, code: 'CX_ERR_SANDBOX_LIMIT' });
    }
    try {
      reply(true, await method(p.ctx, args as unknown[]));
    } catch (e) {
      const code = (e as { code?: unknown })?.code;
      reply(false, { message: messageOf(e), code: typeof code === 'string' ? code : null });
    }
  }

  private start(): void {
    if (this.child) return;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = fork(workerFile(), [], {
      execArgv: ['--no-node-snapshot', '--no-expose-wasm'],
      detached: true,
      env,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.stderrTail = '';
    child.stderr?.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-4096);
    });
    child.on('message', (m: FromChild) => {
      if (this.child === child) this.onMessage(m);
    });
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    this.updateRef();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.generation++;
    this.loadedIn.clear();
    for (const t of this.aborting.values()) clearTimeout(t);
    this.aborting.clear();
    const fatal = fatalOf(this.stderrTail);
    const memory = fatal ? /memory|allocation/i.test(fatal.message) : /heap out of memory|Allocation failed/i.test(this.stderrTail);
    const cause = fatal ? `; plugin '${fatal.plugin}' ${memory ? 'exhausted its memory' : `hit a fatal error: ${fatal.message}`}` : '';
    const detail = `${this.closed ? 'the sandbox was closed; ' : ''}sandbox process ${signal ? `killed by ${signal}` : `exited with code ${code}`}${cause}`;
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      const culprit = memory && (!fatal || fatal.plugin === p.plugin);
      p.reject(
        culprit
          ? new CxError('CX_ERR_SANDBOX_MEMORY', { plugin: p.plugin, where: p.where, mb: p.limits.memoryMb })
          : new CxError('CX_ERR_SANDBOX_CRASHED', { plugin: p.plugin, where: p.where, detail }),
      );
    }
  }

  /** Kills the sandbox process group (it is a group leader: detached). */
  private kill(): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.child?.kill('SIGKILL');
    }
  }

  private send(m: ToChild): void {
    const child = this.child;
    if (!child?.connected) return;
    try {
      child.send(m);
    } catch {
      // The child is going away; its exit handler fails what is pending.
    }
  }

  /** Keeps the kernel's event loop alive only while calls are in flight. */
  private updateRef(): void {
    const child = this.child as (ChildProcess & { channel?: { ref(): void; unref(): void } }) | undefined;
    if (!child) return;
    if (this.pending.size > 0) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }
}
