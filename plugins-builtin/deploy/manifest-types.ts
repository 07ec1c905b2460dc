/**
 * The service manifest (schemas/deploy-manifest.schema.json): NixMox's shape — `network` and
 * `services` keyed by name — plus the rollout settings (`update`, Nomad's update block) and each
 * service's driver. These types mirror the schema; a test checks the fixtures against both.
 */

/** A compose-style duration ("30s", "1m30s", "500ms") or a number of seconds. */
export type Duration = string | number;

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export type HealthCheckSpec = {
  /** systemctl is-active --quiet NAME | http(s)://… | tcp:PORT | tcp:HOST:PORT | a command. */
  test: string;
  expect_body?: string;
  interval?: Duration;
  timeout?: Duration;
  retries?: number;
  start_period?: Duration;
  start_interval?: Duration;
};

export type DriverSpec = {
  /** supervisord | systemd | command, or a driver another plugin contributes. */
  type: string;
  command?: string;
  directory?: string;
  user?: string;
  unit?: string;
  start?: string;
  stop?: string;
  status?: string;
};

export type RestartSpec = {
  backoff?: Duration;
  backoff_max?: Duration;
  max_failures?: number;
  window?: Duration;
};

export type ServiceSpec = {
  enable: boolean;
  ip: string;
  hostname: string;
  depends_on?: string[] | Record<string, { condition?: DependencyCondition }>;
  health_check?: string | HealthCheckSpec;
  restart_policy?: 'always' | 'unless-stopped' | 'never';
  restart?: RestartSpec;
  resources?: { memory?: string; cpu?: number | string; storage?: string };
  ports?: Array<number | string>;
  environment?: Record<string, string | number | boolean>;
  volumes?: string[];
  driver?: DriverSpec;
};

export type NetworkSpec = {
  dns_server?: string;
  gateway?: string;
  network_cidr?: string;
  vlan_tag?: number;
};

export type UpdateSpec = {
  max_parallel?: number;
  min_healthy_time?: Duration;
  healthy_deadline?: Duration;
  auto_revert?: boolean;
};

export type ServiceManifest = {
  network?: NetworkSpec;
  update?: UpdateSpec;
  services: Record<string, ServiceSpec>;
};

/** One dependency edge, normalised from either depends_on form. */
export type Dependency = {
  service: string;
  condition: DependencyCondition;
};

/** The dependencies of a service in one form: list entries become `service_started`... */
export function dependenciesOf(spec: ServiceSpec): Dependency[] {
  const d = spec.depends_on;
  if (!d) return [];
  // The seed's list form gates on health (NixMox deploys a phase after the previous one is healthy).
  if (Array.isArray(d)) return d.map((service) => ({ service, condition: 'service_healthy' }));
  return Object.entries(d).map(([service, v]) => ({ service, condition: v?.condition ?? 'service_started' }));
}

/** Milliseconds of a duration ("1m30s" = 90 000; a number is seconds). */
export function durationMs(d: Duration | undefined, fallbackMs: number): number {
  if (d === undefined) return fallbackMs;
  if (typeof d === 'number') return d * 1000;
  let ms = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    ms += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return ms;
}
