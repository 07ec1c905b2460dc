/**
 * What a program cost, for `ctx.exec.run(…, { usage: true })`: its CPU time and peak resident
 * set size, as the kernel's wait4() reports them when the program is reaped. Node gives no
 * child's rusage (and getrusage(RUSAGE_CHILDREN) mixes every child cx-ops ever reaped), so the
 * program runs under GNU time (Debian's `time` package), which waits for it and appends those
 * figures to the program's stderr once it has ended; they are taken off the end of stderr again.
 * (Not a file descriptor of ours: Node's stdio pipes are sockets, which GNU time cannot open.)
 * Where GNU time is missing the program runs as usual and its usage is null — never a guess.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import type { ExecUsage } from '../../sdk/types.js';
import { resolveCommand } from '../permissions/command-path.js';

/** GNU time's format: a marker, then elapsed s, user s, system s, max RSS KiB. */
const FORMAT = 'cx-ops-usage %e %U %S %M';
const LINE = /^cx-ops-usage (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/;
/** The end of stderr kept apart for the report (GNU time writes two short lines at most). */
export const USAGE_TAIL_BYTES = 4096;

let gnuTime: Promise<string | null> | undefined;

/** The path of GNU time, or null (checked once per process: another `time` takes other options). */
export function gnuTimePath(): Promise<string | null> {
  gnuTime ??= new Promise((resolve) => {
    const path = resolveCommand('time');
    if (!path) return resolve(null);
    execFile(path, ['--version'], { timeout: 5000, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } }, (err, out, errOut) =>
      resolve(!err && /GNU [Tt]ime/.test(`${out}${errOut}`) ? path : null),
    );
  });
  return gnuTime;
}

/** The argument list that runs `path args` under GNU time, its report at the end of stderr. */
export function measuredArgs(path: string, args: string[]): string[] {
  return ['-f', FORMAT, '--', path, ...args];
}

/**
 * Reads GNU time's report off the end of `text` (stderr): the usage, where the report starts (to
 * cut it from stderr), and the program's own end when a signal killed it (GNU time then exits
 * 128 + N and says so on the line before its figures). Only the last line counts: GNU time writes
 * after the program ended, so a line the program wrote itself cannot take its place.
 */
export function readUsageReport(text: string): { usage: ExecUsage; signal: string | null; start: number } | null {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  let start = body.lastIndexOf('\n') + 1;
  const m = LINE.exec(body.slice(start));
  if (!m) return null;
  const before = body.lastIndexOf('\n', start - 2) + 1;
  const prev = start > 0 ? body.slice(before, start - 1) : '';
  const s = /^Command terminated by signal (\d+)$/.exec(prev);
  if (s || /^Command exited with non-zero status \d+$/.test(prev)) start = before;
  return {
    usage: {
      cpuMs: Math.round((Number(m[2]) + Number(m[3])) * 1000),
      maxRssKb: Number(m[4]),
      elapsedMs: Math.round(Number(m[1]) * 1000),
    },
    signal: s ? signalName(Number(s[1])) : null,
    start,
  };
}

function signalName(n: number): string {
  for (const [name, value] of Object.entries(constants.signals)) if (value === n) return name;
  return `SIG${n}`;
}
