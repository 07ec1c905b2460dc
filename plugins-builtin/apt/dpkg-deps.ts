/**
 * The installed packages' dependencies checked in-process from the dpkg status file: what
 * `apt-get check` judges (Depends, Pre-Depends, Conflicts, Breaks of every package that has a
 * current version), without building apt's whole cache from the package lists (seconds on a host
 * whose pkgcache is disabled). It only decides whether `apt-get check` needs to run: what it finds
 * are suspects, and apt's own verdict and words are what the diagnosis reports. So where a rule is
 * unsure (architectures) it is strict: a false suspect costs one `apt-get check`, a missed one
 * would hide a broken host.
 */
import { compareDebVersions } from '../checks-packages/deb-version.js';

/** One installed package instance, as the status file gives it. */
interface Installed {
  name: string;
  version: string;
  arch: string;
  multiArch: string;
  /** The Status field's second and third words (reinstreq, half-installed, ...). */
  flag: string;
  state: string;
  provides: string;
  /** Pre-Depends and Depends, then Conflicts and Breaks, each with its field's name. */
  relations: Array<{ field: DependencySuspect['field']; text: string }>;
}

/** A virtual name provided by an installed package, with the provided version when it has one. */
interface Provided {
  by: Installed;
  version: string | null;
}

interface Relation {
  name: string;
  /** undefined (any arch by the plain rules), 'any', 'native' or an architecture. */
  arch: string | undefined;
  op: string | null;
  version: string | null;
}

/** dpkg states in which a package has a current version (apt's CurrentVer): all but these two. */
const NO_CURRENT_VERSION = new Set(['not-installed', 'config-files']);

/** One relation of an installed package that `apt-get check` would count as broken. */
export interface DependencySuspect {
  package: string;
  field: 'Depends' | 'Pre-Depends' | 'Conflicts' | 'Breaks' | 'Status';
  relation: string;
}

