/**
 * The daemon event types an event rule may name: a built-in plugin's own list (heal, automation),
 * so a misspelt type is an error with close names; a third party's `<plugin>_<what>` is accepted
 * when that plugin is loaded (its types are its own to document).
 */
import { AUTOMATION_EVENT_TYPES } from '../automation/execution-store.js';
import { HEAL_EVENT_TYPES } from '../heal/heal-types.js';

/** Event types by the plugin that records them. */
export const KNOWN_EVENT_TYPES: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ['heal', HEAL_EVENT_TYPES],
  ['automation', AUTOMATION_EVENT_TYPES],
]);
