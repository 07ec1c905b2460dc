/**
 * The kernel's handle on ONE plugin's sandbox process (worker.ts). Deadlines are kept here,
 * outside the child: when a call's time is up it is rejected at once, the child is told to drop
 * the isolate, and if it does not confirm within a grace period its process tree is killed and a
 * new child is started on the next call. A child that dies (a V8 fatal error, its OS memory cap)
 * fails only this plugin's calls in flight; the plugin is reloaded into a new child on its next
 * call. Programs a call started through ctx.exec are killed when that call ends, whatever ended it.
 *
 * The child runs under `setpriv --pdeathsig KILL` (it dies with the kernel, however the kernel
 * ends) and `prlimit --data` (its OS memory cap), where util-linux provides them; without
 * setpriv it still exits when its end of the wire closes (worker.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Json, PluginContext } from '../../sdk/types.js';
import { CxError, messageOf } from '../errors.js';
import { escapeControl, pluginTerminalText } from '../terminal-text.js';
import { contextData, HOST_METHODS } from './host-calls.js';
import { MAX_HOST_CALL_BYTES, processMemoryCapMb, type SandboxLimits } from './limits.js';
import {
  decodeMessage,
  encodeMessage,
  keepContext,
  LineReader,
  type FailureInfo,
  type FromChild,
  type ToChild,
} from './protocol.js';

/** What to run in a sandboxed plugin. */
export type CallTarget =
  | { type: 'activate' }
  | { type: 'deactivate' }
  | { type: 'contribution'; kind: string; id: string }
  | { type: 'tap'; index: number };

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

/** A load or a call waiting for its answer. One class (not object spreads): this is the hot path. */
class Pending {
  /**
   * Aborted when the call ends, however: kills the programs it started. Made by the first host
   * call that needs it (most calls start no program; an abort costs a DOMException).
   */
  ended?: AbortController = undefined;
  /**
   * When its time is up (performance.now() ms); set once the sandbox process is up (its start-up
   * is not the plugin's time). One sweep timer per process serves every deadline.
   */
  deadline?: number = undefined;

  constructor(
    /** What runs: a call's target, or undefined for a load. */
    readonly target: CallTarget | undefined,
    /** The kernel's context the call's ctx methods are served by (calls only). */
    readonly ctx: PluginContext | undefined,
    /** CxErrors the host raised to the plugin in this call (the only kernel errors it may pass on). */
    readonly raised: CxError[] | undefined,
    /** A call's input as JSON text (kept for the one resend after a lost context or isolate). */
    readonly input: string,
    /** 0, or 1 once the call was sent again. */
    readonly attempt: number,
    readonly resolve: (value: any) => void,
    readonly reject: (e: Error) => void,
  ) {}

  get kind(): 'load' | 'call' {
    return this.target ? 'call' : 'load';
  }

  /** The call in messages ("check 'disk'", "activate()"); made only when a message needs it. */
  get where(): string {
    return this.target ? whereOf(this.target) : 'loading its code';
  }
}

/** How long a new sandbox process may take to start before it is killed. */
export const START_TIMEOUT_MS = 20_000;

