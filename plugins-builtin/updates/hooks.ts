/** The hooks the updates plugin offers (tap them with defineTap(preUpdate, …)); only this plugin fires them. */
import { defineHook } from 'cx-ops/sdk';
import type { UpdateApplyResult } from './updater-contract.js';

/** One package an update is about to change. */
export interface PendingChange {
  name: string;
  from: string;
  to: string;
  security: boolean;
}

/** Before updates are applied; a tap resolving false vetoes them. */
export const preUpdate = defineHook<{ packages: PendingChange[]; security: boolean; system: boolean }>('pre_update', {
  type: 'bail',
  description: 'Before updates are applied; payload { packages, security, system }; resolve false to veto',
});

/** After updates were applied. */
export const postUpdate = defineHook<{
  ok: boolean;
  snapshot: string | null;
  results: Array<{ updater: string } & UpdateApplyResult>;
}>('post_update', {
  type: 'series',
  description: 'After updates were applied; payload { ok, snapshot, results }',
});
