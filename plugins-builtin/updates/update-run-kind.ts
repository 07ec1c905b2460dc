/**
 * Kind `update-run` (declared by the updates plugin): `update apply` for callers that have
 * decided already — the automation plugin's system-update task — so no confirmation is asked.
 * Its one contribution `apply` takes { security, system, snapshot? } and answers the apply
 * report with whether a reboot is required afterwards. A dry run (the invoke's dryRun) plans only.
 */
import { defineContribution, defineKind } from 'cx-ops/sdk';
import { applyUpdates, type ApplyReport } from './update-apply.js';
import { checkUpdates, type UpdatesConfig } from './update-check.js';

export interface UpdateRunInput {
  security: boolean;
  system: boolean;
  /** Take a snapshot first (default: updates.backup_before_update). */
  snapshot?: boolean;
}

export type UpdateRunOutput = ApplyReport & { reboot_required: boolean; said: string };

export const updateRunKind = defineKind<UpdateRunInput, UpdateRunOutput>('update-run', {
  description:
    'update apply without a confirmation, for a caller that decided (automation): id apply, input { security, system, snapshot? }',
});

export const updateRun = defineContribution(
  updateRunKind,
  'apply',
  { description: 'applies pending updates (security only or all) as update apply does, with the snapshot first' },
  async (ctx, input) => {
    let said = '';
    const c = ctx as typeof ctx & { config: UpdatesConfig };
    const report = await applyUpdates(c, {
      security: Boolean(input.security),
      system: Boolean(input.system),
      packages: [],
      confirmed: true,
      ...(input.snapshot !== undefined ? { snapshot: input.snapshot } : {}),
      say: (t) => (said += t),
    });
    const after = report.status === 'applied' ? await checkUpdates(c, { refresh: false }) : undefined;
    return { ...report, reboot_required: Boolean(after?.reboot_required), said };
  },
);
