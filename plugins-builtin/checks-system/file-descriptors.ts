/** file_descriptors: allocated file handles against the system maximum (/proc/sys/fs/file-nr). */
import { defineCheck, error, grade, readIfExists, skip, type PluginContext } from 'cx-ops/sdk';
import type { ChecksConfig } from './config.js';
import { parseFileNr } from './procfs.js';
import { thresholdProblem } from './thresholds.js';

/** Percent of the maximum in use (allocated minus allocated-but-unused). */
export function fdUsedPercent(n: { allocated: number; unused: number; max: number }): number {
  if (n.max <= 0) return 0;
  return Math.round((((n.allocated - n.unused) / n.max) * 100) * 1000) / 1000;
}

export const fileDescriptorsCheck = defineCheck({
  id: 'file_descriptors',
  name: 'File Descriptors',
  description: 'Open file handles against the system-wide maximum',
  category: 'system',
  severity: 'medium',
  async run(ctx: PluginContext<ChecksConfig>) {
    const cfg = ctx.config.file_descriptors;
    const problem = thresholdProblem(ctx.env, 'file_descriptors', 'warn_percent', cfg.warn_percent, 'fail_percent', cfg.fail_percent);
    if (problem) return { ...error(problem), fix_id: null };
    const text = await readIfExists(ctx.fs, '/proc/sys/fs/file-nr');
    if (text === null) return skip('/proc/sys/fs/file-nr not found on this host');
    const n = parseFileNr(text);
    const used = n.allocated - n.unused;
    const pct = fdUsedPercent(n);
    return {
      status: grade(pct, { warn: cfg.warn_percent, fail: cfg.fail_percent }),
      message: `${used} of ${n.max} file handles in use (${pct}%)`,
      details: { ...n, in_use: used, used_percent: pct, ...cfg },
    };
  },
});
