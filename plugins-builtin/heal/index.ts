/**
 * heal: self-healing (issue 11, the seed's Luminous self-healing). Detectors read the host through
 * the rooted host view and the services plugin's service managers; a pure state machine
 * (judge.ts) applies for-N-cycles, clear thresholds, counter resets, grace and budgets; resolvers
 * (kind `heal-resolver`, priority order, the default last) map each issue to an action (kind
 * `heal-action`); a `pre_heal` tap can veto. It runs as a daemon job every heal.interval or once
 * with `cx-ops heal --once`; development mode records actions in the heal log for `heal replay`.
 */
import { definePlugin } from 'cx-ops/sdk';
import { cleanupDisk, clearSystemCache } from './actions/resource-actions.js';
import { reloadService, restartService } from './actions/service-actions.js';
import { rollbackUpdate } from './actions/system-actions.js';
import { defaultResolver } from './default-resolver.js';
import { doctorFeedTap } from './doctor-feed.js';
import { healErrors } from './errors.js';
import { healCommands } from './heal-commands.js';
import { healJob } from './heal-daemon.js';
import { healActionKind, healResolverKind, preHealHook } from './heal-kinds.js';
import { METRICS } from './heal-metrics.js';
import { healPanelContribution } from './heal-panel.js';
import type { HealConfig } from './heal-types.js';

export default definePlugin<HealConfig>({
  name: 'heal',
  kinds: [healResolverKind, healActionKind],
  hooks: [preHealHook],
  errors: healErrors,
  taps: [doctorFeedTap],
  contributes: [
    ...healCommands,
    defaultResolver,
    clearSystemCache,
    cleanupDisk,
    restartService,
    reloadService,
    rollbackUpdate,
    healJob,
    healPanelContribution,
    ...METRICS.families,
  ],
});
