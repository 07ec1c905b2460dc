/**
 * Grants: what a sandboxed plugin may do with exec / fs / net / registry.
 *
 * A plugin's manifest *requests* permissions; the user *grants* a subset (`cx-ops plugins grant`).
 * A grant can narrow a request, never widen it (Deno's rule). The effective grants are checked by
 * core/capabilities on every call.
 *
 * Grant strings (one rule each, round-tripping through parseGrant / formatGrants):
 *   exec:systemctl is-active *      command, then one pattern per argument (see match.ts)
 *   read:/proc                      that path and everything below it
 *   write:/var/lib/x
 *   net:127.0.0.1:8080              host (literal) and port or '*'; IPv6 as [::1]:53
 *   registry                        may list other plugins' contributions
 *   trust-config:git                the operator accepts that a granted program reads its
 *                                   configuration from a directory the plugin may write
 *                                   (config-hazards.ts); never requested, only granted
 */
import { posix } from 'node:path';
import { CxError } from '../errors.js';
import { sameCommand } from './command-path.js';
import { configHazards } from './config-hazards.js';
import { ELLIPSIS, patternsWithin } from './patterns.js';
import { unsafeExecArgs } from './program-rules.js';

/**
 * One exec rule: a command (bare name, resolved on the fixed PATH at match time, or an absolute
 * path) and one pattern per argument. `args: null` is the same as `['...']`: any number of
 * non-option arguments. An empty array allows no arguments at all.
 */
export interface ExecRule {
  command: string;
  args: string[] | null;
}

/** One network rule: a literal host name or address, and a port or '*' (any port). */
export interface NetRule {
  host: string;
  port: number | '*';
}

/** A set of grants (a manifest's request, a user's grant, or their narrowing). */
export interface Grants {
  exec: ExecRule[];
  read: string[];
  write: string[];
  net: NetRule[];
  registry: boolean;
  /** Programs the operator accepts may read configuration from a writable directory (see config-hazards.ts). */
  trustConfig?: string[];
}

/** No grants at all. */
export function noGrants(): Grants {
  return { exec: [], read: [], write: [], net: [], registry: false };
}

/** The read-only tier: keeps read and registry listing, drops exec, write and net. */
export function readOnlyGrants(g: Grants): Grants {
  return { exec: [], read: [...g.read], write: [], net: [], registry: g.registry };
}

function syntax(grant: string, detail: string): CxError {
  return new CxError('CX_ERR_GRANT_SYNTAX', { grant, detail });
}

/** A character inside quotes or after a backslash is literal; in the pattern a literal '*' or '\\' is escaped. */
const literal = (ch: string): string => (ch === '*' || ch === '\\' ? `\\${ch}` : ch);

/**
 * Splits an exec pattern string into argument patterns: whitespace-separated; '…' and "…" quote
 * (a quoted '*' is a literal star); a backslash makes the next character literal. In the returned
 * patterns an unescaped '*' is a wildcard and '\\*' / '\\\\' are a literal star / backslash.
 */
export function tokenize(text: string, grant = text): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) cur += literal(text[++i]!);
      else cur += literal(ch);
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      cur ??= '';
    } else if (ch === '\\') {
      if (i + 1 >= text.length) throw syntax(grant, 'it ends with a lone backslash');
      cur = (cur ?? '') + literal(text[++i]!);
    } else if (/\s/.test(ch)) {
      if (cur !== null) out.push(cur);
      cur = null;
    } else cur = (cur ?? '') + ch;
  }
  if (quote) throw syntax(grant, `a ${quote} quote is not closed`);
  if (cur !== null) out.push(cur);
  return out;
}

