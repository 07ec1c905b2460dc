/**
 * The seed's CustomResolver (Example 2): issues of my_special_service get the action
 * `custom_restart` with a wait; every other issue is left to the next resolver (null). The
 * action restarts the service, waits `wait_time` seconds and checks it is active, with only the
 * exec grants plugin.yaml requests.
 */
import { defineContribution, definePlugin, type Json } from 'cx-ops/sdk';

const SERVICE = 'my_special_service';

interface Issue {
  component: string;
  type: string;
}

export default definePlugin({
  name: 'special-service-healer',
  contributes: [
    defineContribution<Issue, Json>(
      'heal-resolver',
      'my-special-service',
      { priority: 10, description: `${SERVICE}: custom_restart with a 10 s wait` },
      async (_ctx, issue) =>
        issue.component === SERVICE
          ? { action: 'custom_restart', parameters: { service: SERVICE, wait_time: 10 } }
          : null,
    ),
    defineContribution<{ parameters: { wait_time?: number } }, Json>(
      'heal-action',
      'custom_restart',
      { category: 'service', description: `systemctl restart ${SERVICE}, wait, systemctl is-active` },
      async (ctx, { parameters }) => {
        const wait = Math.min(Math.max(Number(parameters.wait_time ?? 10), 0), 60);
        const r = await ctx.exec.run('systemctl', ['restart', SERVICE], { timeoutMs: 60_000 });
        if (!r.dryRun && r.exitCode !== 0)
          return { ok: false, detail: `restart failed: ${r.stderr.trim() || `exit ${r.exitCode}`}` };
        await ctx.exec.run('sleep', [String(wait)], { timeoutMs: (wait + 5) * 1000 });
        const s = await ctx.exec.run('systemctl', ['is-active', SERVICE], { timeoutMs: 10_000 });
        const state = s.stdout.trim();
        if (r.dryRun) return { ok: true, detail: `would restart ${SERVICE} and check it after ${wait}s` };
        return state === 'active'
          ? { ok: true, detail: `${SERVICE} restarted and active after ${wait}s` }
          : { ok: false, detail: `${SERVICE} is ${state || 'unknown'} ${wait}s after the restart` };
      },
    ),
  ],
});
