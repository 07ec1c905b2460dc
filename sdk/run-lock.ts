/**
 * The run lock of a command that changes the system (`update apply`, `repair apt`, ...): the
 * kernel's one lock (ctx.lock) under the name `<plugin>-<name>`, so two runs of such commands
 * keep apart and the second one is told who holds it (CX_ERR_STATE_LOCKED, exit 5). A lock whose
 * holder process is gone is taken over. Nothing is taken in a dry run, which changes nothing.
 */
import type { PluginContext } from './types.js';

export interface RunLock {
  path: string;
  release(): Promise<void>;
}

/** Takes the run lock `name` (e.g. 'update.lock') for `what` (e.g. "update apply"); throws CX_ERR_STATE_LOCKED. */
export async function takeRunLock(ctx: PluginContext<unknown>, name: string, what: string): Promise<RunLock> {
  const lockName = `${ctx.plugin}-${name.replace(/\.lock$/, '')}`;
  const path = `${ctx.env.dataDir}/locks/${lockName}.lock`;
  const lock = await ctx.lock(lockName, { what });
  return { path, release: () => lock.release() };
}
