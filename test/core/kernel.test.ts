import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { Kernel } from '../../core/kernel.js';
import { resolvePaths } from '../../core/paths.js';

const fixtures = fileURLToPath(new URL('./fixtures/kernel', import.meta.url));
const homes: string[] = [];
const kernels: Kernel[] = [];
afterEach(async () => {
  for (const k of kernels.splice(0)) await k.shutdown();
  for (const h of homes.splice(0)) await rm(h, { recursive: true, force: true });
});

async function boot(enabled: string[]) {
  const home = await mkdtemp(join(tmpdir(), 'cx-kernel-'));
  homes.push(home);
  await mkdir(join(home, 'data'), { recursive: true });
  const plugins = Object.fromEntries(enabled.map((n) => [n, { enabled: true, tier: 'trusted', grants: [] }]));
  await writeFile(join(home, 'data', 'state.json'), JSON.stringify({ version: 1, plugins }));
  let out = '';
  const terminal = { out: (t: string) => void (out += t), err: () => {}, color: false, interactive: false };
  const paths = resolvePaths(
    { root: home, dataDir: join(home, 'data'), builtinDir: join(home, 'none'), pluginDirs: [fixtures] },
    {},
  );
  const kernel = await Kernel.boot({ paths, terminal });
  kernels.push(kernel);
  return { kernel, output: () => out };
}

describe('kernel with plugins', () => {
  test('a plugin declares a kind and a hook; another fills the kind; requires orders them', async () => {
    const { kernel, output } = await boot(['task-runner', 'cleanup-tasks']);
    expect(kernel.bootErrors).toEqual([]);
    expect(kernel.registry.list('task')).toEqual([
      { kind: 'task', id: 'tmp-clean', plugin: 'cleanup-tasks', tier: 'trusted', meta: { name: 'clean /tmp' } },
    ]);
    expect(await kernel.invoke('command', 'run-task', { args: { id: 'tmp-clean' }, options: {} })).toBe(0);
    expect(output()).toBe('{"status":"Success","by":"cleanup-tasks"}\n');
  });

  test("a trusted plugin's shape is checked by the same schema as a sandboxed one's: a bad hook type is refused, naming plugin, field and value", async () => {
    const { kernel } = await boot(['bad-shape', 'task-runner', 'freeze']);
    expect(kernel.bootErrors.map((e) => e.toJSON())).toEqual([
      {
        code: 'CX_ERR_MAIN_INVALID',
        plugin: 'bad-shape',
        message:
          "plugin 'bad-shape': index.js a declared hook needs a name, a description and a type of 'series', 'bail' or 'waterfall': " +
          'hooks[0].type must be one of: "series", "bail", "waterfall", found "parallel"\n' +
          "Its default export must be definePlugin({ name: 'bad-shape', ... }) from 'cx-ops/sdk'.",
      },
    ]);
    expect(await kernel.callHook('pre_fix', { fix_id: 'x' })).toMatchObject({ proceed: false, vetoedBy: 'freeze' });
  });

  test('a duplicate id names both plugins; the first registration stays', async () => {
    const { kernel } = await boot(['task-runner', 'cleanup-tasks', 'other-cleanup']);
    expect(kernel.bootErrors.map((e) => e.toJSON())).toEqual([
      {
        code: 'CX_ERR_CONTRIBUTION_DUPLICATE',
        plugin: 'other-cleanup',
        message:
          "task 'tmp-clean' is contributed by both 'cleanup-tasks' and 'other-cleanup'; the one from 'other-cleanup' was not registered.\nDisable one of the two plugins.",
      },
    ]);
    expect(await kernel.invoke('task', 'tmp-clean')).toEqual({ status: 'Success', by: 'cleanup-tasks' });
  });

  test("a plugin's taps veto through a plugin-declared hook and pre_fix; a throwing post_check tap is reported, not fatal", async () => {
    const { kernel, output } = await boot(['task-runner', 'cleanup-tasks', 'freeze']);
    expect(await kernel.invoke('command', 'run-task', { args: { id: 'tmp-clean' }, options: {} })).toBe(1);
    expect(output()).toBe('vetoed by freeze\n');
    expect(await kernel.callHook('pre_fix', { fix_id: 'x' })).toMatchObject({ proceed: false, vetoedBy: 'freeze' });
    const post = await kernel.callHook('post_check', { check_id: 'x' });
    expect(post.proceed).toBe(true);
    expect(post.errors.map((e) => e.toJSON())).toEqual([
      {
        code: 'CX_ERR_PLUGIN_THREW',
        plugin: 'freeze',
        hook: 'post_check',
        message: "plugin 'freeze' failed in its 'post_check' tap: alerting backend down",
      },
    ]);
  });

  test('contributing to an undeclared kind or tapping an unknown hook is reported with the known names', async () => {
    const { kernel } = await boot(['orphan']);
    const codes = kernel.bootErrors.map((e) => [e.code, e.plugin]);
    expect(codes).toEqual([
      ['CX_ERR_KIND_UNKNOWN', 'orphan'],
      ['CX_ERR_HOOK_UNKNOWN', 'orphan'],
    ]);
    expect(kernel.bootErrors[0]!.message).toContain(
      "contributes to kind 'widget', which no loaded plugin declares (known kinds: command, check, fix)",
    );
    expect(kernel.bootErrors[1]!.message).toContain(
      "taps hook 'pre_chek', which does not exist (known hooks: startup, shutdown, plugin_loaded, pre_check,",
    );
  });

  test('a plugin requiring one that is not enabled is skipped with the reason', async () => {
    const { kernel } = await boot(['cleanup-tasks']);
    expect(kernel.plugins.get('cleanup-tasks')!.status).toBe('failed');
    expect(kernel.bootErrors[0]!.message).toContain(
      "plugin 'cleanup-tasks' requires 'task-runner' ^1.0.0, which is not installed or not enabled",
    );
  });

  test('what a dry run invokes or fires is a dry run too, whatever the caller asks', async () => {
    const { kernel, output } = await boot(['task-runner', 'stamp-writer']);
    expect(kernel.bootErrors).toEqual([]);
    expect(
      await kernel.invoke('command', 'run-task', { args: { id: 'write-stamp' }, options: {} }, { dryRun: true }),
    ).toBe(0);
    const reported = JSON.parse(output());
    expect(reported).toEqual({ dry: true, dry_run_actions: [expect.stringContaining('task-stamp')] });
    const dataDir = kernel.paths.dataDir;
    expect((await readdir(dataDir)).filter((f) => f.endsWith('stamp'))).toEqual([]);
    expect(await kernel.invoke('command', 'run-task', { args: { id: 'write-stamp' }, options: {} })).toBe(0);
    expect((await readdir(dataDir)).filter((f) => f.endsWith('stamp')).sort()).toEqual(['tap-stamp', 'task-stamp']);
  });
});
