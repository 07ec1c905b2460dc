/**
 * Task type `system-update`: applies updates through the updates plugin (kind `update-run`,
 * the same path as `cx-ops update apply`: the updater plugins, pre_update/post_update, the lock,
 * the journal) — security updates only (default) or all, with the updates snapshot first
 * (backup_before_update, default on: `cx-ops update rollback` undoes it). `test_mode` plans
 * only (a dry run). `auto_reboot` is off by default; when on, a reboot is scheduled only when
 * the host says one is required after the updates (shutdown -r +1).
 */
import { defineTask, type Json, type SystemChange, type TaskOutcome } from 'cx-ops/sdk';
import { updateRunKind } from '../../updates/update-run-kind.js';
import type { AutomationConfig } from '../automation-config.js';

interface UpdateConfig {
  update_type?: 'security' | 'all';
  backup_before_update?: boolean;
  auto_reboot?: boolean;
  test_mode?: boolean;
}

export const systemUpdateTask = defineTask<UpdateConfig>({
  id: 'system-update',
  name: 'System Update',
  description: 'Applies package updates (security only or all) through update apply, with a snapshot first',
  task_type: 'update',
  priority: 'high',
  estimated_duration_seconds: 600,
  config_schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      update_type: { enum: ['security', 'all'] },
      backup_before_update: { type: 'boolean' },
      auto_reboot: { type: 'boolean' },
      test_mode: { type: 'boolean' },
    },
  } as Record<string, Json>,
  async can_execute(ctx) {
    const kinds = await ctx.registry.list(updateRunKind);
    return kinds.some((k) => k.id === 'apply')
      ? true
      : 'the updates plugin is not loaded (cx-ops plugins enable updates)';
  },
  async execute(ctx, { config, dry_run }): Promise<TaskOutcome> {
    const defaults = (ctx.config as AutomationConfig).updates;
    const security = (config.update_type ?? 'security') === 'security';
    const plan = dry_run || config.test_mode === true;
    const r = await ctx.registry.invoke(
      updateRunKind,
      'apply',
      { security, system: false, snapshot: config.backup_before_update ?? defaults.backup_before_update },
      { dryRun: plan },
    );
    const applied = r.results.flatMap((x) => x.applied);
    const changes: SystemChange[] = applied.map((a) => ({
      type: 'package_updated',
      target: a.name,
      detail: `${a.from} -> ${a.to}`,
    }));
    const lines = [r.said.trimEnd(), `${r.status}: ${r.message}`].filter(Boolean);
    if (r.status === 'failed' || r.status === 'vetoed' || r.status === 'declined')
      return {
        status: 'Failed',
        output: lines.join('\n'),
        error: r.message,
        changes_made: changes,
        resources: { updates_installed: applied.length },
      };
    if (r.status === 'skipped') return { status: 'Skipped', output: lines.join('\n'), error: r.message };
    const reboot = config.auto_reboot ?? defaults.auto_reboot;
    if (!plan && reboot && r.reboot_required) {
      const s = await ctx.exec.run('shutdown', ['-r', '+1', 'cx-ops automation: reboot required after updates']);
      changes.push({
        type: 'reboot_scheduled',
        target: 'shutdown -r +1',
        detail: s.exitCode === 0 ? 'scheduled' : s.stderr.trim(),
      });
      lines.push(
        s.exitCode === 0
          ? 'reboot scheduled in 1 minute (auto_reboot)'
          : `could not schedule the reboot: ${s.stderr.trim()}`,
      );
    } else if (r.reboot_required) lines.push('a reboot is required (auto_reboot is off)');
    return {
      status: 'Success',
      output: lines.join('\n'),
      changes_made: changes,
      resources: { updates_installed: plan ? 0 : applied.length },
      details: { snapshot: r.snapshot, reboot_required: r.reboot_required, planned: plan, security_only: security },
    };
  },
});
