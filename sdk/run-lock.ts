/**
 * A lock that keeps two runs of a command that changes the system apart (`update apply`,
 * `repair apt`, ...). It is a symlink whose target names the holder ("pid 1234: cx-ops update
 * apply"): creating a symlink is atomic and fails when one exists, and the holder can be read
 * back without opening anything. A lock whose holder process is gone is taken over.
 *
 * For trusted plugins (it runs `ln -s` and names the cx-ops process); nothing is taken in a dry
 * run, which changes nothing.
 */
import { CxError } from './errors.js';
import type { PluginContext } from './types.js';

export interface RunLock {
  path: string;
  release(): Promise<void>;
}

/** The error of a lock another live run holds: CX_ERR_STATE_LOCKED (exit 5) naming the holder. */
export function runLockedError(path: string, pid: number, holder: string): CxError {
  return new CxError('CX_ERR_STATE_LOCKED', { what: `the lock ${path}`, path, pid, command: holder });
}

async function holderOf(ctx: PluginContext<any>, path: string): Promise<{ pid: number; text: string } | null> {
  try {
    const text = await ctx.fs.readlink(path);
    const m = /^pid (\d+)/.exec(text);
    return { pid: m ? Number(m[1]) : 0, text };
  } catch {
    return null;
  }
}

/** The pid of this cx-ops process (0 where there is none, e.g. in a sandbox). */
function ownPid(): number {
  return (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
}

/** Takes the lock `${ctx.env.stateDir}/${name}` for `what` (e.g. "update apply"); throws CX_ERR_STATE_LOCKED. */
export async function takeRunLock(ctx: PluginContext<any>, name: string, what: string): Promise<RunLock> {
  const path = `${ctx.env.stateDir}/${name}`;
  if (ctx.env.dryRun) return { path, release: async () => undefined };
  await ctx.fs.mkdir(ctx.env.stateDir, { mode: 0o700 });
  const me = `pid ${ownPid()}: cx-ops ${what}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await ctx.exec.run('ln', ['-s', me, path], { timeoutMs: 10_000 });
    if (r.exitCode === 0) {
      return {
        path,
        release: async () => {
          const h = await holderOf(ctx, path);
          if (h?.text === me) await ctx.fs.remove(path);
        },
      };
    }
    const h = await holderOf(ctx, path);
    if (!h) continue;
    if (await alive(ctx, h.pid)) throw runLockedError(path, h.pid, h.text.replace(/^pid \d+: /, ''));
    await removeStale(ctx, path, h.text, me);
  }
  throw new Error(`could not take the lock ${path}; remove it if no such cx-ops run is going on`);
}

async function alive(ctx: PluginContext<any>, pid: number): Promise<boolean> {
  return pid > 0 && (await ctx.fs.stat(`/proc/${pid}`)) !== null;
}

/**
 * The holder is gone: removes its lock, but only that one. Two runs that both found it stale
 * must not both remove it (the second would remove the lock the first has just taken), so the
 * removal happens under a guard symlink; a guard whose holder died is cleared.
 */
async function removeStale(ctx: PluginContext<any>, path: string, staleText: string, me: string): Promise<void> {
  const guard = `${path}.takeover`;
  const r = await ctx.exec.run('ln', ['-s', me, guard], { timeoutMs: 10_000 });
  if (r.exitCode !== 0) {
    const g = await holderOf(ctx, guard);
    if (g && !(await alive(ctx, g.pid))) await ctx.fs.remove(guard).catch(() => undefined);
    return;
  }
  try {
    if ((await holderOf(ctx, path))?.text === staleText) await ctx.fs.remove(path).catch(() => undefined);
  } finally {
    await ctx.fs.remove(guard).catch(() => undefined);
  }
}
