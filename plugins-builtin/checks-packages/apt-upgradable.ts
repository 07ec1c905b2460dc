/**
 * The upgradable packages, computed from the package lists and the dpkg status directly, without
 * apt building its package cache (on a host whose pkgcache is disabled, apt rebuilds it on every
 * run: about 0.6 s). Each list is read once per run, by the pass it shares with the apt diagnosis
 * (apt/list-pass.ts: apt's own `apt-helper cat-file`, cut by grep to the fields read, kept per list
 * file while its size and mtime hold), scanned for the installed packages only, and versions are
 * compared as dpkg does.
 *
 * The answer matches `apt list --upgradable` for apt's default policy: every source at priority
 * 500, installed versions never downgraded. Where the host configures something that changes
 * the policy (pin preferences, a default release, NotAutomatic archives, phased updates) or the
 * lists cannot be read this way, it says so and the caller runs apt itself.
 */
import { mapLimit, type PluginContext } from 'cx-ops/sdk';
import { APT_HELPER, listPass } from '../apt/list-pass.js';
import type { UpgradableLine } from './apt-parse.js';
import { compareDebVersions } from './deb-version.js';

export type ListsAnswer = { ok: true; lines: UpgradableLine[] } | { ok: false; fallback: string };

interface Installed {
  name: string;
  arch: string;
  version: string;
}

interface Candidate {
  version: string;
  arch: string;
  suites: string[];
}

/** Files apt reads from a `.d` directory (others, like `x.dpkg-old`, it ignores). */
function aptReads(name: string, ext: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name) && (name.endsWith(ext) || (ext === '.pref' && !name.includes('.')));
}

async function readIfPresent(ctx: PluginContext<unknown>, path: string): Promise<string | null> {
  return (await ctx.fs.stat(path)) ? ctx.fs.readFile(path) : null;
}

/**
 * Whether a pin stanza of apt_preferences(5) can change a candidate here. It cannot when it
 * names only packages that are not installed (only installed packages are upgradable), or pins
 * by the origin of a server that no package list comes from. Anything else may.
 */
export function pinMatters(stanza: string, installedNames: Set<string>, listNames: string[]): boolean {
  const pkgs = /^Package:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
  const pin = /^Pin:\s*(.+)$/im.exec(stanza)?.[1]?.trim() ?? '';
  if (pkgs.length && pkgs.every((p) => /^[a-z0-9][a-z0-9+.-]*$/.test(p) && !installedNames.has(p))) return false;
  const origin = /^origin\s+"?([^"\s]*)"?$/.exec(pin)?.[1];
  if (
    origin !== undefined &&
    origin !== '' &&
    !listNames.some((n) => n.startsWith(`${origin}_`) || n.startsWith(`${origin}:`) || n.startsWith(`${origin}%3a`))
  )
    return false;
  return true;
}

