/**
 * The one lock of cx-ops: an exclusive lock file that names its holder. The holder's record
 * (pid, the process's start time, what it does, a random token) is written to a private file
 * first and put in place with link(), which fails when a lock exists: the lock appears with its
 * content in one step, so a reader never sees an empty lock. A holder whose process is gone
 * (or whose pid now belongs to a younger process) is stale, and its lock is taken over under a
 * guard so two runs that both found it stale cannot both take it.
 *
 * proper-lockfile was evaluated and not used: it marks staleness by mtime (a run must keep
 * touching its lock, and a long `update apply` whose event loop stalls loses it) and it cannot
 * say who holds a lock, which the error must show.
 *
 * What a killed run leaves (its record file, a takeover guard, the stale lock itself) is removed
 * by the next run that takes the same lock, and only when the process that left it is gone.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CxError } from './errors.js';

/** Who holds a lock, as its file says. */
export interface LockHolder {
  pid: number;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat field 22), 0 when unknown. */
  start: number;
  /** What the holder is doing (e.g. "cx-ops update apply"). */
  command: string;
  token: string;
}

export interface LockRequest {
  /** What is locked, for the error ("the plugin state", "lock 'update'"). */
  what: string;
  /** What this run is doing, shown to a run that finds the lock taken. */
  command: string;
  /** How long to wait for a live holder (default 0). */
  waitMs?: number;
  /** Waits between attempts (tests pass a controllable sleep). */
  sleep?: (ms: number) => Promise<void>;
}

/** A held lock. */
export interface Lock {
  path: string;
  release(): Promise<void>;
}

/** Tokens this process uses (held locks and pending attempts); a record with our pid and another token is a dead predecessor's. */
const live = new Set<string>();

/** The start time of a process (ticks since boot), 0 when it cannot be read. */
export function processStart(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]) || 0;
  } catch {
    return 0;
  }
}

const ownStart = processStart(process.pid);

/** Parses a lock file; null when it is not one (a lock from an older version counts by its pid line). */
export function parseHolder(text: string): LockHolder | null {
  try {
    const j = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isInteger(j.pid) && typeof j.token === 'string')
      return { pid: j.pid!, start: Number(j.start) || 0, command: String(j.command ?? ''), token: j.token };
  } catch {
    // not JSON: an older lock file ("pid\n...")
  }
  const [pidLine, command] = text.split('\n');
  const pid = Number(pidLine);
  return Number.isInteger(pid) && pid > 0 ? { pid, start: 0, command: command ?? '', token: text } : null;
}

/** Whether the holder's process still runs (the same process, not a pid reused since). */
export function holderAlive(h: LockHolder): boolean {
  if (h.pid === process.pid) return live.has(h.token);
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (h.start === 0) return true;
  const now = processStart(h.pid);
  return now === 0 || now === h.start;
}

async function readHolder(file: string): Promise<{ text: string; holder: LockHolder | null } | undefined> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new CxError('CX_ERR_IO', {
        path: file,
        detail: 'is not a regular file; a lock file must be one (move it aside)',
      });
    const text = (await fh.readFile({ encoding: 'utf8' })).slice(0, 4096);
    return { text, holder: parseHolder(text) };
  } finally {
    await fh.close();
  }
}

/** Takes the lock at `file`; throws CX_ERR_STATE_LOCKED naming a live holder (after waiting up to waitMs). */
export async function takeLock(file: string, req: LockRequest): Promise<Lock> {
  const sleep = req.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (req.waitMs ?? 0);
  for (;;) {
    const r = await tryLock(file, req);
    if ('release' in r) return r;
    if (Date.now() >= deadline) {
      throw new CxError('CX_ERR_STATE_LOCKED', { what: req.what, pid: r.pid, command: r.command, path: file });
    }
    await sleep(50 + Math.random() * 100);
  }
}

/** Whether no process has this pid (a reused pid counts as alive: then nothing is removed). */
export function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes what runs killed while taking this lock left beside it: their record files
 * (`LOCK.PID.TOKEN.tmp`) and a takeover guard (`LOCK.takeover`), each only when its process is
 * gone. Only these names of this lock are touched.
 */
async function sweepLeftovers(file: string): Promise<void> {
  const dir = dirname(file);
  const name = basename(file);
  const temp = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]{16}\\.tmp$`);
  for (const entry of await readdir(dir).catch(() => [])) {
    const m = temp.exec(entry);
    if (m && Number(m[1]) !== process.pid && pidGone(Number(m[1])))
      await unlink(join(dir, entry)).catch(() => undefined);
  }
  const guard = await readHolder(`${file}.takeover`).catch(() => undefined);
  if (guard?.holder && guard.holder.pid !== process.pid && pidGone(guard.holder.pid))
    await unlink(`${file}.takeover`).catch(() => undefined);
}

async function tryLock(file: string, req: LockRequest): Promise<Lock | LockHolder> {
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  await sweepLeftovers(file);
  const token = randomBytes(8).toString('hex');
  const mine = `${JSON.stringify({ pid: process.pid, start: ownStart, command: req.command, token })}\n`;
  const tmp = `${file}.${process.pid}.${token}.tmp`;
  live.add(token);
  let taken = false;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(mine);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(tmp, file);
        taken = true;
        return {
          path: file,
          release: async () => {
            if ((await readHolder(file).catch(() => undefined))?.text === mine)
              await unlink(file).catch(() => undefined);
            live.delete(token);
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const found = await readHolder(file);
      if (found === undefined) continue; // released meanwhile
      if (found.holder && holderAlive(found.holder)) return found.holder;
      await removeStale(file, found.text, tmp);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
    if (!taken) live.delete(token);
  }
  return { pid: 0, start: 0, command: 'unknown (the lock changed hands repeatedly)', token: '' };
}

/**
 * Removes a lock left by a dead holder, but only the one that was read: two runs that both
 * found it stale must not both remove it (the second would remove the first's new lock). The
 * removal happens under a guard file holding our record; a guard whose holder died is cleared.
 */
async function removeStale(file: string, staleText: string, tmp: string): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await link(tmp, guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const g = await readHolder(guard).catch(() => undefined);
    if (g && !(g.holder && holderAlive(g.holder))) await unlink(guard).catch(() => undefined);
    return;
  }
  try {
    if ((await readHolder(file).catch(() => undefined))?.text === staleText) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}
