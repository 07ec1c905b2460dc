/**
 * The systemd driver: writes the unit generated from the manifest (checked with
 * `systemd-analyze verify` first), then daemon-reload and start through the services plugin's
 * systemd manager. Where systemd does not run, detect says so and nothing starts.
 */
import type { Json, PluginContext } from 'cx-ops/sdk';
import type { DeployConfig } from './deploy-config.js';
import { defineDeployDriver, serviceManager, type Completion } from './deploy-driver-kind.js';
import { generateSystemdUnit, unitName } from './systemd-unit.js';

const unitDir = (ctx: PluginContext<DeployConfig>) =>
  ctx.config.systemd_unit_dir ?? ctx.fs.diskPath('/etc/systemd/system');

/** systemd's major version (0 when systemctl cannot say). */
export async function systemdVersion(ctx: PluginContext<unknown>): Promise<number> {
  const r = await ctx.exec.run('systemctl', ['--version'], { readOnly: true, timeoutMs: 10_000 });
  return Number(/systemd (\d+)/.exec(r.stdout)?.[1] ?? 0);
}

/** Runs `systemd-analyze verify` on a unit file; null when it passes or the tool is missing. */
export async function verifyUnit(ctx: PluginContext<unknown>, path: string): Promise<string | null> {
  const r = await ctx.exec.run('systemd-analyze', ['verify', path], { readOnly: true, timeoutMs: 30_000 });
  if (r.exitCode === 127 || r.dryRun) return null;
  const said = `${r.stdout}${r.stderr}`.trim();
  return r.exitCode === 0 && !/Unknown (key|section)|Failed to|Invalid/i.test(said)
    ? null
    : said || `exit ${r.exitCode}`;
}

/** The properties `completion` asks systemctl show for. */
export const COMPLETION_PROPERTIES = [
  'LoadState',
  'ActiveState',
  'SubState',
  'Result',
  'ExecMainCode',
  'ExecMainStatus',
];

/** `systemctl show` output (`Key=Value` lines, in systemd's own order) as a record. */
export function parseSystemctlShow(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

// ExecMainCode is the main process's waitid() si_code: CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3.
const CLD_EXITED = '1';

/**
 * Whether a run-once unit has run to its end, from its `systemctl show` properties: ended once
 * it is inactive or failed and its main process was reaped (ExecMainCode set), with the exit code
 * when it exited (null when a signal ended it). Inactive with no main process yet has not run.
 */
export function unitCompletion(p: Record<string, string>): Completion {
  const state = `${p.ActiveState ?? '?'} (${p.SubState ?? '?'})`;
  if (p.LoadState === 'not-found') return { done: true, exit_code: null, detail: 'no such unit' };
  if (p.ActiveState !== 'inactive' && p.ActiveState !== 'failed')
    return { done: false, exit_code: null, detail: state };
  const code = p.ExecMainCode ?? '0';
  if (code === '0') return { done: false, exit_code: null, detail: `${state}: its main process has not run yet` };
  const status = Number(p.ExecMainStatus);
  if (code === CLD_EXITED)
    return { done: true, exit_code: status, detail: `${state}: exited with ${status} (result ${p.Result})` };
  return { done: true, exit_code: null, detail: `${state}: ended by signal ${status} (result ${p.Result})` };
}

export const systemdDriver = defineDeployDriver<DeployConfig>({
  id: 'systemd',
  description:
    'A systemd unit generated from the manifest (verified with systemd-analyze), started through the services plugin',
  async detect(ctx) {
    const a = await serviceManager(ctx, 'systemd', { op: 'detect' });
    return a.available ? { available: true } : { available: false, reason: a.reason ?? 'systemd is not available' };
  },
  async capture(ctx, t) {
    const path = `${unitDir(ctx)}/${unitName(t)}`;
    return (await ctx.localFs.stat(path)) ? ctx.localFs.readFile(path) : null;
  },
  async deploy(ctx, t) {
    const name = unitName(t);
    const path = `${unitDir(ctx)}/${name}`;
    const want = generateSystemdUnit(t, null, await systemdVersion(ctx));
    const before = (await ctx.localFs.stat(path)) ? await ctx.localFs.readFile(path) : null;
    const actions: string[] = [];
    // Verify a copy first: a unit that systemd would reject is never installed.
    const check = `${ctx.env.stateDir}/verify/${name}`;
    await ctx.localFs.mkdir(`${ctx.env.stateDir}/verify`, { mode: 0o700 });
    await ctx.localFs.writeFile(check, want);
    const bad = await verifyUnit(ctx, check);
    if (bad) return { ok: false, changed: false, detail: `systemd-analyze verify rejects the unit: ${bad}`, actions };
    if (before !== want) {
      await ctx.localFs.writeFile(path, want, { mode: 0o644 });
      actions.push(`write ${path}`);
      const r = await serviceManager(ctx, 'systemd', { op: 'reload' });
      actions.push(`systemctl daemon-reload: ${r.detail}`);
    }
    const r = await serviceManager(ctx, 'systemd', {
      op: before === want ? 'start' : 'restart',
      name: name.replace(/\.service$/, ''),
    });
    actions.push(`systemctl ${before === want ? 'start' : 'restart'} ${name}: ${r.detail}`);
    return {
      ok: r.ok || ctx.env.dryRun,
      changed: before !== want,
      detail: r.ok ? `${name} started` : `${name} did not start: ${r.detail}`,
      actions,
    };
  },
  async revert(ctx, t, before: Json) {
    const name = unitName(t);
    const path = `${unitDir(ctx)}/${name}`;
    const actions: string[] = [];
    const stop = await serviceManager(ctx, 'systemd', { op: 'stop', name: name.replace(/\.service$/, '') });
    actions.push(`systemctl stop ${name}: ${stop.detail}`);
    if (typeof before === 'string') await ctx.localFs.writeFile(path, before, { mode: 0o644 });
    else if (await ctx.localFs.stat(path)) await ctx.localFs.remove(path);
    actions.push(`${typeof before === 'string' ? 'restore' : 'remove'} ${path}`);
    await serviceManager(ctx, 'systemd', { op: 'reload' });
    if (typeof before === 'string')
      await serviceManager(ctx, 'systemd', { op: 'start', name: name.replace(/\.service$/, '') });
    return {
      ok: true,
      detail: typeof before === 'string' ? `${name} restored and started` : `${name} stopped and removed`,
      actions,
    };
  },
  async completion(ctx, t) {
    // The services plugin's status says active or not; how the main process ended (and its
    // exit code) only `systemctl show` says. Read-only, like `systemctl --version`.
    const r = await ctx.exec.run(
      'systemctl',
      ['show', unitName(t), `--property=${COMPLETION_PROPERTIES.join(',')}`, '--no-pager'],
      { readOnly: true, timeoutMs: 30_000 },
    );
    if (r.exitCode !== 0)
      return {
        done: false,
        exit_code: null,
        detail: `systemctl show ${unitName(t)} failed (exit ${r.exitCode}): ${`${r.stderr}${r.stdout}`.trim() || 'no output'}`,
      };
    return unitCompletion(parseSystemctlShow(r.stdout));
  },
  async status(ctx, t) {
    const s = await serviceManager(ctx, 'systemd', { op: 'status', name: unitName(t).replace(/\.service$/, '') });
    return { state: (s.state ?? 'unknown') as 'running', detail: s.detail };
  },
});
