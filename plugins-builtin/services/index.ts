/**
 * The services plugin: declares the `service-manager` contribution kind, contributes the
 * systemd and supervisord managers, `cx-ops repair services` and the `restart_failed_services`
 * fix for doctor.
 */
import { defineCommand, defineFix, definePlugin } from 'cx-ops/sdk';
import { RunLockedError } from 'cx-ops/sdk/host';
import { repairServices, type ServicesConfig, type ServicesReport } from './services-repair.js';
import { supervisordManager } from './supervisord-manager.js';
import { systemdManager } from './systemd-manager.js';

function format(r: ServicesReport): string {
  const lines: string[] = [];
  for (const m of r.managers) lines.push(`${m.id}: ${m.available ? 'available' : `SKIP (${m.reason})`}`);
  for (const s of r.services) {
    lines.push(`  ${s.manager}/${s.name}: ${s.outcome} - ${s.message}`);
    s.attempts.forEach((a, i) => lines.push(`      attempt ${i + 1}: ${a.ok ? 'running' : `${a.state}`} (${a.detail})`));
  }
  lines.push(`${r.status.toUpperCase()}: ${r.message}`);
  return `${lines.join('\n')}\n`;
}

const EXIT: Record<ServicesReport['status'], number> = { ok: 0, repaired: 0, planned: 0, skipped: 0, failing: 1 };

export default definePlugin<ServicesConfig>({
  name: 'services',
  kinds: [{ kind: 'service-manager', description: 'A service manager: detect, list, status, restart (see defineServiceManager in cx-ops/sdk)' }],
  contributes: [
    systemdManager,
    supervisordManager,
    defineCommand({
      name: 'repair services',
      dryRun: true,
      description: 'Restart failed services with backoff and verify them; a service that keeps failing is left alone and reported',
      options: [
        { flags: '--restart-failed', description: 'restart failed services (what the command does by default)' },
        { flags: '--service <name>', description: 'only this service (also retries one that was given up on)' },
        { flags: '--dry-run', description: 'show what would be restarted; change nothing' },
        { flags: '--json', description: 'print the report as JSON' },
      ],
      async run(ctx, input) {
        const o = input.options;
        let r: ServicesReport;
        try {
          r = await repairServices(ctx, { service: typeof o.service === 'string' ? o.service : null });
        } catch (e) {
          if (!(e instanceof RunLockedError)) throw e;
          ctx.io.err(`${e.message}\n`);
          return 5;
        }
        ctx.io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : format(r));
        return EXIT[r.status];
      },
    }),
    defineFix({
      id: 'restart_failed_services',
      name: 'Restart failed services',
      description: 'Restarts failed services with backoff and verifies them; gives up on one that keeps failing',
      safe: false,
      async run(ctx) {
        let r: ServicesReport;
        try {
          r = await repairServices(ctx, { service: null });
        } catch (e) {
          if (e instanceof RunLockedError) return { ok: false, message: e.message, actions: [] };
          throw e;
        }
        return { ok: r.status !== 'failing', message: r.message, actions: r.services.map((s) => `${s.manager}/${s.name}: ${s.outcome}`) };
      },
    }),
  ],
});
