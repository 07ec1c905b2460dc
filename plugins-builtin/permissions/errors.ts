/** The permissions plugin's own error codes. */
import { defineErrors } from 'cx-ops/sdk';

export const permissionsErrors = defineErrors({
  CX_ERR_POLICY_INVALID: {
    exit: 2,
    summary: 'A permissions policy file does not match the policy format or names an unknown user or group.',
    message: (p: { file: string; line?: number; field: string; detail: string; found?: unknown }) =>
      `${p.file}${p.line ? `:${p.line}` : ''}: field '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}\nFix it in ${p.file}; the format is schemas/permissions-policy.schema.json.`,
  },
});
