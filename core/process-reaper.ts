/**
 * Killing what cx-ops started, whatever happens to cx-ops.
 *
 * Every program started through `exec` and every sandbox process is a session leader (spawned
 * detached: its pid is its process group and session id). `killProcessTree(pid)` kills that
 * group, then every process still in that session (those that moved to another group with
 * setpgid). It runs when a program's timeout fires, when it exits (what it left in the
 * background goes with it), when the plugin call that started it ends or is stopped, and when
 * the sandbox process restarts.
 *
 * For the case where cx-ops itself dies (SIGTERM, SIGKILL, a crash of the kernel) there is the
 * reaper: one tiny `sh` process per cx-ops process, in its own session, ignoring INT/TERM/HUP,
 * which is told the id of every tree cx-ops starts and finishes. Its stdin is a pipe from
 * cx-ops; when that pipe closes — which the OS does however cx-ops ends — it kills every tree
 * still registered (group, then session) and exits. It is one per process because it guards
 * this process's children; it is started before the first program and never keeps the event
 * loop alive. One window remains: cx-ops killed between spawning a program and registering it
 * (two synchronous steps) leaves that one tree to its parent-death fate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/** The reaper's program: reads `+ID` / `-ID` lines; at end of input kills every ID still held. */
const REAPER_SCRIPT = [
  "trap '' INT TERM HUP QUIT PIPE",
  'held=" "',
  'while read -r line; do',
  '  case "$line" in',
  '    +*) held="$held${line#+} " ;;',
  '    -*) id=${line#-}; new=" "; for g in $held; do [ "$g" = "$id" ] || new="$new$g "; done; held=$new ;;',
  '  esac',
  'done',
  '[ "$held" = " " ] && exit 0',
  'for g in $held; do kill -KILL -- "-$g" 2>/dev/null; done',
  'for pass in 1 2; do',
  '  for d in /proc/[0-9]*; do',
  '    read -r s < "$d/stat" 2>/dev/null || continue',
  '    s=${s##*) }',
  '    set -- $s',
  '    case "$held" in *" $4 "*) kill -KILL "${d#/proc/}" 2>/dev/null ;; esac',
  '  done',
  'done',
  'exit 0',
].join('\n');

/**
 * Enough of /proc/PID/stat for the fields up to the session id: the command name is at most 64
 * bytes, and everything after its closing parenthesis is numbers, so the last ')' in these bytes
 * is the real one. One buffer for every read: readFileSync allocates 64 KiB per /proc file (it
 * cannot know the size), which for a scan of a few hundred processes after every program a check
 * runs was a large share of the daemon's CPU.
 */
const statBuffer = Buffer.alloc(512);

/** State and session id in /proc/PID/stat, or undefined when the process is gone or unreadable. */
function statOf(pid: string): { state: string; session: number } | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
  } catch {
    return undefined;
  }
  let n: number;
  try {
    n = readSync(fd, statBuffer, 0, statBuffer.length, 0);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
  const stat = statBuffer.toString('latin1', 0, n);
  // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp session.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 4);
  return f.length === 4 ? { state: f[0]!, session: Number(f[3]) } : undefined;
}

/** Whether a process still runs: neither gone nor a zombie (dead, waiting for its parent). */
function running(pid: number): boolean {
  const st = statOf(String(pid));
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** Process ids whose session id is `sid` and that still run (read from /proc; empty where /proc is not readable). */
export function sessionMembers(sid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const st = statOf(e);
    if (st?.session === sid && st.state !== 'Z' && st.state !== 'X') out.push(Number(e));
  }
  return out;
}

/** How long killProcessTree waits for what it killed to be dead (a SIGKILL takes effect when the victim next runs). */
const DEATH_WAIT_MS = 100;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Kills a session leader's process group, then whatever is left in its session, and returns
 * once they are dead (or after DEATH_WAIT_MS on a machine too busy to run them): a caller told
 * the program ended finds nothing of its tree running. Never throws.
 */
export function killProcessTree(pid: number | undefined): void {
  if (!pid || pid <= 1) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone (its members may still be in the session).
  }
  const until = performance.now() + DEATH_WAIT_MS;
  for (let pass = 0; pass < 2; pass++) {
    const left = sessionMembers(pid);
    if (left.length === 0) return;
    for (const p of left) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    while (left.some(running) && performance.now() < until) Atomics.wait(sleeper, 0, 0, 1);
  }
}

/** Holds the ids of the trees this process started, so that they die with it (see the module comment). */
export class ProcessReaper {
  private child?: ChildProcess;
  private readonly held = new Set<number>();
  private exitHook = false;

  /** Registers a tree (a session leader's pid): it is killed if this process dies first. */
  hold(pid: number | undefined): void {
    if (!pid) return;
    this.held.add(pid);
    this.write(`+${pid}\n`);
    if (!this.exitHook) {
      this.exitHook = true;
      // A normal exit: kill at once rather than leaving it to the reaper.
      process.once('exit', () => {
        for (const p of this.held) killProcessTree(p);
      });
    }
  }

  /**
   * Starts the reaper if it is not running. Call it BEFORE spawning what `hold` will register:
   * a program runs as soon as it is spawned, and cx-ops may die before a reaper started after it.
   */
  ready(): void {
    this.start();
  }

  /** Forgets a tree that has been killed or has ended. */
  release(pid: number | undefined): void {
    if (!pid || !this.held.delete(pid)) return;
    this.write(`-${pid}\n`);
  }

  /** How many trees are held (tests). */
  get holding(): number {
    return this.held.size;
  }

  /** Pid of the reaper process (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private write(line: string): void {
    const child = this.start();
    try {
      child?.stdin?.write(line);
    } catch {
      // The reaper is gone; the exit hook still kills what is held on a normal exit.
    }
  }

  private start(): ChildProcess | undefined {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    try {
      const child = spawn('/bin/sh', ['-c', REAPER_SCRIPT], {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { PATH: '/usr/bin:/bin' },
      });
      child.on('error', () => undefined);
      child.stdin!.on('error', () => undefined);
      child.unref();
      (child.stdin as unknown as { unref(): void }).unref();
      this.child = child;
      // A restarted reaper learns what is still held.
      if (this.held.size) child.stdin!.write([...this.held].map((p) => `+${p}\n`).join(''));
      return child;
    } catch {
      return undefined;
    }
  }
}

let shared: ProcessReaper | undefined;

/** This process's reaper (one per process: it guards this process's children). */
export function processReaper(): ProcessReaper {
  shared ??= new ProcessReaper();
  return shared;
}
