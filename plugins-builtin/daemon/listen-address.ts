/** The `daemon.listen` setting: host and port, and whether the host is loopback-only. */
import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
  /** 127.0.0.0/8, ::1 or localhost: no token needed. */
  loopback: boolean;
}

/** Parses `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`; a string saying what is wrong otherwise. */
export function parseListen(value: string): ListenAddress | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(value.trim());
  if (!m) return `'${value}' is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)`;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range (0-65535)`;
  if (host !== 'localhost' && !isIP(host))
    return `'${host}' is not an IP address (give a numeric address, or localhost)`;
  if (m[1] && isIP(host) !== 6) return `'[${host}]' is not an IPv6 address`;
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  return { host, port, loopback };
}
