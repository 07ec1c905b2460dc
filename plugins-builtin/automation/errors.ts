/** The automation plugin's own error codes. */
import { defineErrors } from 'cx-ops/sdk';

export const automationErrors = defineErrors({
  CX_ERR_TASK_UNKNOWN: {
    exit: 2,
    summary: 'No configured automation task has the given id.',
    message: (p: { task: string; file: string; known: string[] }) =>
      `no task '${p.task}' in ${p.file} (automation.tasks: ${p.known.join(', ') || 'none'}).\nList them with: cx-ops automation list`,
  },
});
