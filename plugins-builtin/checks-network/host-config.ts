/**
 * Parsers of the host's own network configuration, the source of the network checks' default
 * targets: package source URIs (sources.list, *.list, deb822 *.sources), the default gateway
 * (/proc/net/route) and the resolvers (/etc/resolv.conf). No address is ever hard-coded.
 */

/** URIs of enabled package sources in one-line format (`deb [opts] uri suite comps`). */
export function parseOneLineSources(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** URIs of enabled stanzas of a deb822 .sources file. */
export function parseDeb822Sources(text: string): string[] {
  const out: string[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const lines = stanza.split('\n').filter((l) => !l.trimStart().startsWith('#'));
    const field = (name: string) => {
      const i = lines.findIndex((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
      if (i < 0) return undefined;
      let v = lines[i]!.slice(name.length + 1);
      for (let j = i + 1; j < lines.length && /^\s/.test(lines[j]!); j++) v += ` ${lines[j]!.trim()}`;
      return v.trim();
    };
    if ((field('Enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const uris = field('URIs');
    if (uris) out.push(...uris.split(/\s+/).filter(Boolean));
  }
  return out;
}

export interface SourceHost {
  host: string;
  port: number;
  scheme: string;
}

/** Network hosts of package source URIs (file:, cdrom: and the like are left out), de-duplicated. */
export function sourceHosts(uris: string[]): SourceHost[] {
  const seen = new Map<string, SourceHost>();
  for (const uri of uris) {
    const m = /^(https?|ftp|tor\+https?):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^/:]+)(?::(\d+))?/i.exec(uri);
    if (!m) continue;
    const scheme = m[1]!.toLowerCase().replace(/^tor\+/, '');
    const host = m[2]!.replace(/^\[|\]$/g, '');
    const port = m[3] ? Number(m[3]) : scheme === 'https' ? 443 : scheme === 'ftp' ? 21 : 80;
    seen.set(`${host}:${port}`, { host, port, scheme });
  }
  return [...seen.values()];
}

/** The default gateway from /proc/net/route (little-endian hex), or null when there is no default route. */
export function defaultGateway(routeText: string): { iface: string; gateway: string } | null {
  for (const line of routeText.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[1] !== '00000000') continue;
    const flags = parseInt(f[3]!, 16);
    if (!(flags & 0x1)) continue; // route not up
    const hex = f[2]!;
    const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).reverse();
    return { iface: f[0]!, gateway: bytes.join('.') };
  }
  return null;
}

/** Nameservers of /etc/resolv.conf, in order. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(raw);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Whether s is an IPv4 or IPv6 literal (no DNS needed). */
export function isIpLiteral(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || s.includes(':');
}
