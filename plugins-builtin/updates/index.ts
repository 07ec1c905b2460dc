/**
 * The updates plugin: `cx-ops update check|apply|rollback`. It declares the `updater`
 * contribution kind (the apt plugin fills it) and the hooks `pre_update` (a tap resolving false
 * vetoes the update) and `post_update`, the kind `update-run` (update-run-kind.ts: apply without
 * asking, for the automation plugin's system-update task) and the fix `rollback_last_update`
 * (the heal plugin's rollback_update action).
 */
import { defineCommand, definePlugin } from 'cx-ops/sdk';
import { rollbackCommand, rollbackLastUpdateFix } from './rollback-command.js';
import { applyCommand } from './update-apply.js';
import { postUpdate, preUpdate } from './hooks.js';
import { checkUpdates, formatCheck, sourcesHint, type UpdatesConfig } from './update-check.js';
import { updaterKind } from './updater-contract.js';
import { updateRun, updateRunKind } from './update-run-kind.js';

export default definePlugin<UpdatesConfig>({
  name: 'updates',
  kinds: [updaterKind, updateRunKind],
  hooks: [preUpdate, postUpdate],
  contributes: [
    updateRun,
    rollbackLastUpdateFix,
    defineCommand<UpdatesConfig>({
      name: 'update check',
      dryRun: true,
      description:
        'Show pending package updates, how many are security updates, and whether a reboot is required (read-only)',
      options: [
        {
          flags: '--refresh',
          description:
            'first refresh the package lists (apt-get update: network, writes /var/lib/apt/lists, takes the update lock)',
        },
        { flags: '--force', description: "the seed's name for --refresh" },
        { flags: '--dry-run', description: 'with --refresh: say what would be refreshed, fetch nothing' },
        { flags: '--json', description: 'print the result as JSON' },
      ],
      help: 'Without --refresh this only reads: it answers from the package lists apt already has (like apt list --upgradable) and writes nothing.\nExit codes: 0 answered, 1 a source could not be fetched (the others were used), 5 another run holds the update lock.',
      async run(ctx, input) {
        const s = await checkUpdates(ctx, { refresh: Boolean(input.options.refresh || input.options.force) });
        ctx.io.out(
          input.options.json
            ? `${JSON.stringify(s, null, 2)}\n`
            : formatCheck(s, ctx.env.kernelVersion, ctx.env.command),
        );
        if (input.options.json && s.sources_failed.length) ctx.io.err(`${sourcesHint(s, ctx.env.command)}\n`);
        return s.sources_failed.length ? 1 : 0;
      },
    }),
    defineCommand<UpdatesConfig>({
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
    defineCommand<UpdatesConfig>({
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
