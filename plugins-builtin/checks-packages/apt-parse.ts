/** Pure parsers of dpkg and apt output used by the package checks. */

/** One package stanza of /var/lib/dpkg/status: name and the three words of its Status field. */
export interface DpkgPackageState {
  name: string;
  want: string;
  flag: string;
  state: string;
}

/** Parses /var/lib/dpkg/status (stanzas separated by blank lines). */
export function parseDpkgStatus(text: string): DpkgPackageState[] {
  const out: DpkgPackageState[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const status = /^Status:\s*(\S+)\s+(\S+)\s+(\S+)/m.exec(stanza);
    if (name && status) out.push({ name, want: status[1]!, flag: status[2]!, state: status[3]! });
  }
  return out;
}

/** States dpkg leaves when an operation did not finish. */
export const UNFINISHED_STATES: readonly string[] = [
  'half-installed',
  'unpacked',
  'half-configured',
  'triggers-awaited',
  'triggers-pending',
];

/** Packages left unfinished or needing reinstallation. */
export function unfinishedPackages(pkgs: DpkgPackageState[]): Array<{ name: string; state: string; flag: string }> {
  return pkgs
    .filter((p) => UNFINISHED_STATES.includes(p.state) || p.flag === 'reinstreq')
    .map(({ name, state, flag }) => ({ name, state, flag }));
}

/** One line of `apt list --upgradable`. */
export interface UpgradableLine {
  name: string;
  suites: string[];
  candidate: string;
  arch: string;
  current: string;
  security: boolean;
}

/** Parses `apt list --upgradable` ("name/suite1,suite2 version arch [upgradable from: old]"). */
export function parseAptUpgradable(stdout: string): UpgradableLine[] {
  const out: UpgradableLine[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^([^\s/]+)\/(\S+)\s+(\S+)\s+(\S+)\s+\[upgradable from:\s*([^\]]+)\]/.exec(line.trim());
    if (!m) continue;
    const suites = m[2]!.split(',');
    out.push({
      name: m[1]!,
      suites,
      candidate: m[3]!,
      arch: m[4]!,
      current: m[5]!.trim(),
      security: suites.some((s) => /security/i.test(s)),
    });
  }
  return out;
}
