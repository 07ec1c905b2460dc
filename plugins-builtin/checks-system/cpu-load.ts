/** cpu_load: the load average per logical CPU, over the configured window (1, 5 or 15 minutes). */
import { checkPreamble, defineCheck, error, grade, readIfExists, type PluginContext } from 'cx-ops/sdk';
import type { ChecksConfig } from './config.js';
import { countCpuinfoProcessors, parseCpuList, parseLoadavg } from './procfs.js';
import { round1 } from './round1.js';

/** Logical CPUs of the host: /sys/devices/system/cpu/online, else /proc/cpuinfo. */
export async function cpuCount(ctx: PluginContext<unknown>): Promise<number | null> {
  const online = await readIfExists(ctx.fs, '/sys/devices/system/cpu/online');
  if (online !== null && online.trim()) return parseCpuList(online);
  const cpuinfo = await readIfExists(ctx.fs, '/proc/cpuinfo');
  const n = cpuinfo === null ? 0 : countCpuinfoProcessors(cpuinfo);
  return n > 0 ? n : null;
}

export const cpuLoadCheck = defineCheck({
  id: 'cpu_load',
  name: 'CPU Load',
  description: 'Load average per CPU core',
  category: 'performance',
  severity: 'medium',
  async run(ctx: PluginContext<ChecksConfig>) {
    const cfg = ctx.config.cpu_load;
    const pre = await checkPreamble(ctx, {
      thresholds: [
        {
          section: 'checks.cpu_load',
          warn: ['warn_per_core', cfg.warn_per_core],
          fail: ['fail_per_core', cfg.fail_per_core],
        },
      ],
      source: '/proc/loadavg',
    });
    if (pre.outcome) return pre.outcome;
    const load = parseLoadavg(pre.text);
    const cores = await cpuCount(ctx);
    if (!cores)
      return error('cannot tell the number of CPUs: neither /sys/devices/system/cpu/online nor /proc/cpuinfo says');
    const value = cfg.window === 1 ? load.load1 : cfg.window === 15 ? load.load15 : load.load5;
    const perCore = Math.round((value / cores) * 100) / 100;
    return {
      status: grade(perCore, { warn: cfg.warn_per_core, fail: cfg.fail_per_core }),
      message: `load ${value} over ${cfg.window} min on ${cores} CPU${cores === 1 ? '' : 's'} (${perCore} per core)`,
      details: {
        ...load,
        cpus: cores,
        per_core: perCore,
        window_minutes: cfg.window,
        warn_per_core: cfg.warn_per_core,
        fail_per_core: cfg.fail_per_core,
        load_per_core_1: round1(load.load1 / cores),
      },
    };
  },
});