function fields(stanza: string): Map<string, string> {
  const out = new Map<string, string>();
  let key = '';
  for (const line of stanza.split('\n')) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (key) out.set(key, `${out.get(key)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    key = line.slice(0, colon).toLowerCase();
    out.set(key, line.slice(colon + 1).trim());
  }
  return out;
}

/** The packages of a dpkg status file that have a current version. */
export function installedPackages(status: string): Installed[] {
  const out: Installed[] = [];
  for (const stanza of status.split(/\n[ \t]*\n/)) {
    const f = fields(stanza);
    const name = f.get('package');
    const [, flag = '', state] = f.get('status')?.split(/\s+/) ?? [];
    if (!name || !state || NO_CURRENT_VERSION.has(state)) continue;
    const relations = (['Pre-Depends', 'Depends', 'Conflicts', 'Breaks'] as const).flatMap((field) => {
      const text = f.get(field.toLowerCase());
      return text ? [{ field, text }] : [];
    });
    out.push({
      name,
      version: f.get('version') ?? '',
      arch: f.get('architecture') ?? 'all',
      multiArch: f.get('multi-arch') ?? 'no',
      flag,
      state,
      provides: f.get('provides') ?? '',
      relations,
    });
  }
  return out;
}

const RELATION =
  /^([^\s:(]+)(?::(\S+))?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^\s)]+)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$/;

function parseRelation(text: string): Relation | null {
  const m = RELATION.exec(text.trim());
  if (!m) return null;
  return { name: m[1]!, arch: m[2], op: m[3] ?? null, version: m[4] ?? null };
}

/** Whether `version` satisfies `op wanted` (dpkg's relations; `<` and `>` are the old <= and >=). */
export function satisfies(version: string, op: string, wanted: string): boolean {
  const c = compareDebVersions(version, wanted);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
    case '<':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
    case '>':
      return c >= 0;
    case '>>':
      return c > 0;
    default:
      return false;
  }
}

/** The relation fields of one package as lists of alternatives. */
function splitField(text: string): string[][] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((group) => group.split('|').map((s) => s.trim()));
}

/**
 * Every installed package's Depends/Pre-Depends that no installed package (or Provides) meets,
 * and every Conflicts/Breaks that an installed package (or Provides) matches; a package whose
 * dpkg status says it must be reinstalled. `nativeArch` is dpkg's architecture (the `dpkg`
 * package's own, when not given); `foreignArchs` the others dpkg is configured for.
 */
export function dependencySuspects(
  status: string,
  nativeArch?: string,
  foreignArchs: readonly string[] = [],
): DependencySuspect[] {
  const foreign = new Set(foreignArchs);
  const pkgs = installedPackages(status);
  const native = nativeArch ?? pkgs.find((p) => p.name === 'dpkg')?.arch ?? 'amd64';
  const byName = new Map<string, Installed[]>();
  const provided = new Map<string, Provided[]>();
  for (const p of pkgs) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  for (const p of pkgs) {
    for (const text of splitField(p.provides).flat()) {
      const r = parseRelation(text);
      if (!r) continue;
      provided.set(r.name, [...(provided.get(r.name) ?? []), { by: p, version: r.op === '=' ? r.version : null }]);
    }
  }
  const archOf = (p: Installed) => (p.arch === 'all' ? native : p.arch);
  /** Whether `target` may satisfy a relation of `from` with this qualifier (strict where unsure). */
  const archFits = (from: Installed, target: Installed, qualifier: string | undefined): boolean => {
    const known = (a: string) => a === native || foreign.has(a);
    if (qualifier === 'any' && target.multiArch === 'allowed') return known(archOf(target));
    if (qualifier === 'native') return archOf(target) === native;
    if (qualifier && qualifier !== 'any') return archOf(target) === qualifier && known(qualifier);
    // Another architecture counts only where dpkg knows it (the admindir's arch file lists it):
    // apt ignores packages of architectures it is not configured for.
    const fits = (a: string) => a === archOf(from) || (target.multiArch === 'foreign' && foreign.has(a));
    return target.arch === 'all' || fits(archOf(target));
  };
  /** Installed packages (real or providing) that match the relation, seen from `from`. */
  const matching = (from: Installed, r: Relation, anyArch: boolean): Installed[] => {
    const out: Installed[] = [];
    for (const p of byName.get(r.name) ?? []) {
      // apt does not count a half-installed package as there for others' dependencies.
      if (!anyArch && p.state === 'half-installed') continue;
      if (!anyArch && !archFits(from, p, r.arch)) continue;
      if (r.op && r.version !== null && !satisfies(p.version, r.op, r.version)) continue;
      out.push(p);
    }
    for (const v of provided.get(r.name) ?? []) {
      if (!anyArch && v.by.state === 'half-installed') continue;
      if (!anyArch && !archFits(from, v.by, r.arch)) continue;
      // A versioned relation is met only by a versioned Provides; an unversioned one by any.
      if (r.op && r.version !== null && (v.version === null || !satisfies(v.version, r.op, r.version))) continue;
      out.push(v.by);
    }
    return out;
  };
  const out: DependencySuspect[] = [];
  for (const p of pkgs) {
    if (p.flag === 'reinstreq') out.push({ package: p.name, field: 'Status', relation: 'reinstall required' });
    for (const { field, text } of p.relations) {
      if (field === 'Depends' || field === 'Pre-Depends') {
        for (const group of splitField(text)) {
          const relations = group.map(parseRelation);
          // A relation we cannot read is a suspect: apt decides.
          const met = relations.every(Boolean) && relations.some((r) => matching(p, r!, false).length > 0);
          if (!met) out.push({ package: p.name, field, relation: group.join(' | ') });
        }
        continue;
      }
      for (const one of splitField(text).flat()) {
        const r = parseRelation(one);
        // Conflicts and Breaks reach every architecture of the named package; a package never conflicts with itself.
        const hit = !r || matching(p, r, true).some((q) => q !== p && q.name !== p.name);
        if (hit) out.push({ package: p.name, field, relation: one });
      }
    }
  }
  return out;
}
