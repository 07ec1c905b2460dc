/**
 * Crash injection for commands that change state: runs the real cx-ops launcher under an
 * LD_PRELOAD shim (crash-shim.c) that counts the file-changing system calls of the whole process
 * tree (writes to regular files, creating opens, rename, link, symlink, unlink, mkdir, rmdir,
 * chmod, chown, truncate) and SIGKILLs the tree just before the Nth one.
 *
 * `countChanges` runs a command to the end and says how many changes it made; `runKilledAt`
 * runs it again and kills it at change N. Every N from 1 to the count is a kill point.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const SHIM_SOURCE = fileURLToPath(new URL('./crash-shim.c', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('../../core/bin/cx-ops.js', import.meta.url));

let shim: string | undefined;
/** Compiles the shim once per test process (gcc is on every machine that builds isolated-vm). */
export function crashShim(): string {
  if (shim) return shim;
  const dir = mkdtempSync(join(tmpdir(), 'cx-crash-shim-'));
  shim = join(dir, 'crash-shim.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-w', '-o', shim, SHIM_SOURCE, '-ldl']);
  return shim;
}

export interface CrashRun {
  /** The exit code, or null when the run was killed. */
  exitCode: number | null;
  killed: boolean;
  stdout: string;
  stderr: string;
  /** Changes counted (up to and including the one it was killed at). */
  changes: number;
}

/**
 * Every data write is a kill point only in the long mode (CX_CRASH_FULL=1); by default the kill
 * points are the steps that change what a path is (create, rename, link, unlink, mkdir, chmod,
 * chown, truncate), which keeps a run of every point short enough for `npm test`.
 */
export const CRASH_FULL = process.env.CX_CRASH_FULL === '1';

/** Runs `cx-ops ARGS` (launcher with --no-node-snapshot), killing it at change `at` (0: never). */
export async function runKilledAt(args: string[], at: number, env: Record<string, string> = {}): Promise<CrashRun> {
  const dir = mkdtempSync(join(tmpdir(), 'cx-crash-'));
  const counter = join(dir, 'counter');
  writeFileSync(counter, Buffer.alloc(8));
  const child = execa(process.execPath, ['--no-node-snapshot', LAUNCHER, ...args], {
    reject: false,
    detached: true,
    input: '',
    extendEnv: false,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NO_COLOR: '1',
      CX_PLUGIN_PATH: '',
      ...env,
      LD_PRELOAD: crashShim(),
      CX_CRASH_COUNTER: counter,
      CX_CRASH_AT: String(at),
      ...(CRASH_FULL ? {} : { CX_CRASH_SKIP_WRITES: '1' }),
    },
    timeout: 120_000,
  });
  // The command's process group is its own (detached): the shim kills that whole group.
  const pid = child.pid;
  if (pid === undefined) throw new Error('cx-ops did not start');
  const r = await child;
  const changes = Number(readFileSync(counter).readBigUInt64LE(0));
  return { exitCode: r.exitCode ?? null, killed: r.signal === 'SIGKILL', stdout: r.stdout, stderr: r.stderr, changes };
}

/** Runs `cx-ops ARGS` to the end; its count of file-changing calls. */
export async function countChanges(args: string[], env: Record<string, string> = {}): Promise<CrashRun> {
  return runKilledAt(args, 0, env);
}
