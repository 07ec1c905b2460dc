import { definePlugin, defineCheck, defineFix, pass, fail } from 'cx-ops/sdk';

const SERVICE = 'my-service';

export default definePlugin({
  name: 'custom-service',
  contributes: [
    defineCheck({
      id: 'custom_service',
      name: 'Custom Service',
      description: 'Verify custom service is running',
      category: 'services',
      severity: 'high',
      fix_id: 'restart_custom_service',
      async run(ctx) {
        const r = await ctx.exec.run('systemctl', ['is-active', SERVICE], { timeoutMs: 5000 });
        const state = r.stdout.trim() || 'unknown';
        return r.exitCode === 0
          ? pass('Service is running', { service: SERVICE, state })
          : fail('Service is not running', { service: SERVICE, state, exit_code: r.exitCode });
      },
    }),
    defineFix({
      id: 'restart_custom_service',
      name: 'Restart Custom Service',
      description: `systemctl restart ${SERVICE}`,
      safe: true,
      async run(ctx) {
        const r = await ctx.exec.run('systemctl', ['restart', SERVICE], { timeoutMs: 30000 });
        return {
          ok: r.exitCode === 0,
          message:
            r.exitCode === 0 ? `restarted ${SERVICE}` : `restart failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
          actions: [`systemctl restart ${SERVICE}`],
        };
      },
    }),
  ],
});
