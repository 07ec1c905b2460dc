/**
 * automation: scheduled maintenance. It declares the kind `automation-task` (the SDK's
 * defineTask) and fills it with config-backup, system-cleanup, system-update and command; a third
 * party adds a task type the same way, sandboxed. Inside cx-ops daemon its scheduler is a
 * `daemon-service`, its records go to the daemon's history store, its metrics to /metrics and a
 * tasks panel to the dashboard; `cx-ops automation run` works without the daemon.
 */
import { automationTaskKind, definePlugin } from 'cx-ops/sdk';
import { defineDaemonMetric } from '../daemon/metric-kind.js';
import { automationCommands } from './automation-commands.js';
import { tasksPanelContribution } from './automation-panel.js';
import { METRICS, schedulerService } from './automation-runtime.js';
import { automationErrors } from './errors.js';
import { commandTask } from './tasks/command-task.js';
import { configBackupTask } from './tasks/config-backup.js';
import { systemCleanupTask } from './tasks/system-cleanup.js';
import { systemUpdateTask } from './tasks/system-update.js';

export default definePlugin({
  name: 'automation',
  kinds: [automationTaskKind],
  errors: automationErrors,
  contributes: [
    ...automationCommands,
    schedulerService,
    tasksPanelContribution,
    configBackupTask,
    systemCleanupTask,
    systemUpdateTask,
    commandTask,
    defineDaemonMetric(METRICS.executions, {
      type: 'counter',
      help: 'Automation task executions by task and status (Success, Failed, Skipped, Interrupted)',
      labels: ['task', 'status'],
    }),
    defineDaemonMetric(METRICS.duration, {
      type: 'histogram',
      help: 'How long automation task runs took, in seconds',
      labels: ['task'],
      buckets: [0.1, 1, 10, 60, 300, 900, 3600],
    }),
    defineDaemonMetric(METRICS.spaceFreed, {
      type: 'counter',
      help: 'Bytes freed by automation tasks',
      labels: ['task'],
    }),
    defineDaemonMetric(METRICS.filesBackedUp, {
      type: 'counter',
      help: 'Files backed up by automation tasks',
      labels: ['task'],
    }),
    defineDaemonMetric(METRICS.updatesInstalled, {
      type: 'counter',
      help: 'Package updates installed by automation tasks',
      labels: ['task'],
    }),
  ],
});
