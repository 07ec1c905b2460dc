/**
 * The deploy plugin: service manifests (NixMox's shape) validated, ordered into waves and rolled
 * out with health gates and automatic rollback. It declares two contribution kinds —
 * `health-check` (one "is this healthy" for deploy, the daemon and self-healing) and
 * `deploy-driver` (what "deploy this service" means) — and fills them with the seed's four
 * health-check forms and the supervisord, systemd and command drivers.
 */
import { defineCommand, definePlugin } from 'cx-ops/sdk';
import { commandDriver } from './command-driver.js';
import {
  applyCommand,
  depsCommand,
  planCommand,
  rollbackCommand,
  statusCommand,
  validateCommand,
} from './deploy-commands.js';
import type { DeployConfig } from './deploy-config.js';
import { DEPLOY_DRIVER_KIND } from './deploy-driver-kind.js';
import {
  commandHealthCheck,
  HEALTH_CHECK_KIND,
  httpHealthCheck,
  systemdHealthCheck,
  tcpHealthCheck,
} from './health-check-kind.js';
import { supervisordDriver } from './supervisord-driver.js';
import { systemdDriver } from './systemd-driver.js';

const FILE = {
  name: 'file',
  description: 'the service manifest (YAML or JSON; read as given, also under --root)',
  required: true,
};
const JSON_OPT = { flags: '--json', description: 'print the result as JSON (errors too)' };

export default definePlugin<DeployConfig>({
  name: 'deploy',
  kinds: [
    {
      kind: HEALTH_CHECK_KIND,
      description:
        'A health-check form: probe { form, ..., timeout_ms } -> { state: healthy|degraded|unhealthy, detail, ms }',
    },
    {
      kind: DEPLOY_DRIVER_KIND,
      description: 'A deploy driver: detect, capture, deploy, revert, status of one manifest service',
    },
  ],
  contributes: [
    commandHealthCheck,
    httpHealthCheck,
    tcpHealthCheck,
    systemdHealthCheck,
    supervisordDriver,
    systemdDriver,
    commandDriver,
    defineCommand({
      name: 'deploy validate',
      description:
        'Check a service manifest: schema, dependencies (missing, disabled, cycles), IPs, hostnames, ports, drivers, health checks; every problem at once',
      arguments: [FILE],
      options: [JSON_OPT],
      run: validateCommand,
    }),
    defineCommand({
      name: 'deploy plan',
      description: 'Show the deployment waves (each service after all of its dependencies) with the reason for each',
      arguments: [FILE],
      options: [{ flags: '--format <format>', description: 'text (default), json or dot (Graphviz)' }, JSON_OPT],
      run: planCommand,
    }),
    defineCommand({
      name: 'deploy deps',
      description: 'List what a service depends on, transitively (--reverse: what depends on it)',
      arguments: [FILE, { name: 'service', description: 'a service of the manifest', required: true }],
      options: [{ flags: '--reverse', description: 'the services that depend on SERVICE instead' }, JSON_OPT],
      run: depsCommand,
    }),
    defineCommand({
      name: 'deploy apply',
      dryRun: true,
      description:
        "Deploy wave by wave through each service's driver; health checks gate the next wave; a failed gate rolls back",
      arguments: [FILE],
      options: [
        { flags: '--only <service...>', description: 'only these services (in their waves)' },
        { flags: '--dry-run', description: 'show what would be deployed; change nothing' },
        JSON_OPT,
      ],
      help: 'Shows the plan and asks first; pass -y to skip the question. A run that was killed is resumed by running apply again, or reverted with deploy rollback.',
      run: applyCommand,
    }),
    defineCommand({
      name: 'deploy rollback',
      dryRun: true,
      description: 'Revert what the last deploy run changed, in reverse order (SERVICE: it and what depends on it)',
      arguments: [FILE, { name: 'service', description: 'only this service and its dependents' }],
      options: [
        {
          flags: '--script',
          description: "print the seed's rollback script (stops in reverse dependency order) instead",
        },
        { flags: '--dry-run', description: 'show what would be reverted; change nothing' },
        JSON_OPT,
      ],
      run: rollbackCommand,
    }),
    defineCommand({
      name: 'deploy status',
      description: "Each service's health now (its health check) and its driver's state",
      arguments: [FILE, { name: 'service', description: 'only this service' }],
      options: [
        {
          flags: '--watch',
          description: 'repeat until interrupted (Ctrl-C or SIGTERM ends it after the round in progress)',
        },
        { flags: '--interval <seconds>', description: 'seconds between --watch rounds (default 5)' },
        { flags: '--count <rounds>', description: 'stop after this many rounds (implies --watch)' },
        {
          flags: '--script',
          description: "print the seed's health monitor script instead (with SERVICE: its health check script)",
        },
        JSON_OPT,
      ],
      help: 'Exit 0 when every health check passes, 1 otherwise (watching: as the last round). With --watch --json, each round is one JSON document on one line.',
      run: statusCommand,
    }),
  ],
});
