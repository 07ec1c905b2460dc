/** The seed's system action rollback_update: the updates plugin's rollback to the newest snapshot. */
import { defineContribution, fixKind } from 'cx-ops/sdk';
import { healActionKind } from '../heal-kinds.js';
import { recordedBy } from './recorded.js';

export const rollbackUpdate = defineContribution(
  healActionKind,
  'rollback_update',
  {
    category: 'system',
    description:
      "the updates plugin's rollback (rollback_last_update): files and package versions of the newest snapshot",
  },
  async (ctx, { issue }) => {
    const out = await ctx.registry.invoke(fixKind, 'rollback_last_update', {
      result: {
        check_id: issue.component,
        name: issue.component,
        status: 'FAIL',
        message: issue.description,
        details: {},
        fix_id: 'rollback_last_update',
        duration_ms: 0,
      },
    });
    return {
      ok: out.ok,
      detail: `${out.message}${out.actions.length ? ` (${out.actions.join('; ')})` : ''}`,
      recorded: recordedBy(out),
    };
  },
);
