/**
 * The seed's conditions (`When(condition)`, `OnSystemLoad`, `OnDiskUsage`): parsed from the
 * string form `condition:disk_usage:/var:90` or the YAML form `{ disk_usage: { path: /var,
 * percent: 90 } }` / `{ and: [...] }`, and evaluated through a Probe, which reads the host
 * (/proc, statfs, systemctl) under --root through the plugin's capabilities. A condition fires
 * a task on its rising edge only (schedule-planner.ts), so it is evaluated as a plain boolean here.
 */
import type { PluginContext } from 'cx-ops/sdk';

export type Condition =
  | { type: 'load'; above: number }
  | { type: 'disk_usage'; path: string; percent: number }
  | { type: 'memory'; percent: number }
  | { type: 'process'; name: string }
  | { type: 'file_exists'; path: string }
  | { type: 'service'; name: string }
  | { type: 'and'; all: Condition[] }
  | { type: 'or'; any: Condition[] };

/** What a condition reads of the host. */
export interface Probe {
  /** The 1-minute load average. */
  load(): Promise<number>;
  /** Percent of the file system holding `path` in use (as df counts it). */
  diskUsage(path: string): Promise<number>;
  /** Percent of memory in use (MemTotal - MemAvailable). */
  memoryUsage(): Promise<number>;
  processExists(name: string): Promise<boolean>;
  fileExists(path: string): Promise<boolean>;
  serviceRunning(name: string): Promise<boolean>;
}

export class ConditionError extends Error {}

const KINDS = 'load, disk_usage, memory, process, file_exists, service, and, or';
const num = (v: unknown, what: string): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new ConditionError(`${what} must be a number (found: ${JSON.stringify(v)})`);
  return n;
};
const percent = (v: unknown, what: string) => {
  const n = num(v, what);
  if (n > 100) throw new ConditionError(`${what} is a percentage, 0 to 100 (found: ${n})`);
  return n;
};
const absPath = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !v.startsWith('/'))
    throw new ConditionError(`${what} must be an absolute path (found: ${JSON.stringify(v)})`);
  return v;
};
const word = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !/^[A-Za-z0-9@._:+-]+$/.test(v))
    throw new ConditionError(`${what} must be a name (found: ${JSON.stringify(v)})`);
  return v;
};

/**
 * The string form: condition:load:0.8, condition:disk_usage:/var:90, condition:memory:90,
 * condition:process:NAME, condition:file_exists:/PATH, condition:service:NAME.
 */
function fromString(text: string): Condition {
  const [, kind = '', ...rest] = text.split(':');
  const arg = rest.join(':');
  switch (kind) {
    case 'load':
    case 'system_load':
      return { type: 'load', above: num(arg, `'${text}': the load`) };
    case 'disk_usage': {
      const at = arg.lastIndexOf(':');
      if (at < 0) throw new ConditionError(`'${text}': expected condition:disk_usage:PATH:PERCENT`);
      return {
        type: 'disk_usage',
        path: absPath(arg.slice(0, at), `'${text}': the path`),
        percent: percent(arg.slice(at + 1), `'${text}': the percentage`),
      };
    }
    case 'memory':
    case 'memory_usage':
      return { type: 'memory', percent: percent(arg, `'${text}': the percentage`) };
    case 'process':
      return { type: 'process', name: word(arg, `'${text}': the process`) };
    case 'file_exists':
      return { type: 'file_exists', path: absPath(arg, `'${text}': the path`) };
    case 'service':
      return { type: 'service', name: word(arg, `'${text}': the service`) };
    default:
      throw new ConditionError(`'${text}': unknown condition '${kind}' (known: ${KINDS})`);
  }
}

