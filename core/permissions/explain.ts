/**
 * Denial messages: which plugin, which capability, the exact argument, what the grant allows,
 * and the command that would allow it (`cx-ops plugins grant <plugin> '<grant>'`).
 */
import { CxError, isCxError } from '../errors.js';
import { formatGrants, type Grants, narrowGrants, noGrants, parseGrant } from './grants.js';
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
  /** What the plugin's manifest requests (a grant beyond it cannot be given, so the hint says to request it). */
  requested?: Grants;
  /** The plugin's manifest file, named in that hint. */
  manifest?: string;
  /** Enabled in the read-only tier: an exec, write or net grant needs enabling it again without it. */
  readOnly?: boolean;
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
  const unrequested = d.grantable !== false && d.requested && !withinRequest(d.requested, grant, d.plugin);
  const readOnlyDenial = Boolean(d.readOnly) && ['exec', 'write', 'net'].includes(d.capability) && !unrequested;
  return new CxError('CX_ERR_PERMISSION_DENIED', {
    plugin: d.plugin,
    capability: d.capability,
    action,
    target: d.target,
    args: d.args,
    granted: grantedOf(d.grants, d.capability),
    fix:
      d.grantable === false
        ? undefined
        : readOnlyDenial
          ? `cx-ops plugins enable ${shellQuote(d.plugin)} ${[...formatGrants(d.grants), grant].map((g) => `--grant ${shellQuote(g)}`).join(' ')}`
          : `cx-ops plugins grant ${shellQuote(d.plugin)} ${shellQuote(grant)}`,
    ...(readOnlyDenial ? { readOnly: true } : {}),
    ...(unrequested ? { unrequested: `'${grant}'`, manifest: d.manifest } : {}),
  });
}

/** Whether `grant` lies within what the manifest requests (so `plugins grant` would accept it). */
function withinRequest(requested: Grants, grant: string, plugin: string): boolean {
  try {
    narrowGrants(requested, parseGrant(grant), plugin);
    return true;
  } catch (e) {
    return !(isCxError(e) && e.code === 'CX_ERR_GRANT_WIDER');
  }
}
