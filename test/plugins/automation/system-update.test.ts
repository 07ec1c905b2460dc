/**
 * The system-update task over a faked updates plugin (kind update-run): security-only by
 * default with the snapshot first, test_mode as a dry run, auto_reboot off by default and, when
 * on, a reboot only when one is required; a failed apply is Failed; no updates plugin is Skipped.
 */
import { describe, expect, test } from 'vitest';
import { systemUpdateTask } from '../../../plugins-builtin/automation/tasks/system-update.js';
import type { TaskInput } from '../../../sdk/index.js';
import type { PluginContext } from '../../../sdk/types.js';

function fake(o: { reboot_required?: boolean; status?: string; loaded?: boolean } = {}) {
  const calls: Array<{ input: unknown; dryRun: unknown }> = [];
  const ran: string[][] = [];
  const ctx = {
    config: { updates: { auto_reboot: false, backup_before_update: true } },
    registry: {
      list: async () => (o.loaded === false ? [] : [{ id: 'apply', kind: 'update-run' }]),
      invoke: async (_kind: unknown, _id: string, input: unknown, opts: { dryRun?: boolean }) => {
        calls.push({ input, dryRun: opts.dryRun });
        return {
          dryRun: Boolean(opts.dryRun),
          status: o.status ?? (opts.dryRun ? 'planned' : 'applied'),
          message: o.status === 'failed' ? 'update failed: apt: dpkg was interrupted' : 'applied 2 update(s)',
          snapshot: opts.dryRun ? null : '20260105-020000',
          results: [
            {
              updater: 'apt',
              ok: true,
              applied: opts.dryRun
                ? []
                : [
                    { name: 'openssl', from: '3.0.1', to: '3.0.2' },
                    { name: 'curl', from: '8.1', to: '8.2' },
                  ],
              actions: [],
            },
          ],
          pruned: [],
          reboot_required: Boolean(o.reboot_required),
          said: '2 update(s) to apply:\n  openssl 3.0.1 -> 3.0.2 (security)\n',
        };
      },
    },
    exec: { run: async (cmd: string, args: string[]) => (ran.push([cmd, ...args]), { exitCode: 0, stderr: '' }) },
  } as unknown as PluginContext<unknown>;
  return { ctx, calls, ran };
}
const input = (config: Record<string, unknown>, phase: TaskInput['phase'] = 'execute') =>
  ({
    phase,
    task_id: 'weekly-updates',
    execution_id: 'e',
    trigger: { type: 'Scheduled' },
    config,
    dry_run: false,
    deadline_ms: 0,
  }) as TaskInput;

describe('system-update', () => {
  test('security only by default, the snapshot first; a required reboot is said, not done, while auto_reboot is off', async () => {
    const f = fake({ reboot_required: true });
    const out = await systemUpdateTask.run(f.ctx, input({}));
    expect(f.calls).toEqual([{ input: { security: true, system: false, snapshot: true }, dryRun: false }]);
    expect(f.ran).toEqual([]);
    expect(out).toMatchObject({
      status: 'Success',
      changes_made: [
        { type: 'package_updated', target: 'openssl', detail: '3.0.1 -> 3.0.2' },
        { type: 'package_updated', target: 'curl', detail: '8.1 -> 8.2' },
      ],
      resources: { updates_installed: 2 },
      details: { snapshot: '20260105-020000', reboot_required: true, planned: false, security_only: true },
    });
    expect((out as { output: string }).output).toMatch(
      /applied: applied 2 update\(s\)\na reboot is required \(auto_reboot is off\)$/,
    );
  });

  test('test_mode plans all updates without installing; auto_reboot reboots only when a reboot is required', async () => {
    const plan = fake({ reboot_required: true });
    const planned = await systemUpdateTask.run(
      plan.ctx,
      input({ test_mode: true, update_type: 'all', auto_reboot: true, backup_before_update: false }),
    );
    expect(plan.calls).toEqual([{ input: { security: false, system: false, snapshot: false }, dryRun: true }]);
    expect(planned).toMatchObject({ status: 'Success', resources: { updates_installed: 0 } });
    expect(plan.ran).toEqual([]);
    const needed = fake({ reboot_required: true });
    const rebooted = await systemUpdateTask.run(needed.ctx, input({ auto_reboot: true }));
    expect(needed.ran).toEqual([['shutdown', '-r', '+1', 'cx-ops automation: reboot required after updates']]);
    expect((rebooted as { changes_made: unknown[] }).changes_made.at(-1)).toEqual({
      type: 'reboot_scheduled',
      target: 'shutdown -r +1',
      detail: 'scheduled',
    });
    const notNeeded = fake({ reboot_required: false });
    await systemUpdateTask.run(notNeeded.ctx, input({ auto_reboot: true }));
    expect(notNeeded.ran).toEqual([]);
  });

  test('a failed apply is Failed with its message; without the updates plugin the task is Skipped', async () => {
    expect(await systemUpdateTask.run(fake({ status: 'failed' }).ctx, input({}))).toMatchObject({
      status: 'Failed',
      error: 'update failed: apt: dpkg was interrupted',
    });
    expect(await systemUpdateTask.run(fake({ loaded: false }).ctx, input({}, 'can_execute'))).toEqual({
      ok: false,
      reason: 'the updates plugin is not loaded (cx-ops plugins enable updates)',
    });
  });
});
