/**
 * The exec argument pattern language.
 *
 * Each pattern matches ONE argument:
 *   - a literal (`is-active`, `-c`) matches exactly that argument;
 *   - a glob, where `*` matches any characters but `/` (it never crosses a path separator), `**`
 *     matches any characters including `/` (`\*` is a literal star, `\\` a backslash). A glob
 *     that does not itself start with `-` never matches an argument starting with `-`: `git log *`
 *     does not allow `git log --output=/etc/x`, `find /var *` does not allow `find /var -exec …`.
 *     Options must be spelled out in the grant (`--output=/tmp/*`).
 *   - a final `...` allows any number of further NON-option arguments.
 * Otherwise the arity is exact. Arguments containing NUL never match. An argument with a `..`
 * path segment never matches a glob that does not spell `..` itself; a glob anchored in an
 * absolute directory (`/var/log/*`, `--output=/tmp/*`) must also stay inside that directory
 * after symlinks are resolved (path-anchor.ts, checked where a program is about to run).
 */

/** The trailing pattern that allows any number of further non-option arguments. */
export const ELLIPSIS = '...';

type Item = string | typeof STAR | typeof DSTAR;
const STAR = Symbol('star');
const DSTAR = Symbol('double-star');
const isWild = (x: Item): boolean => x === STAR || x === DSTAR;

const parsed = new Map<string, Item[]>();

/** Splits a pattern into literal characters and wildcards. */
function items(pattern: string): Item[] {
  let out = parsed.get(pattern);
  if (out) return out;
  out = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) out.push(pattern[++i]!);
    else if (ch === '*' && pattern[i + 1] === '*') {
      out.push(DSTAR);
      while (pattern[i + 1] === '*') i++;
    } else if (ch === '*') out.push(STAR);
    else out.push(ch);
  }
  if (parsed.size > 4096) parsed.clear();
  parsed.set(pattern, out);
  return out;
}

/** Whether a pattern contains a wildcard. */
export function isGlob(pattern: string): boolean {
  return items(pattern).some(isWild);
}

/** The literal text of a pattern before its first wildcard (the whole pattern when there is none). */
export function literalPrefix(pattern: string): string {
  let out = '';
  for (const x of items(pattern)) {
    if (isWild(x)) break;
    out += x as string;
  }
  return out;
}

/** Whether the pattern is a glob that may only match non-option arguments. */
function nonOptionGlob(p: Item[]): boolean {
  return p.some(isWild) && p[0] !== '-';
}

/**
 * Wildcard match of `pat` items against `subject` items (dynamic programming: linear in each,
 * no regex blow-up). `*` consumes any item but '/' and a subject `**`; `**` consumes anything;
 * so a pattern `*` also covers a subject `*` (pattern-within-pattern checks).
 */
function globMatch(pat: Item[], subject: Item[]): boolean {
  const n = subject.length;
  let next = new Array<boolean>(n + 1).fill(false);
  next[n] = true;
  for (let i = pat.length - 1; i >= 0; i--) {
    const cur = new Array<boolean>(n + 1).fill(false);
    const p = pat[i]!;
    for (let j = n; j >= 0; j--) {
      if (p === DSTAR) cur[j] = next[j]! || (j < n && cur[j + 1]!);
      else if (p === STAR) cur[j] = next[j]! || (j < n && subject[j] !== '/' && subject[j] !== DSTAR && cur[j + 1]!);
      else cur[j] = j < n && subject[j] === p && next[j + 1]!;
    }
    next = cur;
  }
  return next[0]!;
}

/** Whether `arg` has a `..` path segment that the pattern does not spell out. */
function climbs(p: Item[], arg: string): boolean {
  if (!arg.includes('..')) return false;
  if (!/(^|[/=])\.\.($|\/)/.test(arg)) return false;
  return !p
    .filter((x): x is string => typeof x === 'string')
    .join('')
    .includes('..');
}

/** Whether one argument matches one pattern. */
export function matchArg(pattern: string, arg: string): boolean {
  if (arg.includes('\0')) return false;
  const p = items(pattern);
  if (nonOptionGlob(p) && arg.startsWith('-')) return false;
  if (p.some(isWild) && climbs(p, arg)) return false;
  return globMatch(p, [...arg]);
}

/** Whether an argument list matches a list of patterns (null = `...`). */
export function matchArgs(patterns: string[] | null, args: string[]): boolean {
  const pats = patterns ?? [ELLIPSIS];
  const ellipsis = pats[pats.length - 1] === ELLIPSIS;
  const fixed = ellipsis ? pats.slice(0, -1) : pats;
  if (ellipsis ? args.length < fixed.length : args.length !== fixed.length) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (i < fixed.length) {
      if (!matchArg(fixed[i]!, a)) return false;
    } else if (a.startsWith('-') || a.includes('\0')) return false;
  }
  return true;
}

/** Whether every argument pattern `g` matches is also matched by pattern `r`. */
export function patternWithin(g: string, r: string): boolean {
  const gi = items(g);
  const ri = items(r);
  // r only matches non-option arguments: g must not be able to match one starting with '-'.
  if (nonOptionGlob(ri) && gi[0] === '-') return false;
  return globMatch(ri, gi);
}

/** Whether every argument list `g` allows is also allowed by `r` (null = `...`). */
export function patternsWithin(g: string[] | null, r: string[] | null): boolean {
  const gp = g ?? [ELLIPSIS];
  const rp = r ?? [ELLIPSIS];
  const gEll = gp[gp.length - 1] === ELLIPSIS;
  const rEll = rp[rp.length - 1] === ELLIPSIS;
  const gf = gEll ? gp.slice(0, -1) : gp;
  const rf = rEll ? rp.slice(0, -1) : rp;
  if (!rEll) return !gEll && gf.length === rf.length && gf.every((x, i) => patternWithin(x, rf[i]!));
  if (gf.length < rf.length) return false;
  return gf.every((x, i) => (i < rf.length ? patternWithin(x, rf[i]!) : patternWithin(x, '*')));
}

/** The pattern that matches exactly `arg` (stars and backslashes escaped). */
export function literalPattern(arg: string): string {
  return arg.replace(/[\\*]/g, (c) => `\\${c}`);
}
