import { cp, mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { Kernel } from '../../core/kernel.js';
import { resolvePaths } from '../../core/paths.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'cx-shapes-'));
  await cp(
    fileURLToPath(new URL('./fixtures/kernel/task-runner', import.meta.url)),
    join(home, 'plugins/task-runner'),
    { recursive: true },
  );
  await cp(
    fileURLToPath(new URL('./fixtures/kernel/cleanup-tasks', import.meta.url)),
    join(home, 'plugins/cleanup-tasks'),
    { recursive: true },
  );
  // cleanup-tasks counts its activations in a file, so laziness is visible from outside.
  await writeFile(
    join(home, 'plugins/cleanup-tasks/index.js'),
    `export default {
      name: 'cleanup-tasks',
      async activate(ctx) { await ctx.localFs.writeFile(ctx.env.dataDir + '/activated', 'yes'); },
      contributes: [{ kind: 'task', id: 'tmp-clean', meta: { name: 'clean /tmp' }, async run() { return { status: 'Success' }; } }],
    };`,
  );
  await mkdir(join(home, 'data'), { recursive: true });
  const on = { enabled: true, tier: 'trusted', grants: [] };
  await writeFile(
    join(home, 'data/state.json'),
    JSON.stringify({ version: 1, plugins: { 'task-runner': on, 'cleanup-tasks': on } }),
  );
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function boot(): Promise<Kernel> {
  const paths = resolvePaths(
    {
      root: home,
      dataDir: join(home, 'data'),
      cacheDir: join(home, 'cache'),
      builtinDir: join(home, 'none'),
      pluginDirs: [join(home, 'plugins')],
    },
    {},
  );
  return Kernel.boot({ paths, terminal: { out() {}, err() {}, color: false, interactive: false } });
}
const activated = () => readFile(join(home, 'data/activated'), 'utf8').catch(() => 'no');

test('a warm run registers trusted plugins from the shape cache and loads one only when it is used', async () => {
  const cold = await boot();
  expect(cold.plugins.get('cleanup-tasks')!.definition).toBeDefined();
  expect(await activated()).toBe('yes');
  await cold.shutdown();
  await rm(join(home, 'data/activated'));

  const warm = await boot();
  const p = warm.plugins.get('cleanup-tasks')!;
  expect(p.status).toBe('active');
  expect(p.definition).toBeUndefined();
  expect(warm.registry.list('task').map((c) => c.id)).toEqual(['tmp-clean']);
  expect(await activated()).toBe('no');
  expect(await warm.invoke('task', 'tmp-clean')).toEqual({ status: 'Success' });
  expect(p.definition).toBeDefined();
  expect(await activated()).toBe('yes');
  await warm.shutdown();
});

test('any change in the plugin directory makes the next run load it afresh', async () => {
  await (await boot()).shutdown();
  await writeFile(
    join(home, 'plugins/cleanup-tasks/index.js'),
    `export default { name: 'cleanup-tasks', contributes: [{ kind: 'task', id: 'log-rotate', meta: {}, async run() { return 1; } }] };`,
  );
  const k = await boot();
  expect(k.plugins.get('cleanup-tasks')!.definition).toBeDefined();
  expect(k.registry.list('task').map((c) => c.id)).toEqual(['log-rotate']);
  await k.shutdown();
});

test('discovery remembers valid manifests by mtime and size, and rereads a changed one', async () => {
  const { discoverPlugins } = await import('../../core/loader/discover.js');
  const paths = resolvePaths(
    { root: home, cacheDir: join(home, 'cache'), builtinDir: join(home, 'none'), pluginDirs: [join(home, 'plugins')] },
    {},
  );
  const first = await discoverPlugins(paths);
  expect([...first.plugins.keys()].sort()).toEqual(['cleanup-tasks', 'task-runner']);
  const cached = JSON.parse(await readFile(join(home, 'cache/manifests.json'), 'utf8'));
  expect(Object.keys(cached.entries).sort()).toEqual([
    join(home, 'plugins/cleanup-tasks/plugin.yaml'),
    join(home, 'plugins/task-runner/plugin.yaml'),
  ]);
  const manifestFile = join(home, 'plugins/task-runner/plugin.yaml');
  await writeFile(manifestFile, (await readFile(manifestFile, 'utf8')).replace('version: 1.0.0', 'version: 1.0.1'));
  const second = await discoverPlugins(paths);
  expect(second.plugins.get('task-runner')!.manifest.version).toBe('1.0.1');
});

test('a cached shape that does not pass the shape schema is left out, so its plugin is loaded afresh', async () => {
  const first = await boot();
  await first.shutdown();
  const file = join(home, 'cache/shapes.json');
  const cache = JSON.parse(await readFile(file, 'utf8'));
  cache.entries['cleanup-tasks'].shape.contributes[0].meta = 'not an object';
  await writeFile(file, JSON.stringify(cache));
  await rm(join(home, 'data/activated'));
  const { readShapeCache } = await import('../../core/loader/shape-cache.js');
  expect(Object.keys(await readShapeCache(file))).toEqual(['task-runner']);
  const warm = await boot();
  expect(await activated()).toBe('yes');
  expect(warm.registry.list('task')).toEqual([
    { kind: 'task', id: 'tmp-clean', plugin: 'cleanup-tasks', tier: 'trusted', meta: { name: 'clean /tmp' } },
  ]);
  await warm.shutdown();
});

test("built-in plugins are keyed on the build's id, not on their files (no stat of every file at each start)", async () => {
  const builtinDir = join(home, 'builtin');
  await mkdir(builtinDir, { recursive: true });
  await cp(join(home, 'plugins/task-runner'), join(builtinDir, 'task-runner'), { recursive: true });
  await rm(join(home, 'plugins'), { recursive: true, force: true });
  await writeFile(join(builtinDir, '.build-id'), 'build-0000-1\n');
  const bootBuiltin = () =>
    Kernel.boot({
      paths: resolvePaths(
        { root: home, dataDir: join(home, 'data'), cacheDir: join(home, 'cache'), builtinDir, pluginDirs: [] },
        {},
      ),
      terminal: { out() {}, err() {}, color: false, interactive: false },
    });
  const first = await bootBuiltin();
  expect(first.plugins.get('task-runner')!.stamp).toMatch(/^build:build-0000-1\|/);
  await first.shutdown();
  // A file of the plugin changed without a build: the cached shape still stands (only a build changes built-ins).
  await writeFile(join(builtinDir, 'task-runner/extra.txt'), 'x');
  const same = await bootBuiltin();
  expect(same.plugins.get('task-runner')!.definition).toBeUndefined();
  await same.shutdown();
  // A new build: loaded afresh.
  await writeFile(join(builtinDir, '.build-id'), 'build-0000-2\n');
  const rebuilt = await bootBuiltin();
  expect(rebuilt.plugins.get('task-runner')!.definition).toBeDefined();
  expect(rebuilt.plugins.get('task-runner')!.stamp).toMatch(/^build:build-0000-2\|/);
  await rebuilt.shutdown();
  // No build id (sources run in place): the tree's stamp, as for any trusted plugin.
  await rm(join(builtinDir, '.build-id'));
  const { treeStamp } = await import('../../core/loader/shape-cache.js');
  const tree = await bootBuiltin();
  expect(tree.plugins.get('task-runner')!.stamp).toMatch(
    new RegExp(`^${(await treeStamp(join(builtinDir, 'task-runner'))).replace(/\./g, '\\.')}\\|`),
  );
  await tree.shutdown();
});
