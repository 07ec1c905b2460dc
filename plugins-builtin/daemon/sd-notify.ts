/**
 * sd_notify for Type=notify units: READY=1, WATCHDOG=1, STATUS=…, STOPPING=1, sent to the
 * datagram socket systemd names in NOTIFY_SOCKET. Node has no unix datagram sockets, so the
 * message goes through `systemd-notify` (shipped with systemd, so present wherever the unit
 * runs), via ctx.exec; the unit sets NotifyAccess=all because that helper is a child process.
 * Without NOTIFY_SOCKET every call is a no-op.
 */
import type { ExecCapability } from 'cx-ops/sdk';

export interface Notifier {
  readonly enabled: boolean;
  /** Microseconds systemd allows between watchdog pings (WATCHDOG_USEC), if it asks for them. */
  readonly watchdogUsec?: number;
  notify(fields: Record<string, string>): Promise<{ ok: boolean; error?: string }>;
}

/** A notifier for this process; `environment` is the daemon's own environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID). */
export function systemdNotifier(
  exec: ExecCapability,
  environment: Record<string, string | undefined>,
  pid: number,
): Notifier {
  const socket = environment.NOTIFY_SOCKET;
  const wpid = environment.WATCHDOG_PID ? Number(environment.WATCHDOG_PID) : pid;
  const usec = environment.WATCHDOG_USEC && wpid === pid ? Number(environment.WATCHDOG_USEC) : undefined;
  return {
    enabled: Boolean(socket),
    watchdogUsec: usec && Number.isFinite(usec) && usec > 0 ? usec : undefined,
    async notify(fields) {
      if (!socket) return { ok: true };
      const args = [
        '--no-block',
        `--pid=${pid}`,
        ...Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`),
      ];
      const r = await exec
        .run('systemd-notify', args, { env: { NOTIFY_SOCKET: socket }, timeoutMs: 5000, readOnly: true })
        .catch((e: unknown) => ({ exitCode: -1, stderr: e instanceof Error ? e.message : String(e) }));
      return r.exitCode === 0
        ? { ok: true }
        : { ok: false, error: (r.stderr || `systemd-notify exited with ${r.exitCode}`).trim() };
    },
  };
}
