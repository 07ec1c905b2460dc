/** file_descriptors: allocated file handles against the system maximum (/proc/sys/fs/file-nr). */
import { checkPreamble, defineCheck, grade, type PluginContext } from 'cx-ops/sdk';
import type { ChecksConfig } from './config.js';
import { parseFileNr } from './procfs.js';

/** Percent of the maximum in use (allocated minus allocated-but-unused). */
export function fdUsedPercent(n: { allocated: number; unused: number; max: number }): number {
  if (n.max <= 0) return 0;
  return Math.round(((n.allocated - n.unused) / n.max) * 100 * 1000) / 1000;
}

export const fileDescriptorsCheck = defineCheck({
  id: 'file_descriptors',
  name: 'File Descriptors',
  description: 'Open file handles against the system-wide maximum',
  category: 'system',
  severity: 'medium',
  async run(ctx: PluginContext<ChecksConfig>) {
    const cfg = ctx.config.file_descriptors;
    const pre = await checkPreamble(ctx, {
      thresholds: [
        {
          section: 'checks.file_descriptors',
          warn: ['warn_percent', cfg.warn_percent],
          fail: ['fail_percent', cfg.fail_percent],
        },
      ],
      source: '/proc/sys/fs/file-nr',
    });
    if (pre.outcome) return pre.outcome;
    const n = parseFileNr(pre.text);
    const used = n.allocated - n.unused;
    const pct = fdUsedPercent(n);
    return {
      status: grade(pct, { warn: cfg.warn_percent, fail: cfg.fail_percent }),
      message: `${used} of ${n.max} file handles in use (${pct}%)`,
      details: { ...n, in_use: used, used_percent: pct, ...cfg },
    };
  },
});
