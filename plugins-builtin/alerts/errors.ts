/** The alerts plugin's own error codes. */
import { defineErrors } from 'cx-ops/sdk';

export const alertsErrors = defineErrors({
  CX_ERR_ALERTS_INVALID: {
    exit: 2,
    summary: 'alerts.yaml does not match its schema, or names a check, receiver or receiver type that does not exist.',
    message: (p: { file: string; line?: number; column?: number; field: string; detail: string; found?: unknown }) =>
      `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}\nFix it in ${p.file}; the format is schemas/alerts.schema.json (cx-ops alerts list shows the receiver types).`,
  },
  CX_ERR_ALERT_UNKNOWN: {
    exit: 2,
    summary: 'No alert rule, receiver or silence has the given name.',
    message: (p: { what: string; name: string; file: string }) =>
      `no ${p.what} named '${p.name}' in ${p.file}.\nList them with: cx-ops alerts list`,
  },
  CX_ERR_ALERTS_MISSING: {
    exit: 2,
    summary: 'There is no alerts.yaml to read rules from.',
    message: (p: { file: string }) =>
      `${p.file} does not exist, so there are no alert rules.\nWrite one (format: schemas/alerts.schema.json; an example is examples/alerts/alerts.yaml).`,
  },
});
