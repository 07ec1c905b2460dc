/**
 * The services plugin: declares the `service-manager` contribution kind, contributes the
 * systemd and supervisord managers, `cx-ops repair services` and the `restart_failed_services`
 * fix for doctor.
 */
import { defineCommand, defineFix, definePlugin, type PluginContext } from 'cx-ops/sdk';
import { serviceManagerKind } from './service-manager-contract.js';
import { repairServices, type ServicesConfig, type ServicesReport } from './services-repair.js';
import { supervisordManager } from './supervisord-manager.js';
import { systemdManager } from './systemd-manager.js';

function format(r: ServicesReport): string {
  const lines: string[] = [];
  for (const m of r.managers) lines.push(`${m.id}: ${m.available ? 'available' : `SKIP (${m.reason})`}`);
  for (const s of r.services) {
    lines.push(`  ${s.manager}/${s.name}: ${s.outcome} - ${s.message}`);
    s.attempts.forEach((a, i) =>
      lines.push(`      attempt ${i + 1}: ${a.ok ? 'running' : `${a.state}`} (${a.detail})`),
    );
  }
  lines.push(`${r.status.toUpperCase()}: ${r.message}`);
  return `${lines.join('\n')}\n`;
}

// A dry run that found failed services exits 1; so does a plan that was not confirmed.
const EXIT: Record<ServicesReport['status'], number> = {
  ok: 0,
  repaired: 0,
  planned: 1,
  skipped: 0,
  failing: 1,
  declined: 1,
};

/** Shows the plan and asks on a terminal; without one it needs -y. */
function confirmPlan(ctx: PluginContext<ServicesConfig>): (plan: string[]) => Promise<boolean> {
  return async (plan) => {
    ctx.io.err(`repair services will:\n${plan.map((l) => `  - ${l}\n`).join('')}`);
    if (ctx.env.assumeYes) return true;
    if (!ctx.io.interactive) {
      ctx.io.err(
        'not changing anything: no terminal to ask. Run again with -y to apply this plan (or --dry-run to only look).\n',
      );
      return false;
    }
    return ctx.io.confirm('Restart these services?');
  };
}

export default definePlugin<ServicesConfig>({
  name: 'services',
  kinds: [serviceManagerKind],
  contributes: [
    systemdManager,
    supervisordManager,
    defineCommand<ServicesConfig>({
      name: 'repair services',
      dryRun: true,
      description:
        'Restart failed services with backoff and verify them; a service that keeps failing is left alone and reported',
      options: [
        { flags: '--restart-failed', description: 'restart failed services (what the command does by default)' },
        { flags: '--service <name>', description: 'only this service (also retries one that was given up on)' },
        { flags: '--dry-run', description: 'show what would be restarted; change nothing' },
        { flags: '--json', description: 'print the report as JSON' },
      ],
      help: 'Shows its plan (each service and its manager) and asks on a terminal; without a terminal it needs -y.\nExit codes: 0 nothing failed or all restarted, 1 a service still fails (also a --dry-run that found failed ones, or a plan not confirmed), 5 another run holds the lock.',
      async run(ctx, input) {
        const o = input.options;
        const r = await repairServices(ctx, {
          service: typeof o.service === 'string' ? o.service : null,
          confirm: confirmPlan(ctx),
        });
        ctx.io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : format(r));
        return EXIT[r.status];
      },
    }),
    defineFix<ServicesConfig>({
      id: 'restart_failed_services',
      name: 'Restart failed services',
      description: 'Restarts failed services with backoff and verifies them; gives up on one that keeps failing',
      safe: false,
      async run(ctx) {
        const r = await repairServices(ctx, { service: null });
        return {
          ok: r.status !== 'failing',
          message: r.message,
          actions: r.services.map((s) => `${s.manager}/${s.name}: ${s.outcome}`),
        };
      },
    }),
  ],
});
