/**
 * The kernel side of the sandbox: ONE child process (the sandbox process, worker.ts) per
 * sandboxed plugin, each holding that plugin's isolated-vm isolate under an OS memory cap, so a
 * crash of one plugin's process — a V8 fatal out-of-memory, its cap, a kill — costs only that
 * plugin's calls; the others' calls in flight go on. Each process is started on the plugin's
 * load, restarted alone on its next call after a crash or a kill, and ended with its plugin.
 * The per-process work (deadlines, restarts, host calls) is in sandbox-process.ts.
 *
 * State: after an isolate is disposed (time or memory limit, or a restart), the next call to that
 * plugin gets a fresh isolate with its code evaluated again: module-level state is lost, and
 * activate() is NOT run again. See README.md for what a plugin keeps and cannot share.
 *
 * The worker runs as compiled JavaScript: next to this file in dist/, or — when this file runs
 * as TypeScript source (vitest) — from dist/core/sandbox/worker.js, so run `npm run build`
 * first (the test suite's globalSetup does).
 */
import type { Json, PluginContext } from '../../sdk/types.js';
import { CxError } from '../errors.js';
import { resolveLimits, type SandboxLimits } from './limits.js';
import { SandboxProcess, type CallTarget, type LoadSpec } from './sandbox-process.js';
import { parseShape, type PluginShape } from './shape.js';

export type { SandboxLimits } from './limits.js';
export type { PluginShape } from './shape.js';
export { PluginCodeError, type CallTarget, type LoadSpec } from './sandbox-process.js';

/** A plugin loaded into the sandbox. */
export interface SandboxedPlugin {
  readonly name: string;
  /** What the plugin contributes, taps and declares: validated plain data. */
  readonly shape: PluginShape;
  readonly limits: SandboxLimits;
  /**
   * Runs plugin code; its ctx methods are served by `hostCtx` (grants, audit, dry-run apply there).
   * CxErrors those methods raise in this call are pushed to `raised`.
   */
  call(target: CallTarget, input: Json, hostCtx: PluginContext, raised?: CxError[]): Promise<Json>;
  /** Ends the plugin's sandbox process. */
  unload(): void;
}

export class SandboxHost {
  private readonly processes = new Map<string, SandboxProcess>();
  private closed = false;
  private readonly defaults: SandboxLimits;

  constructor(options: { defaultLimits?: Partial<SandboxLimits> } = {}) {
    this.defaults = resolveLimits(options.defaultLimits);
  }

  /** Process id of a plugin's sandbox process (undefined until started or after it ended). */
  pidOf(name: string): number | undefined {
    return this.processes.get(name)?.pid;
  }

  /** Process ids of every running sandbox process. */
  get pids(): number[] {
    return [...this.processes.values()].flatMap((p) => (p.pid ? [p.pid] : []));
  }

  /** Compiles and evaluates a plugin bundle in a fresh isolate (in its own process) and returns its validated shape. */
  async load(spec: LoadSpec): Promise<SandboxedPlugin> {
    if (this.closed)
      throw new CxError('CX_ERR_SANDBOX_CRASHED', {
        plugin: spec.name,
        where: 'loading its code',
        detail: 'the sandbox is closed',
      });
    const limits = resolveLimits(this.defaults, spec.limits);
    let proc = this.processes.get(spec.name);
    if (!proc) {
      proc = new SandboxProcess(spec.name, spec, limits);
      this.processes.set(spec.name, proc);
    }
    const text = await proc.load(spec, limits);
    const shape = parseShape(text);
    if (typeof shape === 'string')
      throw new CxError('CX_ERR_MAIN_INVALID', { plugin: spec.name, main: spec.filename, detail: shape });
    const own = proc;
    return Object.freeze({
      name: spec.name,
      shape,
      limits,
      call: (target: CallTarget, input: Json, hostCtx: PluginContext, raised?: CxError[]) => {
        if (this.processes.get(spec.name) !== own)
          return Promise.reject(
            new CxError('CX_ERR_SANDBOX_CRASHED', {
              plugin: spec.name,
              where: 'a call',
              detail: 'the plugin was unloaded',
            }),
          );
        return own.call(target, input, hostCtx, raised);
      },
      unload: () => this.unload(spec.name),
    });
  }

  /** Ends a plugin's sandbox process and forgets it. */
  unload(name: string): void {
    const proc = this.processes.get(name);
    this.processes.delete(name);
    proc?.unload();
  }

  /** Ends every sandbox process; calls in flight fail with CX_ERR_SANDBOX_CRASHED. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.processes.values()];
    this.processes.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
