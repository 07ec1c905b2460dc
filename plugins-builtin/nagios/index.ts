/**
 * nagios: any executable following the Nagios plugin API becomes a cx-ops check, declared in
 * config.yaml:
 *
 *   nagios:
 *     checks:
 *       - { id: nagios_disk, command: [/usr/lib/nagios/plugins/check_disk, -w, 20%, -c, 10%, -p, /], category: disk, severity: high }
 *
 * The checks are contributed when the plugin activates (they depend on its config).
 */
import { definePlugin, type Contribution } from 'cx-ops/sdk';
import { nagiosCheck, type NagiosCheckConfig } from './nagios-check.js';

export interface NagiosConfig {
  checks: NagiosCheckConfig[];
}

const contributes: Contribution[] = [];

export default definePlugin<NagiosConfig>({
  name: 'nagios',
  contributes,
  async activate(ctx) {
    contributes.length = 0;
    const seen = new Set<string>();
    ctx.config.checks.forEach((c, i) => {
      if (seen.has(c.id))
        throw new Error(
          `${ctx.env.configDir}/config.yaml nagios.checks[${i}].id: '${c.id}' is used twice; give each check its own id`,
        );
      seen.add(c.id);
      contributes.push(nagiosCheck(c, i));
    });
  },
});
