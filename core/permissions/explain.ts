/**
 * Denial messages: which plugin, which capability, the exact argument, what the grant allows,
 * and the command that would allow it (`cx-ops plugins grant <plugin> '<grant>'`).
 */
import { CxError } from '../errors.js';
import { formatGrants, type Grants, noGrants } from './grants.js';
import { literalPattern } from './patterns.js';

export type DeniedCapability = 'exec' | 'read' | 'write' | 'net' | 'registry';

export interface Denial {
  plugin: string;
  capability: DeniedCapability;
  /** The command, path or host:port asked for. */
  target: string;
  /** exec: the arguments asked for. */
  args?: string[];
  /** The plugin's effective grants. */
  grants: Grants;
  /** Why, when more than "not granted" (e.g. "it resolves to /etc/shadow"). */
  reason?: string;
  /** False when no grant can allow it (NUL bytes, device files by pattern, …). */
  grantable?: boolean;
  /** The grant that would allow the call, when it differs from the obvious one (e.g. a resolved path). */
  wanted?: string;
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-.,/:@=+]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function show(s: string, max = 200): string {
  const t = JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
  return `'${t.slice(1, -1).replace(/'/g, "\\'")}'`;
}

function grantedOf(g: Grants, capability: DeniedCapability): string | undefined {
  const only = { ...noGrants(), [capability]: capability === 'registry' ? g.registry : g[capability] } as Grants;
  const strings = formatGrants(only).map((s) => s.replace(/^(exec|read|write|net):/, ''));
  return strings.length ? strings.map((s) => `'${s}'`).join(', ') : undefined;
}

/** The grant string that would allow exactly this call. */
export function wantedGrant(d: Pick<Denial, 'capability' | 'target' | 'args' | 'wanted'>): string {
  if (d.wanted) return d.wanted;
  switch (d.capability) {
    case 'exec':
      return formatGrants({
        ...noGrants(),
        exec: [{ command: d.target, args: (d.args ?? []).map(literalPattern) }],
      })[0]!;
    case 'registry':
      return 'registry';
    default:
      return `${d.capability}:${d.target}`;
  }
}

/** Builds the CX_ERR_PERMISSION_DENIED error for a denied call. */
export function explainDenial(d: Denial): CxError {
  const what =
    d.capability === 'exec'
      ? `run ${show([d.target, ...(d.args ?? [])].join(' '))}`
      : d.capability === 'net'
        ? `connect to ${show(d.target)}`
        : d.capability === 'registry'
          ? `list ${show(d.target)} contributions`
          : `${d.capability} ${show(d.target)}`;
  const action = d.reason ? `${what} (${d.reason})` : what;
  const grant = wantedGrant(d);
  return new CxError('CX_ERR_PERMISSION_DENIED', {
    plugin: d.plugin,
    capability: d.capability,
    action,
    target: d.target,
    args: d.args,
    granted: grantedOf(d.grants, d.capability),
    fix: d.grantable === false ? undefined : `cx-ops plugins grant ${shellQuote(d.plugin)} ${shellQuote(grant)}`,
  });
}
