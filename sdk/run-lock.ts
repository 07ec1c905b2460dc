/**
 * The run lock of a command that changes the system (`update apply`, `repair apt`, ...): the
 * kernel's one lock (ctx.lock) under the name `<plugin>-<name>`, so two runs of such commands
 * keep apart and the second one is told who holds it. A lock whose holder process is gone is
 * taken over. Nothing is taken in a dry run, which changes nothing.
 */
import { CxError, isCxError } from './errors.js';
import type { PluginContext } from './types.js';

export interface RunLock {
  /** The lock file (<dataDir>/locks/<name>.lock). */
  path: string;
  release(): Promise<void>;
}

/** Thrown when another live run holds the lock: CX_ERR_STATE_LOCKED (exit 5) naming the holder. */
export class RunLockedError extends CxError {
  readonly path: string;
  readonly pid: number;
  readonly holder: string;
  constructor(cause: CxError) {
    super('CX_ERR_STATE_LOCKED', cause.params, { cause });
    this.name = 'RunLockedError';
    this.path = String(cause.params.path ?? '');
    this.pid = Number(cause.params.pid) || 0;
    this.holder = String(cause.params.command ?? '');
  }
}

/** Takes the run lock `name` (e.g. 'update.lock') for `what` (e.g. "update apply"); throws RunLockedError. */
export async function takeRunLock(ctx: PluginContext<any>, name: string, what: string): Promise<RunLock> {
  const lockName = `${ctx.plugin}-${name.replace(/\.lock$/, '')}`;
  const path = `${ctx.env.dataDir}/locks/${lockName}.lock`;
  try {
    const lock = await ctx.lock(lockName, { what });
    return { path, release: () => lock.release() };
  } catch (e) {
    if (isCxError(e) && e.code === 'CX_ERR_STATE_LOCKED') throw new RunLockedError(e);
    throw e;
  }
}
