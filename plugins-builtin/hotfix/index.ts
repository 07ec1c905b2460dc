/**
 * The hotfix plugin: `cx-ops hotfix apply|check|rollback|list|snapshots`. It declares the
 * `hotfix-operation` contribution kind (operation-kind.ts: a plugin adds an operation type with
 * defineContribution) and fills it with the built-in types copy, append, symlink, execute and
 * capture (copy also applies many of its steps at once: `hotfix-operation-batch`).
 */
import { defineCommand, definePlugin } from 'cx-ops/sdk';
import { applyCommand, checkCommand, listCommand, rollbackCommand, snapshotsCommand } from './commands.js';
import { operationBatchKind, operationKind } from './operation-kind.js';
import { appendOperation } from './ops/append.js';
import { captureOperation } from './ops/capture.js';
import { copyBatchOperation, copyOperation } from './ops/copy.js';
import { executeOperation } from './ops/execute.js';
import { symlinkOperation } from './ops/symlink.js';
import type { HotfixSettings } from './plan-module.js';

const JSON_OPTION = { flags: '--json', description: 'print the result as JSON (errors too)' };

export default definePlugin<HotfixSettings>({
  name: 'hotfix',
  kinds: [operationKind, operationBatchKind],
  contributes: [
    copyOperation,
    copyBatchOperation,
    appendOperation,
    symlinkOperation,
    executeOperation,
    captureOperation,
    defineCommand({
      name: 'hotfix apply',
      dryRun: true,
      description:
        'Apply a hotfix module (a directory with index.json or index.yaml and src/): shows the plan and asks first',
      arguments: [{ name: 'dir', description: 'the module directory', required: true }],
      options: [
        {
          flags: '--dry-run',
          description: 'show the plan with unified diffs (and the exact command of each execute); change nothing',
        },
        { flags: '--force', description: 'apply even when schema_version is not newer than the one applied last' },
        { flags: '--resume', description: 'continue the interrupted run of this module from its journal' },
        JSON_OPTION,
      ],
      help: 'Pass -y to skip the confirmation (needed without a terminal). Targets, backup_dir and log_file are host paths placed under --root; DIR is read as given.\nExit codes: 0 applied, 1 failed and rolled back completely (or not confirmed), 2 bad module, 5 locked, an interrupted run pending, or a rollback that was incomplete.',
      run: applyCommand,
    }),
    defineCommand({
      name: 'hotfix check',
      description:
        "Show what a module would do, each target's current state and the schema_version applied last (the seed's --check); changes nothing",
      arguments: [{ name: 'dir', description: 'the module directory', required: true }],
      options: [JSON_OPTION],
      run: checkCommand,
    }),
    defineCommand({
      name: 'hotfix rollback',
      dryRun: true,
      description:
        'Undo a hotfix run from its journal (the last run by default; an interrupted one too): every touched path byte for byte',
      arguments: [{ name: 'dir', description: 'the module directory: roll back its last run' }],
      options: [
        { flags: '--run <id>', description: 'the run to roll back (see hotfix list)' },
        { flags: '--dry-run', description: 'show what would be undone; change nothing' },
        JSON_OPTION,
      ],
      help: 'Exit codes: 0 complete, 5 incomplete (the journal keeps what remains; run it again once the cause is fixed). Without cx-ops: cx-ops-rollback --list-snapshots',
      run: rollbackCommand,
    }),
    defineCommand({
      name: 'hotfix list',
      description: 'List applied modules (with their schema_version) and runs (applied, interrupted, rolled back, ...)',
      options: [JSON_OPTION],
      run: listCommand,
    }),
    defineCommand({
      name: 'hotfix snapshots',
      description: 'List the captured states (one per run: paths, databases, services), restorable by id',
      options: [JSON_OPTION],
      run: snapshotsCommand,
    }),
  ],
});
