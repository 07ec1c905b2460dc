/**
 * daemon: cx-ops as a long-running agent (`cx-ops daemon`) and the history reader
 * (`cx-ops history`). It declares the kinds other plugins fill to run inside it (`daemon-job`,
 * `daemon-service`, `dashboard-panel`, `daemon-metric`) and `history-query` / `daemon-metrics`,
 * through which they read the one history store and move their own metrics; its own first job runs the checks with doctor's runner.
 */
import { defineCommand, definePlugin, type PluginContext } from 'cx-ops/sdk';
import { checksJob } from './checks-job.js';
import { runDaemon } from './daemon-command.js';
import type { DaemonConfig } from './daemon-settings.js';
import { historyCommand } from './history-command.js';
import { historyEvents, historyResults } from './history-query.js';
import { DAEMON_KINDS } from './job-kind.js';
import { metricsRecord } from './metric-kind.js';
import { cycleEndHook, daemonEventsHook, historyState, historyStateKind } from './state-kind.js';

export default definePlugin<DaemonConfig>({
  name: 'daemon',
  kinds: [...DAEMON_KINDS, historyStateKind],
  hooks: [cycleEndHook, daemonEventsHook],
  contributes: [
    defineCommand({
      name: 'daemon',
      description:
        'Run as an agent: checks every daemon.interval, /health, /metrics, a JSON API and a live dashboard on daemon.listen',
      options: [
        { flags: '--once', description: 'run every job once, print the health, exit (0 healthy, 1 not)' },
        { flags: '--json', description: 'with --once: print the cycle as JSON' },
        { flags: '--log-format <format>', description: 'text (default) or json: one line per event on stderr' },
      ],
      help: 'Settings: the daemon: section of config.yaml (interval, listen, token_file, checks, history, ...).\nSignals: SIGHUP reloads config.yaml and plugin state; SIGTERM/SIGINT stop after in-flight work (daemon.grace_seconds).\nReadiness and watchdog go to systemd when NOTIFY_SOCKET is set (see the unit file in plugins-builtin/daemon/cx-ops.service).',
      stopSignals: true,
      run: (ctx, input) => runDaemon(ctx as PluginContext<DaemonConfig>, input),
    }),
    historyCommand,
    checksJob,
    historyResults,
    historyEvents,
    metricsRecord,
    historyState,
  ],
});
