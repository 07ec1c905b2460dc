/**
 * The realpath rule for exec arguments: a glob that names an absolute directory before its first
 * wildcard (`/var/log/*.log`, `--output=/tmp/*`, `of=/srv/x/*`) allows only arguments whose path,
 * with `..` and symlinks resolved, lies inside that directory — the same rule as fs grants.
 * Checked when a program is about to run (the path may not exist yet: its longest existing
 * prefix is resolved and the rest appended).
 */
import { realpathSync } from 'node:fs';
import { posix } from 'node:path';
import { isGlob, literalPrefix } from './patterns.js';

/** Where the path starts in an argument the pattern matches, and the directory it is anchored in. */
export function anchorOf(pattern: string): { start: number; dir: string } | null {
  if (!isGlob(pattern)) return null;
  const lit = literalPrefix(pattern);
  const eq = lit.indexOf('=/');
  const start = lit.startsWith('/') ? 0 : eq >= 0 ? eq + 1 : -1;
  if (start < 0) return null;
  const path = lit.slice(start);
  const slash = path.lastIndexOf('/');
  return { start, dir: slash <= 0 ? '/' : path.slice(0, slash) };
}

/** The real path of `p` (absolute): its longest existing prefix resolved, the rest appended. */
export function realPathOf(p: string): string {
  // Not normalised first: `a/link/..` must resolve through the link, as the program will.
  let head = p.length > 1 ? p.replace(/\/+$/, '') : p;
  const tail: string[] = [];
  for (;;) {
    try {
      const real = realpathSync(head);
      return tail.length ? posix.join(real, ...tail.reverse()) : real;
    } catch {
      if (head === '/' || head === '.' || head === '') return posix.normalize(p);
      tail.push(posix.basename(head));
      head = posix.dirname(head);
    }
  }
}

/** Whether an argument matched by `pattern` stays inside the pattern's anchor directory. */
export function staysInside(pattern: string, arg: string): boolean {
  const a = anchorOf(pattern);
  if (!a || a.dir === '/') return true;
  const path = arg.slice(a.start);
  if (!path.startsWith('/')) return false;
  const dir = realPathOf(a.dir);
  const real = realPathOf(path);
  return real === dir || real.startsWith(`${dir}/`);
}