/** The inverse of tokenize for one pattern: escapes whitespace and quotes, keeps pattern escapes. */
function quoteToken(t: string): string {
  return t === '' ? "''" : t.replace(/[\s'"]/g, (c) => `\\${c}`);
}

function checkExecRule(rule: ExecRule, grant: string): ExecRule {
  const { command } = rule;
  if (!command || /[\0\s]/.test(command)) throw syntax(grant, 'the command is empty or contains whitespace or NUL');
  if (command.includes('/') && !posix.isAbsolute(command))
    throw syntax(grant, `the command '${command}' must be a bare name or an absolute path`);
  if (command.includes('*')) throw syntax(grant, 'the command cannot be a pattern; name one program');
  if (rule.args) {
    rule.args.forEach((a, i) => {
      if (a.includes('\0')) throw syntax(grant, `argument pattern ${i + 1} contains NUL`);
      if (a === ELLIPSIS && i !== rule.args!.length - 1)
        throw syntax(grant, `'...' may only be the last argument pattern`);
    });
  }
  const unsafe = unsafeExecArgs(command, rule.args);
  if (unsafe) {
    throw new CxError('CX_ERR_GRANT_UNSAFE', {
      grant,
      detail: unsafe,
      fix: 'Ask for (or grant) the exact arguments instead; a wildcard may only stand where the program reads data.',
    });
  }
  return {
    command: posix.isAbsolute(command) ? posix.normalize(command) : command,
    args: rule.args ? [...rule.args] : null,
  };
}

function checkPath(p: string, grant: string): string {
  if (typeof p !== 'string' || !posix.isAbsolute(p)) throw syntax(grant, `the path '${p}' must be absolute`);
  if (p.includes('\0')) throw syntax(grant, 'the path contains NUL');
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Parses "host:port", "[v6]:port" or "*"-port; hosts are kept literal (lower-cased). */
export function parseNetRule(text: string, grant = `net:${text}`): NetRule {
  const m = /^(?:\[([^\]]+)\]|(.+)):(\*|\d{1,5})$/.exec(text.trim());
  if (!m) throw syntax(grant, `'${text}' is not host:port (use [::1]:53 for IPv6, '*' for any port)`);
  const host = (m[1] ?? m[2]!).toLowerCase();
  if (!host || /[\s/\0*]/.test(host)) throw syntax(grant, `'${host}' is not a host name or address (no wildcards)`);
  const port = m[3] === '*' ? '*' : Number(m[3]);
  if (port !== '*' && (port < 1 || port > 65535)) throw syntax(grant, `port ${port} is not in 1-65535`);
  return { host, port };
}

function parseExecText(text: string, grant: string): ExecRule {
  const tokens = tokenize(text, grant);
  if (tokens.length === 0) throw syntax(grant, 'it names no command');
  return checkExecRule({ command: tokens[0]!, args: tokens.slice(1) }, grant);
}

/** Parses one grant string into a Grants holding that one rule. */
export function parseGrant(text: string): Grants {
  const g = noGrants();
  if (typeof text !== 'string') throw syntax(String(text), 'a grant is a string');
  const t = text.trim();
  if (t === 'registry') {
    g.registry = true;
    return g;
  }
  const trust = /^trust-config:([a-z][a-z0-9+._-]*)$/.exec(t);
  if (trust) {
    g.trustConfig = [trust[1]!];
    return g;
  }
  const m = /^(exec|read|write|net):(.*)$/s.exec(t);
  if (!m) throw syntax(text, "it must start with exec:, read:, write: or net: (or be 'registry')");
  const [, kind, rest] = m as unknown as [string, 'exec' | 'read' | 'write' | 'net', string];
  if (kind === 'exec') g.exec.push(parseExecText(rest, text));
  else if (kind === 'net') g.net.push(parseNetRule(rest, text));
  else g[kind].push(checkPath(rest.trim(), text));
  return g;
}

/** One grant string per rule; parseGrant(formatGrants(g)[i]) gives back rule i. */
export function formatGrants(g: Grants): string[] {
  const out: string[] = [];
  for (const r of g.exec) out.push(`exec:${[r.command, ...(r.args ?? [ELLIPSIS])].map(quoteToken).join(' ')}`);
  for (const p of g.read) out.push(`read:${p}`);
  for (const p of g.write) out.push(`write:${p}`);
  for (const n of g.net) out.push(`net:${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`);
  if (g.registry) out.push('registry');
  for (const p of g.trustConfig ?? []) out.push(`trust-config:${p}`);
  return out;
}

/** The grants a plugin.yaml `permissions` section requests (already schema-validated, re-checked here). */
export function requestedGrants(manifestPermissions: unknown): Grants {
  const g = noGrants();
  if (manifestPermissions == null) return g;
  if (typeof manifestPermissions !== 'object' || Array.isArray(manifestPermissions))
    throw syntax('permissions', 'permissions must be a mapping');
  const p = manifestPermissions as Record<string, unknown>;
  const arr = (k: string): unknown[] => {
    const v = p[k];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw syntax(`permissions.${k}`, `permissions.${k} must be a list`);
    return v;
  };
  for (const e of arr('exec')) {
    if (typeof e === 'string') g.exec.push(parseExecText(e, `exec:${e}`));
    else if (e && typeof e === 'object' && typeof (e as ExecRule).command === 'string') {
      const { command, args } = e as { command: string; args?: unknown };
      if (args !== undefined && !(Array.isArray(args) && args.every((a) => typeof a === 'string')))
        throw syntax(`exec:${command}`, 'args must be a list of strings');
      g.exec.push(checkExecRule({ command, args: (args as string[] | undefined) ?? [] }, `exec:${command}`));
    } else throw syntax(`exec:${JSON.stringify(e)}`, 'an exec permission is a string or { command, args }');
  }
  for (const r of arr('read')) g.read.push(checkPath(String(r), `read:${r}`));
  for (const w of arr('write')) g.write.push(checkPath(String(w), `write:${w}`));
  for (const n of arr('net')) g.net.push(parseNetRule(String(n)));
  if (p.registry !== undefined && typeof p.registry !== 'boolean')
    throw syntax('registry', 'permissions.registry must be true or false');
  g.registry = p.registry === true;
  return g;
}

/** Whether `path` is `base` or below it (both normalized absolute paths). */
export function pathWithin(path: string, base: string): boolean {
  return base === '/' || path === base || path.startsWith(`${base}/`);
}

function netWithin(g: NetRule, r: NetRule): boolean {
  return g.host === r.host && (r.port === '*' || g.port === r.port);
}

/**
 * Checks that every granted rule lies within the request (equal or narrower) and returns the
 * granted set as the effective grants. Throws CX_ERR_GRANT_WIDER naming the first wider rule.
 */
export function narrowGrants(requested: Grants, granted: Grants, plugin: string): Grants {
  const requestedList = formatGrants(requested);
  const wider = (rule: Grants) =>
    new CxError('CX_ERR_GRANT_WIDER', { plugin, grant: formatGrants(rule)[0], requested: requestedList });
  for (const e of granted.exec) {
    if (!requested.exec.some((r) => execRuleWithin(e, r))) throw wider({ ...noGrants(), exec: [e] });
  }
  for (const kind of ['read', 'write'] as const) {
    for (const p of granted[kind]) {
      if (!requested[kind].some((r) => pathWithin(p, r))) throw wider({ ...noGrants(), [kind]: [p] });
    }
  }
  for (const n of granted.net) {
    if (!requested.net.some((r) => netWithin(n, r))) throw wider({ ...noGrants(), net: [n] });
  }
  if (granted.registry && !requested.registry) throw wider({ ...noGrants(), registry: true });
  const narrowed: Grants = {
    exec: granted.exec.map((r) => ({ command: r.command, args: r.args ? [...r.args] : null })),
    read: [...granted.read],
    write: [...granted.write],
    net: granted.net.map((n) => ({ ...n })),
    registry: granted.registry,
    ...(granted.trustConfig?.length ? { trustConfig: [...granted.trustConfig] } : {}),
  };
  const [hazard] = configHazards(narrowed);
  if (hazard) {
    throw new CxError('CX_ERR_GRANT_UNSAFE', {
      plugin,
      grant:
        formatGrants({
          ...noGrants(),
          exec: narrowed.exec.filter((r) => posix.basename(r.command).startsWith(hazard.program)).slice(0, 1),
        })[0] ?? `exec:${hazard.program}`,
      detail: `the plugin may also write ${hazard.writable.join(', ')}, and ${hazard.program} reads ${hazard.reads} from the directory it runs in; a planted configuration there runs any code`,
      fix: `If you accept that, grant also: cx-ops plugins grant ${plugin} trust-config:${hazard.program}`,
    });
  }
  return narrowed;
}

/** Whether exec rule `g` allows nothing that rule `r` does not (same program, narrower arguments). */
export function execRuleWithin(g: ExecRule, r: ExecRule): boolean {
  return sameCommand(g.command, r.command) && patternsWithin(g.args, r.args);
}

/** Union of several grant sets. */
export function mergeGrants(list: Grants[]): Grants {
  return {
    exec: list.flatMap((g) => g.exec),
    read: list.flatMap((g) => g.read),
    write: list.flatMap((g) => g.write),
    net: list.flatMap((g) => g.net),
    registry: list.some((g) => g.registry),
    ...(list.some((g) => g.trustConfig?.length)
      ? { trustConfig: [...new Set(list.flatMap((g) => g.trustConfig ?? []))] }
      : {}),
  };
}