/** Parses a condition (string or YAML object); throws ConditionError saying what is wrong. */
export function parseCondition(raw: unknown): Condition {
  if (typeof raw === 'string') return fromString(raw.startsWith('condition:') ? raw : `condition:${raw}`);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || Object.keys(raw).length !== 1)
    throw new ConditionError(`a condition is one of ${KINDS} (found: ${JSON.stringify(raw)})`);
  const [kind, v] = Object.entries(raw as Record<string, unknown>)[0]!;
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  switch (kind) {
    case 'load':
      return { type: 'load', above: num(typeof v === 'object' ? o.above : v, 'load') };
    case 'disk_usage':
      return {
        type: 'disk_usage',
        path: absPath(o.path, 'disk_usage.path'),
        percent: percent(o.percent, 'disk_usage.percent'),
      };
    case 'memory':
      return { type: 'memory', percent: percent(typeof v === 'object' ? o.percent : v, 'memory') };
    case 'process':
      return { type: 'process', name: word(v, 'process') };
    case 'file_exists':
      return { type: 'file_exists', path: absPath(v, 'file_exists') };
    case 'service':
      return { type: 'service', name: word(v, 'service') };
    case 'and':
    case 'or': {
      if (!Array.isArray(v) || v.length < 2)
        throw new ConditionError(`${kind} takes a list of at least two conditions`);
      const parts = v.map(parseCondition);
      return kind === 'and' ? { type: 'and', all: parts } : { type: 'or', any: parts };
    }
    default:
      throw new ConditionError(`unknown condition '${kind}' (known: ${KINDS})`);
  }
}

/** The paths a condition measures (checked to exist when config.yaml is read, not at 3 a.m.). */
export function conditionPaths(c: Condition): string[] {
  if (c.type === 'disk_usage') return [c.path];
  if (c.type === 'and') return c.all.flatMap(conditionPaths);
  if (c.type === 'or') return c.any.flatMap(conditionPaths);
  return [];
}

/** Whether the condition holds now. */
export async function evaluateCondition(c: Condition, probe: Probe): Promise<boolean> {
  switch (c.type) {
    case 'load':
      return (await probe.load()) > c.above;
    case 'disk_usage':
      return (await probe.diskUsage(c.path)) >= c.percent;
    case 'memory':
      return (await probe.memoryUsage()) >= c.percent;
    case 'process':
      return probe.processExists(c.name);
    case 'file_exists':
      return probe.fileExists(c.path);
    case 'service':
      return probe.serviceRunning(c.name);
    case 'and':
      for (const p of c.all) if (!(await evaluateCondition(p, probe))) return false;
      return true;
    case 'or':
      for (const p of c.any) if (await evaluateCondition(p, probe)) return true;
      return false;
  }
}

/** The host as ctx.fs shows it (rooted at --root) and systemctl, read-only. */
export function hostProbe(ctx: PluginContext<unknown>): Probe {
  return {
    async load() {
      return Number((await ctx.fs.readFile('/proc/loadavg')).split(/\s+/)[0]);
    },
    async diskUsage(path) {
      const s = await ctx.fs.statfs(path);
      const used = s.total - s.free;
      // As df: used / (used + available), the root-reserved blocks not counted as usable.
      return used + s.available > 0 ? (used / (used + s.available)) * 100 : 0;
    },
    async memoryUsage() {
      const text = await ctx.fs.readFile('/proc/meminfo');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
      const total = kb('MemTotal');
      return total > 0 ? ((total - kb('MemAvailable')) / total) * 100 : 0;
    },
    async processExists(name) {
      for (const e of await ctx.fs.readDir('/proc')) {
        if (!/^\d+$/.test(e.name)) continue;
        const comm = await ctx.fs.readFile(`/proc/${e.name}/comm`).catch(() => '');
        if (comm.trim() === name) return true;
      }
      return false;
    },
    async fileExists(path) {
      return (await ctx.fs.lstat(path)) !== null;
    },
    async serviceRunning(name) {
      const r = await ctx.exec.run('systemctl', ['is-active', '--quiet', name], { readOnly: true, timeoutMs: 10_000 });
      return r.exitCode === 0;
    },
  };
}
