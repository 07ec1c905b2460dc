/**
 * The supervisord service manager: programs of a running supervisord, reached with the real
 * `supervisorctl -c <config>`. It works without systemd (containers, CI), which is why it is
 * the second backend.
 */
import { type PluginContext } from 'cx-ops/sdk';
import { defineServiceManager, type ServiceState, type ServiceStatus } from './service-manager-contract.js';

export interface SupervisorConfig {
  /** supervisord.conf; default <root>/etc/supervisor/supervisord.conf. */
  supervisor_config?: string;
}

function configPath(ctx: PluginContext<SupervisorConfig>): string {
  return ctx.config.supervisor_config ?? ctx.fs.diskPath('/etc/supervisor/supervisord.conf');
}

const STATES: Record<string, ServiceState> = {
  RUNNING: 'running',
  STARTING: 'starting',
  BACKOFF: 'failed',
  FATAL: 'failed',
  EXITED: 'failed',
  STOPPED: 'stopped',
  STOPPING: 'stopped',
  UNKNOWN: 'unknown',
};

/** Parses `supervisorctl status` lines: "name   STATE   detail". */
export function parseSupervisorStatus(text: string): ServiceStatus[] {
  const out: ServiceStatus[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+([A-Z]+)\s*(.*)$/.exec(line.trim());
    if (!m || !(m[2]! in STATES)) continue;
    const pid = /pid (\d+)/.exec(m[3]!);
    out.push({
      name: m[1]!,
      state: STATES[m[2]!]!,
      detail: `${m[2]} ${m[3]!.trim()}`.trim(),
      ...(pid ? { pid: Number(pid[1]) } : {}),
    });
  }
  return out;
}

/**
 * The unix socket supervisorctl talks to: `[supervisorctl] serverurl=unix://PATH`; undefined for
 * any other server URL (or none: supervisorctl's default is http://localhost:9001).
 */
export function unixSocketOf(conf: string): string | undefined {
  let section = '';
  for (const raw of conf.split('\n')) {
    const line = raw.replace(/(^|\s);.*$/, '').trim();
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) section = head[1]!.trim();
    const url = section === 'supervisorctl' ? /^serverurl\s*=\s*unix:\/\/(\/\S*)$/.exec(line) : null;
    if (url) return url[1];
  }
  return undefined;
}

async function ctl(ctx: PluginContext<SupervisorConfig>, args: string[], readOnly: boolean) {
  return ctx.exec.run('supervisorctl', ['-c', configPath(ctx), ...args], { readOnly, timeoutMs: 60_000 });
}

export const supervisordManager = defineServiceManager<SupervisorConfig>({
  id: 'supervisord',
  name: 'supervisord',
  description: 'Programs of a running supervisord (supervisorctl)',
  async detect(ctx) {
    const conf = configPath(ctx);
    if (!(await ctx.localFs.stat(conf)))
      return { available: false, reason: `no supervisord configuration at ${conf} (set services.supervisor_config)` };
    // No socket, no supervisord: said without starting supervisorctl (a Python program, ~0.3 s
    // of CPU), which the daemon's checks would otherwise pay every cycle.
    const socket = unixSocketOf(await ctx.localFs.readFile(conf));
    if (socket && !(await ctx.localFs.stat(socket)))
      return {
        available: false,
        reason: `supervisord is not running for ${conf}: its socket ${socket} does not exist`,
      };
    const r = await ctl(ctx, ['pid'], true);
    if (r.exitCode === 127)
      return { available: false, reason: 'supervisorctl is not installed (Debian package: supervisor)' };
    if (r.exitCode !== 0 || !/^\d+$/.test(r.stdout.trim()))
      return {
        available: false,
        reason: `supervisord is not running for ${conf}: ${(r.stdout + r.stderr).trim().split('\n')[0]}`,
      };
    return { available: true };
  },
  async list(ctx) {
    const r = await ctl(ctx, ['status'], true);
    // Exit 3 means "some program is not running": the listing is still complete.
    if (r.exitCode !== 0 && r.exitCode !== 3)
      throw new Error(`supervisorctl status failed (exit ${r.exitCode}): ${(r.stdout + r.stderr).trim()}`);
    return parseSupervisorStatus(r.stdout);
  },
  async status(ctx, name) {
    const r = await ctl(ctx, ['status', name], true);
    const found = parseSupervisorStatus(r.stdout).find((s) => s.name === name);
    return found ?? { name, state: 'unknown', detail: (r.stdout + r.stderr).trim() || 'no such program' };
  },
  async restart(ctx, name) {
    const r = await ctl(ctx, ['restart', name], false);
    const said = (r.stdout + r.stderr).trim();
    // A program that is not running answers "ERROR (not running)" to the stop half of a
    // restart; what counts is the start half, the last line.
    const last = said.split('\n').pop() ?? '';
    return {
      ok: r.exitCode === 0 && /: started$/.test(last),
      detail: said.replace(/\n/g, '; ') || `exit ${r.exitCode}`,
    };
  },
  async start(ctx, name) {
    const r = await ctl(ctx, ['start', name], false);
    const said = (r.stdout + r.stderr).trim();
    return {
      ok: r.exitCode === 0 && /: started$|already started/.test(said),
      detail: said.replace(/\n/g, '; ') || `exit ${r.exitCode}`,
    };
  },
  async stop(ctx, name) {
    const r = await ctl(ctx, ['stop', name], false);
    const said = (r.stdout + r.stderr).trim();
    return {
      ok: r.exitCode === 0 || /not running/.test(said),
      detail: said.replace(/\n/g, '; ') || `exit ${r.exitCode}`,
    };
  },
  /** A program re-reads its configuration on SIGHUP (supervisord has no reload of its own for a program). */
  async reloadService(ctx, name) {
    const r = await ctl(ctx, ['signal', 'HUP', name], false);
    const said = (r.stdout + r.stderr).trim();
    return {
      ok: r.exitCode === 0 && /signalled$/.test(said),
      detail: said.replace(/\n/g, '; ') || `exit ${r.exitCode}`,
    };
  },
  /** Reads changed program files and applies them: adds, restarts changed and removes gone programs. */
  async reload(ctx) {
    const reread = await ctl(ctx, ['reread'], false);
    const update = await ctl(ctx, ['update'], false);
    const said = `${reread.stdout}${reread.stderr}${update.stdout}${update.stderr}`.trim();
    return { ok: reread.exitCode === 0 && update.exitCode === 0, detail: said.replace(/\n/g, '; ') || 'no changes' };
  },
});
