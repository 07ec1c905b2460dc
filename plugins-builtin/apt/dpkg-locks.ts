/**
 * dpkg/apt lock files: who holds them (real fcntl locks, read with `lslocks`), waiting for a
 * holder to finish, and clearing lock files nobody holds. A lock held by a live process is
 * never removed: its pid and command are reported instead.
 */
import type { PluginContext } from 'cx-ops/sdk';

export interface LockHolder {
  path: string;
  pid: number;
  command: string;
}

export interface LockState {
  /** Locks held by live processes. */
  held: LockHolder[];
  /** Lock files present that no process holds. */
  stale: string[];
}

async function commandLine(ctx: PluginContext<unknown>, pid: number, fallback: string): Promise<string> {
  try {
    const raw = await ctx.localFs.readFile(`/proc/${pid}/cmdline`);
    const text = raw.split('\0').filter(Boolean).join(' ');
    return text || fallback;
  } catch {
    return fallback;
  }
}

/** Reads which of the given lock files are held, and by whom. */
export async function readLocks(ctx: PluginContext<unknown>, lockFiles: string[]): Promise<LockState> {
  const r = await ctx.exec.run('lslocks', ['--json', '--notruncate', '-o', 'PID,COMMAND,PATH'], {
    readOnly: true,
    timeoutMs: 10_000,
  });
  if (r.exitCode !== 0)
    throw new Error(`lslocks failed (exit ${r.exitCode}): ${r.stderr.trim()}; install util-linux to read lock holders`);
  const rows = (
    JSON.parse(r.stdout || '{"locks":[]}') as {
      locks: Array<{ pid: number | string; command: string; path: string | null }>;
    }
  ).locks;
  const wanted = new Set(lockFiles);
  const held: LockHolder[] = [];
  for (const row of rows) {
    if (!row.path || !wanted.has(row.path)) continue;
    const pid = Number(row.pid);
    if (held.some((h) => h.path === row.path && h.pid === pid)) continue;
    held.push({ path: row.path, pid, command: await commandLine(ctx, pid, row.command) });
  }
  const stale: string[] = [];
  for (const f of lockFiles) {
    if (held.some((h) => h.path === f)) continue;
    if (await ctx.localFs.stat(f)) stale.push(f);
  }
  return { held, stale };
}

/**
 * Waits up to `timeoutMs` for held locks to be released, polling; resolves with the final state
 * (held is empty when everything was released in time).
 */
export async function waitForLocks(
  ctx: PluginContext<unknown>,
  lockFiles: string[],
  timeoutMs: number,
  onWait?: (holders: LockHolder[]) => void,
): Promise<LockState> {
  const deadline = Date.now() + timeoutMs;
  let state = await readLocks(ctx, lockFiles);
  if (state.held.length && onWait) onWait(state.held);
  while (state.held.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, deadline - Date.now()))));
    state = await readLocks(ctx, lockFiles);
  }
  return state;
}

/** A holder as one line: "/var/lib/dpkg/lock held by pid 123 (dpkg --configure -a)". */
export function describeHolder(h: LockHolder): string {
  return `${h.path} held by pid ${h.pid} (${h.command})`;
}
