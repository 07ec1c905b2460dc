/**
 * The updates plugin: `cx-ops update check|apply|rollback`. It declares the `updater`
 * contribution kind (the apt plugin fills it) and the hooks `pre_update` (a tap resolving false
 * vetoes the update) and `post_update`.
 */
import { defineCommand, definePlugin } from 'cx-ops/sdk';
import { postUpdate, preUpdate } from './hooks.js';
import { rollbackCommand } from './rollback-command.js';
import { applyCommand } from './update-apply.js';
import { checkUpdates, formatCheck, type UpdatesConfig } from './update-check.js';
import { updaterKind } from './updater-contract.js';

export default definePlugin<UpdatesConfig>({
  name: 'updates',
  kinds: [updaterKind],
  hooks: [preUpdate, postUpdate],
  contributes: [
    defineCommand({
      name: 'update check',
      description: 'Show pending package updates, how many are security updates, and whether a reboot is required',
      options: [
        { flags: '--force', description: 'ask the updaters again instead of using the cached answer (updates.check_interval_hours)' },
        { flags: '--json', description: 'print the result as JSON' },
      ],
      async run(ctx, input) {
        const s = await checkUpdates(ctx, { force: Boolean(input.options.force) });
        ctx.io.out(input.options.json ? `${JSON.stringify(s, null, 2)}\n` : formatCheck(s, ctx.env.kernelVersion));
        return 0;
      },
    }),
    defineCommand({
      name: 'update apply',
      dryRun: true,
      description: 'Apply updates (a snapshot is taken first when updates.backup_before_update is on)',
      options: [
        { flags: '--packages', description: 'upgrade installed packages' },
        { flags: '--system', description: 'full distribution upgrade' },
        { flags: '--security', description: 'security updates only' },
        { flags: '--only <package...>', description: 'only these packages' },
        { flags: '--dry-run', description: 'show what would be done; change nothing' },
        { flags: '--json', description: 'print the report as JSON' },
      ],
      help: 'Pass -y to skip the confirmation.',
      run: applyCommand,
    }),
    defineCommand({
      name: 'update rollback',
      dryRun: true,
      description: 'Roll back files and package versions to a snapshot (the newest by default)',
      arguments: [{ name: 'id', description: 'snapshot id, e.g. 20240115-120000 (see --list)' }],
      options: [
        { flags: '--list', description: 'list the snapshots' },
        { flags: '--dry-run', description: 'show what would be restored; change nothing' },
        { flags: '--json', description: 'print the result as JSON' },
      ],
      run: rollbackCommand,
    }),
  ],
});
