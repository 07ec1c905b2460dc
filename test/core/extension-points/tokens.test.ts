/**
 * Extension points: only the plugin that declares a hook fires it (and no plugin fires the
 * kernel's lifecycle hooks); a kind's metaSchema and the contribution id pattern are enforced
 * at registration, each with a coded error naming the contribution.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { Kernel } from '../../../core/kernel.js';
import { resolvePaths } from '../../../core/paths.js';
import { defineHook, defineKind, defineTap, defineContribution, kernelHooks } from '../../../sdk/index.js';

const kernelFixtures = fileURLToPath(new URL('../fixtures/kernel', import.meta.url));
const tokenFixtures = fileURLToPath(new URL('../fixtures/tokens', import.meta.url));
const homes: string[] = [];
const kernels: Kernel[] = [];
afterEach(async () => {
  for (const k of kernels.splice(0)) await k.shutdown();
  for (const h of homes.splice(0)) await rm(h, { recursive: true, force: true });
});

async function boot(enabled: string[]) {
  const home = await mkdtemp(join(tmpdir(), 'cx-tokens-'));
  homes.push(home);
  await mkdir(join(home, 'data'), { recursive: true });
  const plugins = Object.fromEntries(enabled.map((n) => [n, { enabled: true, tier: 'trusted', grants: [] }]));
  await writeFile(join(home, 'data', 'state.json'), JSON.stringify({ version: 1, plugins }));
  const terminal = { out: () => {}, err: () => {}, color: false, interactive: false };
  const paths = resolvePaths(
    {
      root: home,
      dataDir: join(home, 'data'),
      builtinDir: join(home, 'none'),
      pluginDirs: [kernelFixtures, tokenFixtures],
    },
    {},
  );
  const kernel = await Kernel.boot({ paths, terminal });
  kernels.push(kernel);
  return kernel;
}

describe('only the owner fires its hook', () => {
  test("a plugin firing another plugin's hook is refused, naming the owner; the owner still fires it", async () => {
    const kernel = await boot(['task-runner', 'cleanup-tasks', 'hook-thief']);
    expect(kernel.bootErrors).toEqual([]);
    const refused = kernel.invoke('command', 'steal', { args: { hook: 'pre_task' }, options: {} });
    await expect(refused).rejects.toMatchObject({
      code: 'CX_ERR_HOOK_NOT_OWNER',
      exitCode: 4,
      plugin: 'hook-thief',
      contribution: 'steal',
      message:
        "plugin 'hook-thief' may not fire hook 'pre_task': only plugin 'task-runner', which declares it, fires it.\nTap it instead (defineTap), or declare a hook of your own with defineHook.",
    });
    // The owner's own call goes through.
    expect(await kernel.invoke('command', 'run-task', { args: { id: 'tmp-clean' }, options: {} })).toBe(0);
  });

  test("the kernel's lifecycle hooks are fired by the kernel only", async () => {
    const kernel = await boot(['hook-thief']);
    for (const hook of ['startup', 'shutdown', 'plugin_loaded']) {
      await expect(kernel.invoke('command', 'steal', { args: { hook }, options: {} })).rejects.toMatchObject({
        code: 'CX_ERR_HOOK_NOT_OWNER',
        message: `plugin 'hook-thief' may not fire hook '${hook}': only the kernel, which declares it, fires it.\nTap it instead (defineTap), or declare a hook of your own with defineHook.`,
      });
    }
  });
});

describe('registration enforces the kind contract', () => {
  test("a kind's metaSchema and the id pattern: the bad contributions are reported with CX_ERR_META_INVALID, the good one registers", async () => {
    const kernel = await boot(['bad-meta']);
    expect(kernel.bootErrors.map((e) => e.toJSON())).toEqual([
      {
        code: 'CX_ERR_META_INVALID',
        plugin: 'bad-meta',
        message:
          'plugin \'bad-meta\': exporter \'xml\' has meta field \'format\' that must be one of: "csv", "json" (found: "xml"); it was not registered.\n' +
          "Kind 'exporter' (declared by plugin 'bad-meta') requires its meta to match its metaSchema; fix the contribution in plugin 'bad-meta'.",
      },
      {
        code: 'CX_ERR_META_INVALID',
        plugin: 'bad-meta',
        message:
          "plugin 'bad-meta': exporter 'Bad Id' has an id that is not snake_case or kebab-case (lower-case letters and digits, _ or - between them); it was not registered.\n" +
          "Rename it in plugin 'bad-meta', e.g. 'bad_id'.",
      },
    ]);
    expect(kernel.registry.ids('exporter')).toEqual(['csv']);
  });
});

describe('tokens are plain data', () => {
  test('defineHook/defineKind make frozen declarations; taps and contributions take the token or its name', () => {
    const preSync = defineHook<{ files: string[] }>('pre_sync', { type: 'bail', description: 'before a sync' });
    const exporter = defineKind<{ rows: number }, string>('exporter', { description: 'exports' });
    expect(preSync).toEqual({ name: 'pre_sync', type: 'bail', description: 'before a sync' });
    expect(Object.isFrozen(exporter)).toBe(true);
    expect(JSON.parse(JSON.stringify(exporter))).toEqual({ kind: 'exporter', description: 'exports' });
    const tap = defineTap(preSync, async (_ctx, p) => p.files.length < 3);
    expect(tap.hook).toBe('pre_sync');
    expect(defineTap(kernelHooks.post_check, async (_ctx, r) => r.status).hook).toBe('post_check');
    const c = defineContribution(exporter, 'csv', {}, async (_ctx, input) => `${input.rows} rows`);
    expect(c).toMatchObject({ kind: 'exporter', id: 'csv' });
  });
});
