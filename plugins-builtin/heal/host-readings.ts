/**
 * What the detectors read from the host, through the rooted host view (ctx.fs: under --root R,
 * /proc/stat is R/proc/stat) and the services plugin's service managers. The parsers are pure;
 * CPU % comes from the difference of two /proc/stat samples (the previous cycle's is kept in the
 * state), never from one read.
 */
import type { PluginContext } from 'cx-ops/sdk';
import { cpuCount } from '../checks-system/cpu-load.js';
import { realMountPoints, usageFromStatfs } from '../checks-system/disk-space.js';
import { memoryUsage } from '../checks-system/memory.js';
import { parseLoadavg } from '../checks-system/procfs.js';
import { askServiceManager, serviceManagerKind, type ServiceStatus } from '../services/service-manager-contract.js';
import { doctorReadings } from './doctor-feed.js';
import type { HealConfig, Reading } from './heal-types.js';

/** Jiffies of the aggregate `cpu` line of /proc/stat: all of them, and the idle ones (idle + iowait). */
export interface CpuTimes {
  total: number;
  idle: number;
}

/** The `cpu` line of /proc/stat (guest time is already in user time, so it is not added again). */
export function parseCpuTimes(text: string): CpuTimes | null {
  const line = text.slice(0, text.indexOf('\n') >>> 0);
  if (!line.startsWith('cpu ')) return null;
  const f = line.slice(4).trim().split(/\s+/).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return null;
  let total = 0;
  for (let i = 0; i < Math.min(f.length, 8); i++) total += f[i]!;
  return { total, idle: f[3]! + (f[4] ?? 0) };
}

/** CPU busy % between two samples; null when no time passed (or the counters went back: a reboot). */
export function cpuPercent(prev: CpuTimes | undefined, cur: CpuTimes | null): number | null {
  if (!prev || !cur) return null;
  const dt = cur.total - prev.total;
  const di = cur.idle - prev.idle;
  if (dt <= 0 || di < 0) return null;
  return Math.round(((dt - di) / dt) * 1000) / 10;
}

/** The services to watch, as [manager or null, name]: `supervisord/web` names its manager. */
export function watchedServices(cfg: HealConfig): Array<[string | null, string]> {
  return cfg.services.names.map((n) => {
    const slash = n.indexOf('/');
    return slash > 0 ? [n.slice(0, slash), n.slice(slash + 1)] : [null, n];
  });
}

/** How long a service manager's availability is trusted (detecting supervisord runs supervisorctl). */
const DETECT_TTL_MS = 30_000;
const detected = new Map<string, { at: number; available: boolean; reason?: string }>();

async function availability(ctx: PluginContext<unknown>, id: string, now: number) {
  const key = `${ctx.env.root}\0${id}`;
  const known = detected.get(key);
  if (known && now - known.at < DETECT_TTL_MS) return known;
  const a = await askServiceManager(ctx, id, { op: 'detect' }).catch((e: unknown) => ({
    available: false,
    reason: e instanceof Error ? e.message : String(e),
  }));
  const got = { at: now, available: a.available, ...(a.reason ? { reason: a.reason } : {}) };
  detected.set(key, got);
  return got;
}

/**
 * Reads the watched services through the available service managers (the first that knows
 * one): one `list` per manager a cycle, `status` only for a name the list does not have.
 */
export async function readServices(ctx: PluginContext<unknown>, cfg: HealConfig, now = Date.now()): Promise<Reading[]> {
  const watched = watchedServices(cfg);
  if (!watched.length) return [];
  const known = (await ctx.registry.list(serviceManagerKind).catch(() => [])).sort((a, b) => a.id.localeCompare(b.id));
  const available: string[] = [];
  const why: string[] = [];
  for (const m of known) {
    const a = await availability(ctx, m.id, now);
    if (a.available) available.push(m.id);
    else why.push(`${m.id}: ${a.reason ?? 'not available'}`);
  }
  const lists = new Map<string, Promise<ServiceStatus[]>>();
  const listOf = (m: string) => {
    let l = lists.get(m);
    if (!l) lists.set(m, (l = askServiceManager(ctx, m, { op: 'list' }).catch(() => [])));
    return l;
  };
  const out: Reading[] = [];
  for (const [manager, name] of watched) {
    const candidates = manager ? available.filter((m) => m === manager) : available;
    let reading: Reading | undefined;
    for (const m of candidates) {
      const s =
        (await listOf(m)).find((x) => x.name === name) ??
        (await askServiceManager(ctx, m, { op: 'status', name }).catch(() => null));
      if (!s || s.state === 'unknown') continue;
      const up = s.state === 'running' || s.state === 'starting';
      reading = { detector: 'service', component: name, value: up ? 0 : 1, detail: s.detail, manager: m };
      break;
    }
    out.push(
      reading ?? {
        detector: 'service',
        component: name,
        value: 1,
        detail: manager
          ? known.some((k) => k.id === manager)
            ? `its service manager '${manager}' is not available (${why.find((w) => w.startsWith(`${manager}:`)) ?? 'not detected'})`
            : `no service manager '${manager}' is registered (known: ${known.map((k) => k.id).join(', ') || 'none'})`
          : `no available service manager knows it${why.length ? ` (${why.join('; ')})` : ''}`,
        ...(manager ? { manager } : {}),
      },
    );
  }
  return out;
}

