/**
 * memory and swap_usage, both from /proc/meminfo. A host without swap has no swap problem:
 * swap_usage then passes and says so.
 */
import { defineCheck, error, grade, pass, readIfExists, skip, type PluginContext } from 'cx-ops/sdk';
import type { ChecksConfig, PercentThresholds } from './config.js';
import { parseMeminfo } from './procfs.js';
import { round1, thresholdProblem } from './thresholds.js';

const MB = 1024;

/** RAM use: what is not available to new work (MemAvailable, or free + buffers + cache on old kernels). */
export function memoryUsage(info: Record<string, number>): { total_mb: number; available_mb: number; used_percent: number } | null {
  const total = info.MemTotal;
  if (!total) return null;
  const available = info.MemAvailable ?? (info.MemFree ?? 0) + (info.Buffers ?? 0) + (info.Cached ?? 0);
  return { total_mb: round1(total / MB), available_mb: round1(available / MB), used_percent: round1(((total - available) / total) * 100) };
}

/** Swap use, or null when no swap is configured. */
export function swapUsage(info: Record<string, number>): { total_mb: number; used_mb: number; used_percent: number } | null {
  const total = info.SwapTotal ?? 0;
  if (total <= 0) return null;
  const used = total - (info.SwapFree ?? 0);
  return { total_mb: round1(total / MB), used_mb: round1(used / MB), used_percent: round1((used / total) * 100) };
}

async function meminfo(ctx: PluginContext<unknown>): Promise<Record<string, number> | null> {
  const text = await readIfExists(ctx.fs, '/proc/meminfo');
  return text === null ? null : parseMeminfo(text);
}

function graded(env: { configDir: string }, section: string, t: PercentThresholds, value: number) {
  const problem = thresholdProblem(env, section, 'warn_percent', t.warn_percent, 'fail_percent', t.fail_percent);
  if (problem) return { problem } as const;
  return { status: grade(value, { warn: t.warn_percent, fail: t.fail_percent }) } as const;
}

export const memoryCheck = defineCheck({
  id: 'memory',
  name: 'Memory',
  description: 'RAM utilization (memory not available to new work)',
  category: 'memory',
  severity: 'high',
  async run(ctx: PluginContext<ChecksConfig>) {
    const info = await meminfo(ctx);
    if (!info) return skip('/proc/meminfo not found on this host');
    const u = memoryUsage(info);
    if (!u) return error('/proc/meminfo has no MemTotal line');
    const g = graded(ctx.env, 'memory', ctx.config.memory, u.used_percent);
    if ('problem' in g) return { ...error(g.problem!), fix_id: null };
    return { status: g.status, message: `${u.used_percent}% of ${round1(u.total_mb / 1024)} GB in use (${round1(u.available_mb / 1024)} GB available)`, details: { ...u, ...ctx.config.memory } };
  },
});

export const swapCheck = defineCheck({
  id: 'swap_usage',
  name: 'Swap Usage',
  description: 'Swap utilization (no swap configured is not a problem)',
  category: 'memory',
  severity: 'medium',
  async run(ctx: PluginContext<ChecksConfig>) {
    const info = await meminfo(ctx);
    if (!info) return skip('/proc/meminfo not found on this host');
    const u = swapUsage(info);
    if (!u) return pass('no swap configured', { total_mb: 0 });
    const g = graded(ctx.env, 'swap_usage', ctx.config.swap_usage, u.used_percent);
    if ('problem' in g) return { ...error(g.problem!), fix_id: null };
    return { status: g.status, message: `${u.used_percent}% of ${u.total_mb} MB swap in use`, details: { ...u, ...ctx.config.swap_usage } };
  },
});
