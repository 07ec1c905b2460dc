/**
 * The exec argument pattern language.
 *
 * Each pattern matches ONE argument:
 *   - a literal (`is-active`, `-c`) matches exactly that argument;
 *   - a glob, where `*` matches any characters (`\*` is a literal star, `\\` a backslash). A glob
 *     that does not itself start with `-` never matches an argument starting with `-`: `git log *`
 *     does not allow `git log --output=/etc/x`, `find /var *` does not allow `find /var -exec …`.
 *     Options must be spelled out in the grant (`--output=/tmp/*`).
 *   - a final `...` allows any number of further NON-option arguments.
 * Otherwise the arity is exact. Arguments containing NUL never match.
 */

/** The trailing pattern that allows any number of further non-option arguments. */
export const ELLIPSIS = '...';

type Item = string | typeof STAR;
const STAR = Symbol('star');

const parsed = new Map<string, Item[]>();

/** Splits a pattern into literal characters and wildcards. */
function items(pattern: string): Item[] {
  let out = parsed.get(pattern);
  if (out) return out;
  out = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) out.push(pattern[++i]!);
    else if (ch === '*') out.push(STAR);
    else out.push(ch);
  }
  if (parsed.size > 4096) parsed.clear();
  parsed.set(pattern, out);
  return out;
}

/** Whether a pattern contains a wildcard. */
export function isGlob(pattern: string): boolean {
  return items(pattern).includes(STAR);
}

/** Whether the pattern is a glob that may only match non-option arguments. */
function nonOptionGlob(p: Item[]): boolean {
  return p.includes(STAR) && p[0] !== '-';
}

/** Generic wildcard match: `pat` items against `subject` items, where only a pattern STAR may consume a subject STAR. */
function globMatch(pat: Item[], subject: Item[]): boolean {
  // Iterative matcher with backtracking to the last star (linear-ish, no regex blow-up).
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < subject.length) {
    if (p < pat.length && pat[p] !== STAR && pat[p] === subject[s]) {
      p++;
      s++;
    } else if (p < pat.length && pat[p] === STAR) {
      starP = p++;
      starS = s;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else return false;
  }
  while (p < pat.length && pat[p] === STAR) p++;
  return p === pat.length;
}

/** Whether one argument matches one pattern. */
export function matchArg(pattern: string, arg: string): boolean {
  if (arg.includes('\0')) return false;
  const p = items(pattern);
  if (nonOptionGlob(p) && arg.startsWith('-')) return false;
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