/** Why apt's default policy may not hold on this host, or null. */
async function policyChange(
  ctx: PluginContext<unknown>,
  installedNames: Set<string>,
  listNames: string[],
): Promise<string | null> {
  const etc = '/etc/apt';
  const prefFiles = [`${etc}/preferences`];
  for (const [dir, ext] of [
    ['preferences.d', '.pref'],
    ['apt.conf.d', ''],
  ] as const) {
    const entries = (await ctx.fs.stat(`${etc}/${dir}`)) ? await ctx.fs.readDir(`${etc}/${dir}`) : [];
    for (const e of entries) {
      if (e.type !== 'file' || !aptReads(e.name, ext)) continue;
      if (dir === 'preferences.d') {
        prefFiles.push(`${etc}/${dir}/${e.name}`);
        continue;
      }
      const text = await ctx.fs.readFile(`${etc}/${dir}/${e.name}`);
      if (/Default-Release|Dir::State|Phased/i.test(text))
        return `${ctx.fs.diskPath(`${etc}/${dir}/${e.name}`)} changes apt's policy or paths`;
    }
  }
  const conf = await readIfPresent(ctx, `${etc}/apt.conf`);
  if (conf && /Default-Release|Dir::State|Phased/i.test(conf))
    return `${ctx.fs.diskPath(`${etc}/apt.conf`)} changes apt's policy or paths`;
  for (const file of prefFiles) {
    const text = await readIfPresent(ctx, file);
    if (!text) continue;
    const stanzas = text
      .replace(/^\s*#.*$/gm, '')
      .split(/\n\s*\n/)
      .filter((st) => st.trim());
    if (stanzas.some((st) => pinMatters(st, installedNames, listNames)))
      return `${ctx.fs.diskPath(file)} pins packages apt could upgrade`;
  }
  return null;
}

/**
 * The sources file or directory edited after the lists were last updated, if any. Until the next
 * `apt update` the lists may hold archives the sources no longer name, which apt ignores (and
 * `apt update` removes); apt itself tells which.
 */
async function sourcesEditedSince(ctx: PluginContext<unknown>, listsMtimeMs: number): Promise<string | null> {
  const file = '/etc/apt/sources.list';
  const dir = '/etc/apt/sources.list.d';
  const paths = [file, dir];
  if (await ctx.fs.stat(dir))
    paths.push(...(await ctx.fs.readDir(dir)).filter((e) => e.type === 'file').map((e) => `${dir}/${e.name}`));
  for (const path of paths) {
    const st = await ctx.fs.stat(path);
    if (st && st.mtimeMs > listsMtimeMs) return path;
  }
  return null;
}

/** Installed packages by `name:arch` (arch `all` counts as the native architecture, as in apt). */
export function installedPackages(status: string, native: string): Map<string, Installed> {
  const out = new Map<string, Installed>();
  for (const stanza of status.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
    const state = /^Status:\s*\S+\s+\S+\s+(\S+)/m.exec(stanza)?.[1];
    const arch = /^Architecture:\s*(\S+)/m.exec(stanza)?.[1] ?? native;
    if (!name || !version || !state || state === 'not-installed' || state === 'config-files') continue;
    out.set(`${name}:${arch === 'all' ? native : arch}`, { name, arch, version });
  }
  return out;
}

/** A field's value ("Version", ...) in one stanza (which starts with "\n"), or undefined. */
function field(stanza: string, name: string): string | undefined {
  const at = stanza.indexOf(`\n${name}: `);
  if (at < 0) return undefined;
  const end = stanza.indexOf('\n', at + name.length + 3);
  return stanza.slice(at + name.length + 3, end < 0 ? stanza.length : end).trim();
}

/**
 * Scans one Packages file for versions of installed packages newer than installed, keeping the
 * newest per `name:arch` in `best` (with every suite that carries it). `names`: the installed
 * packages' names, to skip the other stanzas cheaply.
 */
export function scanPackages(
  text: string,
  suite: string,
  native: string,
  installed: Map<string, Installed>,
  names: Set<string>,
  best: Map<string, Candidate>,
): { phased: string | null } {
  let phased: string | null = null;
  let at = text.startsWith('Package: ') ? 0 : text.indexOf('\nPackage: ');
  while (at >= 0) {
    const start = text[at] === '\n' ? at + 1 : at;
    const eol = text.indexOf('\n', start);
    const next = text.indexOf('\nPackage: ', eol < 0 ? text.length : eol);
    const end = next < 0 ? text.length : next;
    const name = text.slice(start + 9, eol < 0 ? text.length : eol).trim();
    at = next;
    if (!names.has(name)) continue;
    // From the newline before its "Package:" line, so `field` finds "\nVersion: " and the like.
    const stanza = text.slice(Math.max(0, start - 1), end);
    const arch = field(stanza, 'Architecture') ?? native;
    const key = `${name}:${arch === 'all' ? native : arch}`;
    const mine = installed.get(key);
    if (!mine) continue;
    const version = field(stanza, 'Version');
    if (!version || compareDebVersions(version, mine.version) <= 0) continue;
    const held = best.get(key);
    const cmp = held ? compareDebVersions(version, held.version) : 1;
    if (cmp > 0) best.set(key, { version, arch, suites: [suite] });
    else if (cmp === 0 && held && !held.suites.includes(suite)) held.suites.push(suite);
    if (field(stanza, 'Phased-Update-Percentage') !== undefined) phased = name;
  }
  return { phased };
}

/** The Release fields apt's policy and `apt list` use. */
export function releaseInfo(text: string): { suite?: string; notAutomatic: boolean } {
  return {
    suite: /^Suite:\s*(\S+)/m.exec(text)?.[1],
    notAutomatic: /^NotAutomatic:\s*yes\s*$/im.test(text),
  };
}

const PACKAGES_FILE = /_Packages(\.(?:lz4|gz|xz|zst|bz2|lzma))?$/;

/** Computes what `apt list --upgradable` would print, or why it cannot here. */
export async function upgradableFromLists(ctx: PluginContext<unknown>): Promise<ListsAnswer> {
  if (!(await ctx.localFs.stat(APT_HELPER))) return { ok: false, fallback: `${APT_HELPER} is not installed` };
  const listsDir = '/var/lib/apt/lists';
  const names = (await ctx.fs.readDir(listsDir)).filter((e) => e.type === 'file').map((e) => e.name);
  const releases = names.filter((n) => n.endsWith('_InRelease') || n.endsWith('_Release'));
  const lists = names.filter((n) => PACKAGES_FILE.test(n)).sort();
  // The lists are read (in other processes, two at a time) while the rest is looked at: the
  // read of the big list is the long pole of a cold run. Where a fallback below sends the check
  // to apt, that read was in vain (and is kept for the diagnosis).
  const reading = mapLimit(lists, 2, (list) => listPass(ctx, ctx.fs.diskPath(`${listsDir}/${list}`)));
  reading.catch(() => undefined);

  const arch = await ctx.exec.run('dpkg', ['--print-architecture'], { timeoutMs: 10_000, readOnly: true });
  const native = arch.stdout.trim();
  if (arch.exitCode !== 0 || !native) return { ok: false, fallback: 'dpkg --print-architecture failed' };
  const edited = await sourcesEditedSince(ctx, (await ctx.fs.stat(listsDir))?.mtimeMs ?? 0);
  if (edited) return { ok: false, fallback: `${ctx.fs.diskPath(edited)} changed after the last apt update` };
  const installed = installedPackages(await ctx.fs.readFile('/var/lib/dpkg/status'), native);
  const installedNames = new Set([...installed.values()].map((p) => p.name));
  const policy = await policyChange(ctx, installedNames, lists);
  if (policy) return { ok: false, fallback: policy };

  // Each Packages file belongs to the Release file with the longest common prefix
  // ("host_dists_bookworm_" + "main_binary-amd64_Packages"; flat repositories: "host_._").
  const prefixes = [...new Set(releases.map((r) => r.replace(/(In)?Release$/, '')))].sort(
    (a, b) => b.length - a.length,
  );
  const suiteOfRelease = new Map<string, string>();
  const suiteOf = new Map<string, string>();
  for (const list of lists) {
    const owner = prefixes.find((prefix) => list.startsWith(prefix));
    if (owner === undefined)
      return { ok: false, fallback: `no Release file for ${ctx.fs.diskPath(`${listsDir}/${list}`)}` };
    const file = releases.includes(`${owner}InRelease`) ? `${owner}InRelease` : `${owner}Release`;
    if (!suiteOfRelease.has(file)) {
      const info = releaseInfo(await ctx.fs.readFile(`${listsDir}/${file}`));
      if (!info.suite) return { ok: false, fallback: `${ctx.fs.diskPath(`${listsDir}/${file}`)} names no Suite` };
      if (info.notAutomatic)
        return {
          ok: false,
          fallback: `${ctx.fs.diskPath(`${listsDir}/${file}`)} is a NotAutomatic archive (pinned below the others)`,
        };
      suiteOfRelease.set(file, info.suite);
    }
    suiteOf.set(list, suiteOfRelease.get(file)!);
  }

  const passes = await reading;
  const best = new Map<string, Candidate>();
  for (const [i, list] of lists.entries()) {
    const pass = passes[i]!;
    if (!pass.ok) return { ok: false, fallback: `apt-helper could not read ${ctx.fs.diskPath(`${listsDir}/${list}`)}` };
    const { phased } = scanPackages(pass.fields, suiteOf.get(list)!, native, installed, installedNames, best);
    if (phased) return { ok: false, fallback: `${phased} has a phased update` };
  }

  const lines: UpgradableLine[] = [];
  for (const [key, c] of best) {
    const mine = installed.get(key)!;
    lines.push({
      name: mine.name,
      suites: c.suites,
      candidate: c.version,
      arch: c.arch,
      current: mine.version,
      security: c.suites.some((s) => /security/i.test(s)),
    });
  }
  lines.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : 1));
  return { ok: true, lines };
}
