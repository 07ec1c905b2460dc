/**
 * The lock that keeps two `update apply` / `update rollback` runs apart. It is a symlink whose
 * target names the holder ("pid 1234: cx-ops update apply"): creating a symlink is atomic and
 * fails when one exists, and the holder can be read back without opening anything.
 * A lock whose holder process is gone is taken over.
 */
import type { PluginContext } from 'cx-ops/sdk';

export interface UpdateLock {
  path: string;
  release(): Promise<void>;
}

/** Thrown when another live run holds the lock. */
export class UpdateLockedError extends Error {
  constructor(readonly path: string, readonly pid: number, readonly holder: string) {
    super(`another cx-ops update run holds the lock ${path} (pid ${pid}, ${holder}).\nWait for it to finish, then run the command again.`);
    this.name = 'UpdateLockedError';
  }
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

/** Takes the lock at `${stateDir}/update.lock` for `what` (e.g. "update apply"). */
export async function takeUpdateLock(ctx: PluginContext<any>, what: string): Promise<UpdateLock> {
  await ctx.fs.mkdir(ctx.env.stateDir, { mode: 0o700 });
  const path = `${ctx.env.stateDir}/update.lock`;
  const me = `pid ${process.pid}: cx-ops ${what}`;
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
    const alive = h.pid > 0 && (await ctx.fs.stat(`/proc/${h.pid}`)) !== null;
    if (alive) throw new UpdateLockedError(path, h.pid, h.text.replace(/^pid \d+: /, ''));
    await ctx.fs.remove(path).catch(() => undefined); // holder is gone: a stale lock (another run may clear it first)
  }
  throw new Error(`could not take the lock ${path}; remove it if no cx-ops update run is going on`);
}