export function whereOf(t: CallTarget): string {
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

/** The compiled worker file (see host.ts). */
export function workerFile(): string {
  const beside = new URL('./worker.js', import.meta.url);
  if (import.meta.url.endsWith('.js') && existsSync(fileURLToPath(beside))) return fileURLToPath(beside);
  const built = fileURLToPath(new URL('../../dist/core/sandbox/worker.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`the sandbox worker is not built (looked for ${built}); run: npm run build`);
}

const SETPRIV = '/usr/bin/setpriv';
const PRLIMIT = '/usr/bin/prlimit';
let tools: { setpriv: boolean; prlimit: boolean } | undefined;

/** The command line that starts a sandbox process with its memory cap and parent-death signal. */
export function workerCommand(limits: SandboxLimits): { file: string; args: string[]; pdeathsig: boolean } {
  tools ??= { setpriv: existsSync(SETPRIV), prlimit: existsSync(PRLIMIT) };
  const cap = processMemoryCapMb(limits) * 1024 * 1024;
  let argv = [process.execPath, '--no-node-snapshot', '--no-expose-wasm', workerFile()];
  if (tools.prlimit) argv = [PRLIMIT, `--data=${cap}:${cap}`, '--', ...argv];
  else argv = ['/bin/sh', '-c', `ulimit -d ${cap >> 10} && exec "$@"`, 'cx-sandbox', ...argv];
  if (tools.setpriv) argv = [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv];
  // Without a parent-death signal, isolated-vm's timeout bounds each stretch of plugin code (worker.ts).
  else argv.push('--stretch-timeouts');
  return { file: argv[0]!, args: argv.slice(1), pdeathsig: tools.setpriv };
}

/** A context's plain data as the isolate gets it, and the number it is sent under. */
interface ContextText {
  key: number;
  text: string;
}
/** Made once per context (a context's data never changes). */
const contextTexts = new WeakMap<PluginContext, ContextText>();
let contextKeys = 0;
function contextText(ctx: PluginContext): ContextText {
  let c = contextTexts.get(ctx);
  if (c === undefined) contextTexts.set(ctx, (c = { key: ++contextKeys, text: JSON.stringify(contextData(ctx)) }));
  return c;
}

/** A call target's JSON text, made once per target object (the kernel keeps a contribution's). */
const targetTexts = new WeakMap<CallTarget, string>();
function targetText(t: CallTarget): string {
  let text = targetTexts.get(t);
  if (text === undefined) targetTexts.set(t, (text = JSON.stringify(t)));
  return text;
}

export class SandboxProcess {
  private child?: ChildProcess;
  /** The current child's end of the wire (its fd 3; see protocol.ts). */
  private channel?: Socket;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly aborting = new Map<number, NodeJS.Timeout>();
  /** Keys of the context texts the current child holds (see KEPT_CONTEXTS). */
  private sentContexts = new Set<number>();
  /** The one deadline timer (unref'd: a pending call keeps the loop alive through the child) and when it fires. */
  private sweepTimer?: NodeJS.Timeout;
  private sweepDue = Infinity;
  /** Whether the current child holds the plugin's isolate. */
  private loaded = false;
  private stderrTail = '';
  private closed = false;
  /** Whether the current child said it is ready (deadlines run from then). */
  private ready = false;
  private startTimer?: NodeJS.Timeout;

  constructor(
    readonly name: string,
    private spec: LoadSpec,
    private limits: SandboxLimits,
  ) {}

  /** Process id of the sandbox process (undefined until started). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The OS memory cap of this process in MB. */
  get memoryCapMb(): number {
    return processMemoryCapMb(this.limits);
  }

  /** Loads (again) the plugin's code into a fresh isolate; resolves to its shape text. */
  async load(spec = this.spec, limits = this.limits): Promise<string> {
    const capChanged = processMemoryCapMb(limits) !== processMemoryCapMb(this.limits);
    this.spec = spec;
    this.limits = limits;
    if (capChanged && this.child) this.kill();
    this.loaded = false;
    const text = await new Promise<string>((resolve, reject) => {
      const p = new Pending(undefined, undefined, undefined, '', 0, resolve, reject);
      const id = this.enqueue(p);
      if (id)
        this.send({
          t: 'load',
          id,
          name: this.name,
          code: this.spec.code,
          filename: this.spec.filename,
          limits: this.limits,
        });
    });
    this.loaded = true;
    return text;
  }

  /** Drops the plugin's isolate; the process exits (nothing else lives in it). */
  unload(): void {
    void this.close();
  }

  /** Runs plugin code; resolves to its result (parsed here, once). */
  call(target: CallTarget, input: Json, ctx: PluginContext, raised?: CxError[]): Promise<Json> {
    return this.callText(target, JSON.stringify(input ?? null), ctx, raised, 0);
  }

  /** Sends a call (loading the plugin first when its isolate or process is gone). */
  private callText(
    target: CallTarget,
    input: string,
    ctx: PluginContext,
    raised: CxError[] | undefined,
    attempt: number,
    afterLoad = false,
  ): Promise<Json> {
    if (!afterLoad && (!this.loaded || !this.child))
      return this.load().then(() => this.callText(target, input, ctx, raised, attempt, true));
    return new Promise<Json>((resolve, reject) => {
      const id = this.enqueue(new Pending(target, ctx, raised, input, attempt, resolve, reject));
      if (!id) return;
      const c = contextText(ctx);
      // Decided when the message is written: the child that gets it is the one started by then.
      if (this.sentContexts.has(c.key))
        this.send({ t: 'call', id, name: this.name, target: targetText(target), input, ctxKey: c.key });
      else {
        keepContext(this.sentContexts, c.key);
        this.send({ t: 'call', id, name: this.name, target: targetText(target), input, ctxKey: c.key, ctx: c.text });
      }
    });
  }

  /**
   * Sent once more, whole, when the child lacked the call's context text (it should not) or its
   * isolate went away between load and call (another call's limit): the answer goes to `p`.
   */
  private resend(p: Pending, why: 'no-context' | 'not-loaded'): void {
    if (why === 'no-context') this.sentContexts.clear();
    else this.loaded = false;
    this.callText(p.target!, p.input, p.ctx!, p.raised, 1).then(p.resolve, p.reject);
  }

  /** Kills the sandbox process; calls in flight fail with CX_ERR_SANDBOX_CRASHED. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
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

  /** Registers a pending load or call and starts the child if needed; 0 when the sandbox is closed (`p` is rejected). */
  private enqueue(p: Pending): number {
    if (this.closed) {
      p.reject(
        new CxError('CX_ERR_SANDBOX_CRASHED', { plugin: this.name, where: p.where, detail: 'the sandbox is closed' }),
      );
      return 0;
    }
    this.start();
    const id = ++this.seq;
    this.pending.set(id, p);
    if (this.ready) this.arm(p);
    if (this.pending.size === 1) this.updateRef();
    return id;
  }

  /** Starts a call's time. Deadlines are swept by one timer, not a timer per call (set and cleared each round trip). */
  private arm(p: Pending): void {
    if (p.deadline !== undefined) return;
    p.deadline = performance.now() + this.limits.callTimeoutMs;
    if (p.deadline < this.sweepDue) this.sweepAt(p.deadline);
  }

  private sweepAt(due: number): void {
    clearTimeout(this.sweepTimer);
    this.sweepDue = due;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(0, Math.ceil(due - performance.now())));
    this.sweepTimer.unref();
  }

  /** Fails the calls whose time is up and sets the timer for the next deadline. */
  private sweep(): void {
    this.sweepTimer = undefined;
    this.sweepDue = Infinity;
    // A timer may fire up to a millisecond before performance.now() says it is due (the loop's clock).
    const now = performance.now() + 1;
    let next = Infinity;
    for (const [id, p] of [...this.pending]) {
      if (p.deadline === undefined || !this.pending.has(id)) continue;
      if (p.deadline <= now) this.deadline(id);
      else if (p.deadline < next) next = p.deadline;
    }
    if (next !== Infinity && !this.closed) this.sweepAt(next);
  }

  /**
   * The call's time is up: answer now and end the plugin's process (it serves only this plugin,
   * and a stretch of plugin code may hold its thread); the next call starts a fresh one. Other
   * calls of this plugin in flight fail with CX_ERR_SANDBOX_CRASHED.
   */
  private deadline(id: number): void {
    const p = this.settle(id);
    if (!p) return;
    p.reject(
      new CxError('CX_ERR_SANDBOX_TIMEOUT', { plugin: this.name, where: p.where, ms: this.limits.callTimeoutMs }),
    );
    this.kill(`another call of this plugin (${p.where}) went over its time limit`);
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    p.ended?.abort();
    if (this.pending.size === 0) this.updateRef();
    return p;
  }

  private fail(p: Pending, f: FailureInfo): Error {
    const plugin = this.name;
    switch (f.kind) {
      case 'memory':
        this.loaded = false;
        return new CxError('CX_ERR_SANDBOX_MEMORY', { plugin, where: p.where, mb: this.limits.memoryMb });
      case 'timeout':
        this.loaded = false;
        return new CxError('CX_ERR_SANDBOX_TIMEOUT', { plugin, where: p.where, ms: this.limits.callTimeoutMs });
      case 'limit':
        return new CxError('CX_ERR_SANDBOX_LIMIT', { plugin, detail: `${p.where}: ${escapeControl(f.message)}` });
      case 'internal':
        this.loaded = false;
        return new CxError('CX_ERR_SANDBOX_CRASHED', { plugin, where: p.where, detail: escapeControl(f.message) });
      case 'no-context':
        return new CxError('CX_ERR_SANDBOX_CRASHED', { plugin, where: p.where, detail: 'its context was not known' });
      case 'not-loaded':
        return new CxError('CX_ERR_SANDBOX_CRASHED', { plugin, where: p.where, detail: 'its isolate was gone' });
      default:
        if (p.kind === 'load')
          return new CxError('CX_ERR_MAIN_INVALID', {
            plugin,
            main: this.spec.filename,
            detail: escapeControl(f.message),
          });
        // A thrown message is the plugin's text: escaped here (its lines kept, a line that
        // starts like another's prefix marked as the plugin's), so no terminal, log or --json
        // output downstream ever carries its control characters or a forged line.
        return new PluginCodeError(
          pluginTerminalText(plugin, f.message),
          plugin,
          f.code ? escapeControl(f.code) : undefined,
          typeof f.hint === 'string' ? escapeControl(f.hint.slice(0, 1000)) : undefined,
          Array.isArray(f.suggestions)
            ? f.suggestions
                .filter((x): x is string => typeof x === 'string')
                .slice(0, 10)
                .map((x) => escapeControl(x.slice(0, 100)))
            : undefined,
        );
    }
  }

  private onMessage(m: FromChild): void {
    switch (m.t) {
      case 'ready': {
        this.ready = true;
        clearTimeout(this.startTimer);
        for (const p of this.pending.values()) this.arm(p);
        return;
      }
      case 'loaded':
      case 'result': {
        const p = this.settle(m.id);
        if (!p) return;
        if (!m.ok) {
          const kind = m.error.kind;
          if (p.attempt === 0 && p.target && (kind === 'no-context' || kind === 'not-loaded')) this.resend(p, kind);
          else p.reject(this.fail(p, m.error));
        } else if (m.t === 'loaded') p.resolve(m.shape);
        else {
          let value: Json;
          try {
            value = JSON.parse(m.value) as Json;
          } catch (e) {
            p.reject(this.fail(p, { kind: 'internal', message: `its result is not JSON (${messageOf(e)})` }));
            return;
          }
          p.resolve(value);
        }
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
    const reply = (ok: boolean, value: unknown) => {
      if (!m.hid) return;
      let text: string;
      try {
        text = JSON.stringify(value ?? null);
      } catch (e) {
        [ok, text] = [
          false,
          JSON.stringify({
            message: `the result of ctx.${m.method} is not plain data (${messageOf(e)})`,
            code: 'CX_ERR_SANDBOX_LIMIT',
          }),
        ];
      }
      this.send({ t: 'hostreply', name: this.name, hid: m.hid, ok, value: text });
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
      return reply(false, {
        message: `the arguments of ctx.${m.method} are not valid (${messageOf(e)})`,
        code: 'CX_ERR_SANDBOX_LIMIT',
      });
    }
    try {
      reply(true, await method(p.ctx, args as unknown[], { ended: (p.ended ??= new AbortController()).signal }));
    } catch (e) {
      if (e instanceof CxError) p.raised?.push(e);
      const code = (e as { code?: unknown })?.code;
      reply(false, { message: messageOf(e), code: typeof code === 'string' ? code : null });
    }
  }

  private start(): void {
    if (this.child) return;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const cmd = workerCommand(this.limits);
    // Not detached: in its own session the child would be its own scheduling autogroup, and
    // under load every round trip would wait for the scheduler (measured: 0.2 ms -> 1-4 ms). It
    // starts no programs, so there is no tree to kill; it ignores the terminal's SIGINT and dies
    // with the kernel through its parent-death signal or the closed wire.
    const child = spawn(cmd.file, cmd.args, { env, stdio: ['ignore', 'inherit', 'pipe', 'pipe'] });
    const channel = child.stdio[3] as Socket;
    this.child = child;
    this.channel = channel;
    this.loaded = false;
    this.ready = false;
    this.sentContexts = new Set();
    this.stderrTail = '';
    this.startTimer = setTimeout(() => {
      if (this.child === child && !this.ready) this.kill();
    }, START_TIMEOUT_MS);
    this.startTimer.unref();
    child.stderr?.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-4096);
    });
    // A line is at most a result or a host call's arguments (both capped in the child) and its header.
    const reader = new LineReader(
      Math.max(MAX_HOST_CALL_BYTES, this.limits.maxOutputBytes) + 1024 * 1024,
      (line) => {
        if (this.child !== child) return;
        let m: FromChild;
        try {
          m = decodeMessage<FromChild>(line);
        } catch (e) {
          this.kill(`the sandbox process sent a message that is not valid (${messageOf(e)})`);
          return;
        }
        this.onMessage(m);
      },
      () => {
        if (this.child === child) this.kill('the sandbox process sent a message over the size limit');
      },
    );
    channel.setEncoding('utf8');
    channel.on('data', (text: string) => reader.push(text));
    channel.on('error', () => undefined);
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    this.updateRef();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, why?: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.channel?.destroy();
    this.channel = undefined;
    this.loaded = false;
    this.ready = false;
    clearTimeout(this.startTimer);
    for (const t of this.aborting.values()) clearTimeout(t);
    this.aborting.clear();
    const memory =
      /out of memory|is_heap_oom = 1|Allocation failed|Cannot allocate|allocation failure|invalid array length Allocation/i.test(
        this.stderrTail,
      );
    const cause = memory ? '; it exhausted its memory' : '';
    const detail =
      why ??
      `${this.closed ? 'the sandbox was closed; ' : ''}sandbox process ${signal ? `killed by ${signal}` : `exited with code ${code}`}${cause}`;
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(
        memory
          ? new CxError('CX_ERR_SANDBOX_MEMORY', { plugin: this.name, where: p.where, mb: this.limits.memoryMb })
          : new CxError('CX_ERR_SANDBOX_CRASHED', { plugin: this.name, where: p.where, detail }),
      );
    }
  }

  /** Kills the sandbox process and lets go of it at once: the next request starts a new one. */
  private kill(why?: string): void {
    const child = this.child;
    if (!child) return;
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    // Not waiting for 'exit': a request made meanwhile must not go to the dying process.
    this.onExit(child, null, 'SIGKILL', why);
  }

  private send(m: ToChild): void {
    const channel = this.channel;
    if (!this.child || !channel?.writable) return;
    try {
      channel.write(encodeMessage(m));
    } catch {
      // The child is going away; its exit handler fails what is pending.
    }
  }

  /** Keeps the kernel's event loop alive only while calls are in flight. */
  private updateRef(): void {
    const child = this.child;
    if (!child) return;
    if (this.pending.size > 0) {
      child.ref();
      this.channel?.ref();
    } else {
      child.unref();
      this.channel?.unref();
    }
  }
}
