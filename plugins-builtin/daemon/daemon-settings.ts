/** The `daemon:` section of config.yaml, checked and turned into what the daemon runs with. */
import { join } from 'node:path';
import { CxError, type RuntimeEnv } from 'cx-ops/sdk';
import { parseDuration } from './duration.js';
import { parseListen, type ListenAddress } from './listen-address.js';

/** As config.yaml has it (validated against plugin.yaml's config_schema, defaults applied). */
export interface DaemonConfig {
  interval: string | number;
  checks: string[];
  check_timeout_seconds: number;
  max_parallel: number;
  listen: string;
  token_file?: string;
  protect_metrics: boolean;
  grace_seconds: number;
  watchdog: boolean;
  rate_limit_per_minute: number;
  max_request_bytes: number;
  log_lines_per_minute: number;
  history: { retention_days: number; max_mb: number; max_file_mb?: number };
}

export interface DaemonSettings {
  intervalMs: number;
  listen: ListenAddress;
  config: DaemonConfig;
  configFile: string;
}

/** Reads the section; a value the schema lets through but that cannot work is a CX_ERR_CONFIG_INVALID naming the field. */
export function readSettings(config: DaemonConfig, env: Pick<RuntimeEnv, 'configDir'>): DaemonSettings {
  const file = join(env.configDir, 'config.yaml');
  const bad = (field: string, detail: string, found: unknown) =>
    new CxError('CX_ERR_CONFIG_INVALID', { file, field, detail, found, plugin: 'daemon' });
  const intervalMs = parseDuration(config.interval);
  if (intervalMs === undefined || intervalMs < 1000)
    throw bad('daemon.interval', 'must be a duration of at least 1s, e.g. 30s, 5m or 1h', config.interval);
  const listen = parseListen(config.listen);
  if (typeof listen === 'string') throw bad('daemon.listen', listen, config.listen);
  if (!listen.loopback && !config.token_file) {
    throw bad(
      'daemon.listen',
      `listens beyond loopback (${config.listen}), so it needs daemon.token_file: a file of mode 0600 holding the bearer token (or listen on 127.0.0.1)`,
      config.listen,
    );
  }
  return { intervalMs, listen, config, configFile: file };
}
