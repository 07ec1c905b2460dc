// Looking at processes from outside, for the sandbox suite: is a pid alive, wait until it is gone.
import { readFileSync } from 'node:fs';

/** Whether a process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Resolves once none of `pids` is alive; returns the ms it took (the test's timeout bounds it). */
export async function gone(pids: number[]): Promise<number> {
  const t = performance.now();
  while (pids.some(alive)) await new Promise((r) => setTimeout(r, 10));
  return performance.now() - t;
}

/** Waits until `file` holds `n` lines (a program reporting its pids) and returns them as numbers. */
export async function pidsIn(file: string, n: number): Promise<number[]> {
  for (;;) {
    let lines: number[] = [];
    try {
      lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      // Not written yet.
    }
    if (lines.length >= n) return lines;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A field of /proc/<pid>/status in kB (VmHWM, VmRSS, …). */
export function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
