/**
 * A third-party plugin enabled trusted runs in-process with the host's rights, so the kernel
 * records its files' content hash when it is enabled and refuses to load it trusted once they
 * change: edited code never runs in-process unnoticed.
 */
import { appendFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { Kernel } from '../../core/kernel.js';
import { resolvePaths } from '../../core/paths.js';
import { readState } from '../../core/state.js';

let home: string | undefined;
const kernels: Kernel[] = [];
afterEach(async () => {
  for (const k of kernels.splice(0)) await k.shutdown();
  if (home) await rm(home, { recursive: true, force: true });
  home = undefined;
});

async function boot(pluginDir: string, dataDir: string) {
  let out = '';
  const terminal = { out: (t: string) => void (out += t), err: () => {}, color: false, interactive: false };
  const paths = resolvePaths({ root: home!, dataDir, builtinDir: join(home!, 'none'), pluginDirs: [pluginDir] }, {});
  const kernel = await Kernel.boot({ paths, terminal });
  kernels.push(kernel);
  return { kernel, output: () => out };
}

test('files changed after a plugin was enabled trusted: it is not loaded (CX_ERR_PLUGIN_CHANGED); enabling it again trusts the new files', async () => {
  home = await mkdtemp(join(tmpdir(), 'cx-trusted-tree-'));
  const plugins = join(home, 'plugins');
  const dir = join(plugins, 'in-proc');
  const dataDir = join(home, 'data');
  await mkdir(dir, { recursive: true });
  await mkdir(dataDir, { recursive: true });
  await writeFile(
    join(dir, 'plugin.yaml'),
    'name: in-proc\nversion: 1.0.0\ndescription: runs trusted\nplugin_type: command\nmain: index.js\ncx_version: "*"\ntier: trusted\n',
  );
  await writeFile(
    join(dir, 'index.js'),
    "export default { name: 'in-proc', contributes: [{ kind: 'command', id: 'where', meta: {}, async run(ctx) { ctx.io.out(typeof process === 'object' ? 'in-process\\n' : 'sandboxed\\n'); return 0; } }] };\n",
  );

  const first = await boot(plugins, dataDir);
  await first.kernel.enable('in-proc', { tier: 'trusted' });
  expect((await readState(dataDir)).plugins['in-proc']).toMatchObject({
    enabled: true,
    tier: 'trusted',
    trustedTree: expect.stringMatching(/^[0-9a-f]{64}$/),
  });

  const second = await boot(plugins, dataDir);
  expect(second.kernel.bootErrors).toEqual([]);
  expect(await second.kernel.invoke('command', 'where', { args: {}, options: {} })).toBe(0);
  expect(second.output()).toBe('in-process\n');

  await appendFile(join(dir, 'index.js'), '// changed after it was trusted\n');
  const third = await boot(plugins, dataDir);
  expect(third.kernel.bootErrors.map((e) => e.toJSON())).toEqual([
    {
      code: 'CX_ERR_PLUGIN_CHANGED',
      plugin: 'in-proc',
      message: `plugin 'in-proc' was enabled trusted, but its files in ${dir} changed since; it was not loaded, so changed code never runs with the host's rights.\nReinstall it from its registry (cx-ops plugins install in-proc --trusted), or run it sandboxed: cx-ops plugins enable in-proc`,
    },
  ]);
  expect(third.kernel.registry.list('command').map((c) => c.id)).not.toContain('where');

  await third.kernel.enable('in-proc', { tier: 'trusted' });
  const fourth = await boot(plugins, dataDir);
  expect(fourth.kernel.bootErrors).toEqual([]);
  expect(await fourth.kernel.invoke('command', 'where', { args: {}, options: {} })).toBe(0);
  expect(fourth.output()).toBe('in-process\n');
});
