/**
 * The apt-based checks' answer cache: apt and dpkg answers are kept in the plugin's cache
 * directory, keyed on the names, sizes and mtimes of /var/lib/apt/lists/*, /var/lib/dpkg/status
 * (+ updates/) and the sources and pinning files, so a warm doctor run does not start apt at all.
 */
import { compareCodeUnits, mapLimit, type PluginContext } from 'cx-ops/sdk';

/**
 * Both apt checks start together in a doctor run: one fingerprint in flight per root is shared.
 * A finished one is never reused (a fix may have changed the files before the check runs again).
 */
const inFlight = new Map<string, Promise<string | null>>();

/** What apt's answers depend on, as one string; null when the host has no dpkg status file. */
export function aptFingerprint(ctx: PluginContext<unknown>): Promise<string | null> {
  let p = inFlight.get(ctx.env.root);
  if (!p) {
    p = takeFingerprint(ctx).finally(() => inFlight.delete(ctx.env.root));
    inFlight.set(ctx.env.root, p);
  }
  return p;
}

async function takeFingerprint(ctx: PluginContext<unknown>): Promise<string | null> {
  const status = await ctx.fs.stat('/var/lib/dpkg/status');
  if (!status) return null;
  const parts: string[] = [`root=${ctx.env.root}`, `status:${status.size}:${status.mtimeMs}`];
  // Sources and pinning decide which lists apt reads and which candidate wins.
  for (const file of ['/etc/apt/sources.list', '/etc/apt/preferences']) {
    const st = await ctx.fs.stat(file);
    if (st) parts.push(`${file}:${st.size}:${st.mtimeMs}`);
  }
  for (const dir of [
    '/var/lib/apt/lists',
    '/var/lib/dpkg/updates',
    '/etc/apt/sources.list.d',
    '/etc/apt/preferences.d',
  ]) {
    const path = dir;
    const st = await ctx.fs.stat(path);
    if (!st) continue;
    parts.push(`${dir}:${st.mtimeMs}`);
    const entries = (await ctx.fs.readDir(path))
      .filter((e) => e.type === 'file' && e.name !== 'lock')
      .sort((a, b) => compareCodeUnits(a.name, b.name)); // not localeCompare: no ICU data in the daemon
    const stats = await mapLimit(entries, 8, (e) => ctx.fs.stat(`${path}/${e.name}`));
    entries.forEach((e, i) => parts.push(`${e.name}:${stats[i]?.size ?? -1}:${stats[i]?.mtimeMs ?? -1}`));
  }
  return parts.join('\n');
}

/**
 * The cached value for `name` when its fingerprint matches, else computes, stores and returns
 * it. A cache that cannot be read or written is simply not used.
 */
export function cachedAnswer<T>(
  ctx: PluginContext<unknown>,
  name: string,
  fp: string,
  compute: () => Promise<T>,
): Promise<Answer<T>> {
  // A check cut off by its time limit leaves its computation running; the next run with the same
  // fingerprint (the daemon's next cycle) waits for that one instead of starting a second.
  const key = `${name}\n${fp}`;
  let p = computing.get(key) as Promise<Answer<T>> | undefined;
  if (!p) {
    p = answer(ctx, name, fp, compute).finally(() => computing.delete(key));
    computing.set(key, p);
  }
  return p;
}

const computing = new Map<string, Promise<unknown>>();

type Answer<T> = { value: T; cached: boolean };

async function answer<T>(
  ctx: PluginContext<unknown>,
  name: string,
  fingerprint: string,
  compute: () => Promise<T>,
): Promise<Answer<T>> {
  const file = `${ctx.env.cacheDir}/${name}.json`;
  try {
    if (await ctx.localFs.stat(file)) {
      const stored = JSON.parse(await ctx.localFs.readFile(file)) as { fingerprint?: string; value?: T };
      if (stored.fingerprint === fingerprint && stored.value !== undefined)
        return { value: stored.value, cached: true };
    }
  } catch {
    /* unreadable cache: recompute */
  }
  const value = await compute();
  try {
    if (!(await ctx.localFs.stat(ctx.env.cacheDir))) await ctx.localFs.mkdir(ctx.env.cacheDir);
    await ctx.localFs.writeFile(file, JSON.stringify({ fingerprint, value, created: new Date().toISOString() }));
  } catch (e) {
    ctx.log.debug(`could not write the apt answer cache ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { value, cached: false };
}
