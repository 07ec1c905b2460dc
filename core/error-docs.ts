/** Renders docs/errors.md from the error catalogue (a test keeps the two in sync). */
import { ERRORS } from './errors.js';

export function renderErrorDocs(): string {
  const rows = Object.entries(ERRORS).map(([code, spec]) => `| \`${code}\` | ${spec.exit} | ${spec.summary} |`);
  return [
    '# cx-ops error codes',
    '',
    'Generated from `sdk/errors.ts` by `node core/bin/gen-error-docs.js`; do not edit by hand.',
    'Every error prints as `error[CODE]: message`, where the message says what is wrong, where, and what to do next.',
    '',
    '| code | exit | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
