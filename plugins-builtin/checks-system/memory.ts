/**
 * memory and swap_usage, both from /proc/meminfo. A host without swap has no swap problem:
 * swap_usage then passes and says so.
 */
import { checkPreamble, defineCheck, error, grade, pass, type PluginContext, type ThresholdPair } from 'cx-ops/sdk';
import type { ChecksConfig, PercentThresholds } from './config.js';
import { parseMeminfo } from './procfs.js';
import { round1 } from './round1.js';

const MB = 1024;

/** RAM use: what is not available to new work (MemAvailable, or free + buffers + cache on old kernels). */
export function memoryUsage(
  info: Record<string, number>,
): { total_mb: number; available_mb: number; used_percent: number } | null {
  const total = info.MemTotal;
  if (!total) return null;
  const available = info.MemAvailable ?? (info.MemFree ?? 0) + (info.Buffers ?? 0) + (info.Cached ?? 0);
  return {
    total_mb: round1(total / MB),
    available_mb: round1(available / MB),
    used_percent: round1(((total - available) / total) * 100),
  };
}

/** Swap use, or null when no swap is configured. */
export function swapUsage(
  info: Record<string, number>,
): { total_mb: number; used_mb: number; used_percent: number } | null {
  const total = info.SwapTotal ?? 0;
  if (total <= 0) return null;
  const used = total - (info.SwapFree ?? 0);
  return { total_mb: round1(total / MB), used_mb: round1(used / MB), used_percent: round1((used / total) * 100) };
}

const percentPair = (section: string, t: PercentThresholds): ThresholdPair => ({
  section: `checks.${section}`,
  warn: ['warn_percent', t.warn_percent],
  fail: ['fail_percent', t.fail_percent],
});
const graded = (t: PercentThresholds, value: number) => grade(value, { warn: t.warn_percent, fail: t.fail_percent });

export const memoryCheck = defineCheck({
  id: 'memory',
  name: 'Memory',
  description: 'RAM utilization (memory not available to new work)',
  category: 'memory',
  severity: 'high',
  async run(ctx: PluginContext<ChecksConfig>) {
    const pre = await checkPreamble(ctx, {
      thresholds: [percentPair('memory', ctx.config.memory)],
      source: '/proc/meminfo',
    });
    if (pre.outcome) return pre.outcome;
    const u = memoryUsage(parseMeminfo(pre.text));
    if (!u) return error('/proc/meminfo has no MemTotal line');
    return {
      status: graded(ctx.config.memory, u.used_percent),
      message: `${u.used_percent}% of ${round1(u.total_mb / 1024)} GiB in use (${round1(u.available_mb / 1024)} GiB available)`,
      details: { ...u, ...ctx.config.memory },
    };
  },
});

export const swapCheck = defineCheck({
  id: 'swap_usage',
  name: 'Swap Usage',
  description: 'Swap utilization (no swap configured is not a problem)',
  category: 'memory',
  severity: 'medium',
  async run(ctx: PluginContext<ChecksConfig>) {
    const pre = await checkPreamble(ctx, {
      thresholds: [percentPair('swap_usage', ctx.config.swap_usage)],
      source: '/proc/meminfo',
    });
    if (pre.outcome) return pre.outcome;
    const u = swapUsage(parseMeminfo(pre.text));
    if (!u) return pass('no swap configured', { total_mb: 0 });
    return {
      status: graded(ctx.config.swap_usage, u.used_percent),
      message: `${u.used_percent}% of ${u.total_mb} MB swap in use`,
      details: { ...u, ...ctx.config.swap_usage },
    };
  },
});
