import { definePlugin, defineCheck, defineFix, pass, fail, skip } from 'cx-ops/sdk';

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
        const state = r.stdout.trim();
        // No state at all: systemctl could not ask systemd (not the init system here, no bus).
        if (!state) {
          const why = r.stderr.trim().split('\n')[0] || `systemctl exited ${r.exitCode}`;
          return skip(`systemd is not answering on this host: ${why}`, { service: SERVICE, exit_code: r.exitCode });
        }
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