/** The /proc/meminfo fields memoryUsage reads. */
const MEM_FIELDS = ['MemTotal', 'MemAvailable', 'MemFree', 'Buffers', 'Cached'];

/**
 * The fields memoryUsage reads from /proc/meminfo text (kB), as parseMeminfo reads them: a cycle
 * looks up five of its fifty-odd lines instead of matching every one.
 */
export function memFields(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of MEM_FIELDS) {
    const head = `${key}:`;
    const line = text.startsWith(head) ? 0 : text.indexOf(`\n${head}`);
    if (line < 0) continue;
    const at = text.startsWith(head) ? head.length : line + 1 + head.length;
    const end = text.indexOf('\n', at);
    const m = /^\s+(\d+)(?:\s+kB)?\s*$/.exec(text.slice(at, end < 0 ? undefined : end));
    if (m) out[key] = Number(m[1]);
  }
  return out;
}

/** The last mount table seen and its real mount points (the table is the same text cycle after cycle). */
let lastMounts: { text: string; points: string[] } | null = null;

function mountPointsOf(text: string): string[] {
  if (lastMounts?.text !== text) lastMounts = { text, points: realMountPoints(text) };
  return lastMounts.points;
}

/** The kernel files every cycle reads (and /proc/mounts when no mounts are configured). */
const PROC_FILES = ['/proc/stat', '/proc/meminfo', '/proc/loadavg'];

/** One cycle's readings of the host, and the /proc/stat sample for the next cycle's CPU %. */
export async function readHost(
  ctx: PluginContext<unknown>,
  cfg: HealConfig,
  prevCpu: CpuTimes | undefined,
): Promise<{ readings: Reading[]; cpu: CpuTimes | null }> {
  // One capability call for the kernel files (a file that is missing or unreadable is not judged this cycle).
  const files = await ctx.fs
    .readSmallFiles(cfg.mounts.length ? PROC_FILES : [...PROC_FILES, '/proc/mounts'])
    .catch(() => []);
  const [stat, meminfo, loadavg, mounts] = [0, 1, 2, 3].map((i) => files[i]?.text ?? null);
  const cpu = stat === null ? null : parseCpuTimes(stat);
  const readings: Reading[] = [{ detector: 'cpu', component: 'cpu', value: cpuPercent(prevCpu, cpu) }];
  const mem = meminfo === null ? null : memoryUsage(memFields(meminfo));
  readings.push({ detector: 'memory', component: 'memory', value: mem ? mem.used_percent : null });
  if (loadavg !== null) {
    const { load1 } = parseLoadavg(loadavg);
    const cores = cfg.thresholds.load.per_core ? await cpuCount(ctx) : null;
    readings.push({
      detector: 'load',
      component: 'load',
      value: cores ? Math.round((load1 / cores) * 100) / 100 : load1,
      ...(cores ? { detail: `per core (${load1} over ${cores} CPUs)` } : {}),
    });
  }
  const points = cfg.mounts.length ? cfg.mounts : mounts === null ? [] : mountPointsOf(mounts);
  // One call for every mount: a local one is answered at once, a remote one within its timeout.
  const sizes = points.length ? await ctx.fs.statfsMany(points).catch(() => []) : [];
  points.forEach((mount, i) => {
    const s = sizes[i]?.statfs;
    readings.push({ detector: 'disk', component: mount, value: s ? usageFromStatfs(mount, s).used_percent : null });
  });
  readings.push(...(await readServices(ctx, cfg)));
  readings.push(...doctorReadings(new Set(watchedServices(cfg).map(([, name]) => name))));
  return { readings, cpu };
}
