/**
 * The seed's health-check forms, recognised from the manifest's text: `systemctl is-active
 * --quiet NAME` (systemd, through the service managers), `http(s)://…`, `tcp:PORT` /
 * `tcp:HOST:PORT`, and any other command (Consul's exit convention). Each form is a
 * `health-check` contribution with the same id.
 */
import { durationMs, type HealthCheckSpec, type ServiceSpec } from './manifest-types.js';

export type HealthCheckForm =
  | { form: 'systemd'; unit: string }
  | { form: 'http'; url: string; expectBody?: string }
  | { form: 'tcp'; host: string; port: number }
  | { form: 'command'; command: string };

/** The forms, for "known forms" in messages. */
export const HEALTH_CHECK_FORMS = [
  'systemctl is-active --quiet NAME',
  'http://HOST[:PORT]/PATH',
  'https://…',
  'tcp:PORT',
  'tcp:HOST:PORT',
  'any other command (exit 0 healthy, 1 degraded, else unhealthy)',
];

/** Compose's healthcheck timing, in milliseconds, with compose's defaults. */
export interface ProbeTiming {
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

/** The check of a service as spec: the `test` text plus compose's settings. */
export function healthSpecOf(spec: ServiceSpec): HealthCheckSpec | null {
  const h = spec.health_check;
  if (h === undefined) return null;
  return typeof h === 'string' ? { test: h } : h;
}

export function timingOf(h: HealthCheckSpec): ProbeTiming {
  return {
    intervalMs: durationMs(h.interval, 30_000),
    timeoutMs: durationMs(h.timeout, 30_000),
    retries: h.retries ?? 3,
    startPeriodMs: durationMs(h.start_period, 0),
    startIntervalMs: durationMs(h.start_interval, 5_000),
  };
}

/**
 * Which form `test` is, with its parameters; a string error for a form that looks like one but
 * is not known (a URL scheme other than http(s), a `word:` prefix other than tcp) or is malformed.
 * `ip` is the service's address: `tcp:PORT` probes it.
 */
export function parseHealthCheck(h: HealthCheckSpec, ip: string): HealthCheckForm | string {
  const t = h.test.trim();
  const systemd = /^systemctl\s+is-active\s+(?:--quiet\s+|-q\s+)?([A-Za-z0-9@_.:\\-]+?)(?:\.service)?$/.exec(t);
  if (systemd) return { form: 'systemd', unit: systemd[1]! };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(t);
  if (scheme) {
    if (!/^https?$/i.test(scheme[1]!)) return `unknown health check form '${scheme[1]}://'`;
    try {
      new URL(t);
    } catch {
      return `'${t}' is not a valid URL`;
    }
    return { form: 'http', url: t, ...(h.expect_body !== undefined ? { expectBody: h.expect_body } : {}) };
  }
  const tcp = /^tcp:(?:(\[[0-9a-f:]+\]|[^:\s]+):)?(\d{1,5})$/i.exec(t);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) return `port ${port} is out of range (1-65535)`;
    return { form: 'tcp', host: tcp[1]?.replace(/^\[|\]$/g, '') ?? ip, port };
  }
  if (/^tcp:/i.test(t)) return `'${t}' is not tcp:PORT or tcp:HOST:PORT`;
  const prefix = /^([a-z][a-z0-9+.-]*):\S/i.exec(t);
  if (prefix) return `unknown health check form '${prefix[1]}:'`;
  return { form: 'command', command: t };
}
