/**
 * Grant checks for single calls: does this exec / path / host:port fall within the grants?
 * Paths given here must already be resolved (realpath); core/capabilities does that at open time.
 */
import { canonicalCommand, resolveCommand } from './command-path.js';
import { type Grants, type NetRule, pathWithin } from './grants.js';
import { anchorOf, staysInside } from './path-anchor.js';
import { ELLIPSIS, matchArgs } from './patterns.js';

/** The outcome of an exec check: the program to run, or why not. */
export type ExecDecision =
  { allowed: true; path: string | null } | { allowed: false; path: string | null; reason: string; grantable: boolean };

/** Checks a command and its arguments against exec rules; `path` is what will run (null: not found). */
export function checkExec(grants: Grants | 'all', command: string, args: string[]): ExecDecision {
  const path = resolveCommand(command);
  if (typeof command !== 'string' || command.length === 0 || command.includes('\0')) {
    return { allowed: false, path: null, reason: 'the command is empty or contains NUL', grantable: false };
  }
  if (command.includes('/') && !command.startsWith('/')) {
    return { allowed: false, path: null, reason: 'a command is a bare name or an absolute path', grantable: false };
  }
  const bad = args.findIndex((a) => typeof a !== 'string' || a.includes('\0'));
  if (bad >= 0)
    return { allowed: false, path, reason: `argument ${bad + 1} is not a string without NUL`, grantable: false };
  if (grants === 'all') return { allowed: true, path };
  const canonical = path ? canonicalCommand(path) : null;
  let outside: string | null = null;
  for (const rule of grants.exec) {
    const rulePath = rule.command.includes('/') ? rule.command : resolveCommand(rule.command);
    const same =
      rule.command === command || (canonical !== null && rulePath !== null && canonicalCommand(rulePath) === canonical);
    if (same && matchArgs(rule.args, args)) {
      // A path-like glob anchored in a directory must stay inside it once resolved.
      const escaped = (rule.args ?? []).findIndex(
        (pat, i) => i < args.length && pat !== ELLIPSIS && !staysInside(pat, args[i]!),
      );
      if (escaped < 0) return { allowed: true, path };
      outside = `argument ${escaped + 1} ('${args[escaped]}') resolves outside ${anchorOf(rule.args![escaped]!)!.dir}`;
    }
  }
  if (outside) return { allowed: false, path, reason: outside, grantable: false };
  const named = grants.exec.some((r) => r.command === command || (path && r.command === path));
  return {
    allowed: false,
    path,
    reason: named ? 'its arguments match no exec grant' : 'the command has no exec grant',
    grantable: true,
  };
}

/** Whether a resolved absolute path lies within one of the granted paths. */
export function pathGranted(granted: string[] | 'all', realPath: string): boolean {
  return granted === 'all' || granted.some((g) => pathWithin(realPath, g));
}

/** Whether a host:port is granted (hosts compared literally, lower-cased; IPv6 without brackets). */
export function netGranted(granted: NetRule[] | 'all', host: string, port: number): boolean {
  if (granted === 'all') return true;
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return granted.some((r) => r.host === h && (r.port === '*' || r.port === port));
}
