/** The heal plugin's own error codes. */
import { defineErrors } from 'cx-ops/sdk';

export const healErrors = defineErrors({
  CX_ERR_HEAL_RECORD_UNKNOWN: {
    exit: 2,
    summary: 'heal replay was given an id that is not in the heal log.',
    message: (p: { id: string; known: string[] }) =>
      `no recorded heal action has the id '${p.id}'${p.known.length ? ` (the newest: ${p.known.join(', ')})` : ' (the heal log is empty)'}.\nList them with: cx-ops heal log`,
  },
  CX_ERR_HEAL_RESOLVER_ANSWER: {
    exit: 4,
    summary:
      'A heal-resolver answered something that is neither { action, parameters } nor null (the next resolver is asked).',
    message: (p: { plugin: string; resolver: string; detail: string }) =>
      `resolver '${p.resolver}' of plugin '${p.plugin}' ${p.detail}; the next resolver was asked.\nFix the plugin, or disable it: cx-ops plugins disable ${p.plugin}`,
  },
});
