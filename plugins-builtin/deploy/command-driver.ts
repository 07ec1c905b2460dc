/**
 * The command driver: the manifest's own start / stop / status commands (run by sh, with the
 * service's environment). It keeps no record of what ran before, so reverting runs `stop`.
 */
import { defineDeployDriver, serviceEnvironment, type DriverTarget } from './deploy-driver-kind.js';
import type { PluginContext } from 'cx-ops/sdk';

async function sh(ctx: PluginContext<unknown>, t: DriverTarget, command: string, readOnly = false) {
  return ctx.exec.run('sh', ['-c', command], {
    env: serviceEnvironment(t),
    timeoutMs: 300_000,
    readOnly,
    ...(t.spec.driver?.directory ? { cwd: t.spec.driver.directory } : {}),
  });
}

const said = (r: { exitCode: number | null; stdout: string; stderr: string }) =>
  `exit ${r.exitCode}${`${r.stdout}${r.stderr}`.trim() ? `: ${`${r.stdout}${r.stderr}`.trim().slice(0, 2000)}` : ''}`;

export const commandDriver = defineDeployDriver({
  id: 'command',
  description: "The manifest's start / stop / status commands (sh -c)",
  async detect() {
    return { available: true };
  },
  async capture() {
    return null;
  },
  async deploy(ctx, t) {
    const r = await sh(ctx, t, t.spec.driver!.start!);
    return {
      ok: r.exitCode === 0 || r.dryRun,
      changed: true,
      detail: `start: ${said(r)}`,
      actions: [`sh -c ${JSON.stringify(t.spec.driver!.start)}`],
    };
  },
  async revert(ctx, t) {
    const stop = t.spec.driver!.stop;
    if (!stop) return { ok: false, detail: `${t.service} has no driver.stop command: stop it by hand`, actions: [] };
    const r = await sh(ctx, t, stop);
    return { ok: r.exitCode === 0 || r.dryRun, detail: `stop: ${said(r)}`, actions: [`sh -c ${JSON.stringify(stop)}`] };
  },
  async completion() {
    // deploy runs `start` to its end and succeeds only on exit 0: after it, the service is done.
    return { done: true, exit_code: 0, detail: 'start ran to its end with exit 0' };
  },
  async status(ctx, t) {
    const status = t.spec.driver!.status;
    if (!status) return { state: 'unknown', detail: 'no driver.status command' };
    const r = await sh(ctx, t, status, true);
    return { state: r.exitCode === 0 ? 'running' : 'stopped', detail: `status: ${said(r)}` };
  },
});
