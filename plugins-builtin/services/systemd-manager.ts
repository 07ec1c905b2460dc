/**
 * The systemd service manager. Where systemd is not running (no `${root}/run/systemd/system`:
 * containers, CI) it says so and does nothing. It only manages the live host (root "/").
 */
import { defineServiceManager, type ServiceState, type ServiceStatus } from './service-manager-contract.js';

const ACTIVE: Record<string, ServiceState> = {
  active: 'running',
  failed: 'failed',
  inactive: 'stopped',
  activating: 'starting',
  deactivating: 'stopped',
  reloading: 'running',
};

/** Parses `systemctl list-units --type=service --all --no-legend --plain` lines. */
export function parseSystemctlUnits(text: string): ServiceStatus[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/^●\s*/, ''))
    .filter(Boolean)
    .map((l) => l.split(/\s+/))
    .filter((f) => f.length >= 4 && f[0]!.endsWith('.service'))
    .map((f) => ({
      name: f[0]!.replace(/\.service$/, ''),
      state: ACTIVE[f[2]!] ?? 'unknown',
      detail: `${f[2]} (${f[3]})`,
    }));
}

export const systemdManager = defineServiceManager({
  id: 'systemd',
  name: 'systemd',
  description: 'systemd services (systemctl)',
  async detect(ctx) {
    const marker = ctx.fs.diskPath('/run/systemd/system');
    if (!(await ctx.fs.stat('/run/systemd/system')))
      return {
        available: false,
        reason: `systemd is not running here (${marker} does not exist: a container or CI?); nothing to do`,
      };
    if (ctx.env.root !== '/')
      return {
        available: false,
        reason: `systemd services are managed on the live host only (--root is ${ctx.env.root})`,
      };
    return { available: true };
  },
  async list(ctx) {
    const r = await ctx.exec.run(
      'systemctl',
      ['list-units', '--type=service', '--all', '--no-legend', '--plain', '--no-pager'],
      { readOnly: true, timeoutMs: 30_000 },
    );
    if (r.exitCode !== 0) throw new Error(`systemctl list-units failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    return parseSystemctlUnits(r.stdout);
  },
  async status(ctx, name) {
    const r = await ctx.exec.run(
      'systemctl',
      ['show', `${name}.service`, '--property=ActiveState,SubState,MainPID,LoadState', '--no-pager'],
      { readOnly: true, timeoutMs: 30_000 },
    );
    const p = Object.fromEntries(
      r.stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    if (p.LoadState === 'not-found') return { name, state: 'unknown', detail: 'no such unit' };
    const pid = Number(p.MainPID);
    return {
      name,
      state: ACTIVE[p.ActiveState ?? ''] ?? 'unknown',
      detail: `${p.ActiveState} (${p.SubState})`,
      ...(pid > 0 ? { pid } : {}),
    };
  },
  async restart(ctx, name) {
    const r = await ctx.exec.run('systemctl', ['restart', `${name}.service`], { timeoutMs: 120_000 });
    return { ok: r.exitCode === 0, detail: (r.stderr || r.stdout).trim() || `exit ${r.exitCode}` };
  },
  async start(ctx, name) {
    const r = await ctx.exec.run('systemctl', ['start', `${name}.service`], { timeoutMs: 120_000 });
    return { ok: r.exitCode === 0, detail: (r.stderr || r.stdout).trim() || `exit ${r.exitCode}` };
  },
  async stop(ctx, name) {
    const r = await ctx.exec.run('systemctl', ['stop', `${name}.service`], { timeoutMs: 120_000 });
    return { ok: r.exitCode === 0, detail: (r.stderr || r.stdout).trim() || `exit ${r.exitCode}` };
  },
  async reloadService(ctx, name) {
    const r = await ctx.exec.run('systemctl', ['reload', `${name}.service`], { timeoutMs: 120_000 });
    return { ok: r.exitCode === 0, detail: (r.stderr || r.stdout).trim() || `exit ${r.exitCode}` };
  },
  async reload(ctx) {
    const r = await ctx.exec.run('systemctl', ['daemon-reload'], { timeoutMs: 120_000 });
    return { ok: r.exitCode === 0, detail: (r.stderr || r.stdout).trim() || 'daemon reloaded' };
  },
});
