import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kernel } from '../../../core/kernel.js';
import { resolvePaths } from '../../../core/paths.js';
import { rejection } from '../../helpers/rejection.js';

// A sandboxed plugin (real sandbox process, real kernel, real files) with a write grant, under
// a config.yaml that sets small write quotas.
const PLUGIN = `export default { name: 'filler', contributes: [
  { kind: 'command', id: 'fill', meta: {}, async run(ctx, input) {
    for (let i = 0; i < input.n; i++) await ctx.fs.writeFile(input.dir + '/f' + i, 'x'.repeat(input.size));
    return 'done';
  } },
  { kind: 'command', id: 'clear', meta: {}, async run(ctx, input) {
    for (let i = 0; i < input.n; i++) await ctx.fs.remove(input.dir + '/f' + i);
    return 'cleared';
  } },
] };`;

let home: string;
let area: string;
let kernel: Kernel;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'cx-quota-'));
  area = join(home, 'area');
  const dir = join(home, 'plugins', 'filler');
  await mkdir(dir, { recursive: true });
  await mkdir(area);
  await mkdir(join(home, 'etc'));
  await mkdir(join(home, 'data'));
  await writeFile(
    join(dir, 'plugin.yaml'),
    `name: filler\nversion: 1.0.0\ndescription: fills its grant\nplugin_type: command\nmain: index.js\ncx_version: "*"\ntier: sandboxed\npermissions:\n  write:\n    - ${area}\n`,
  );
  await writeFile(join(dir, 'index.js'), PLUGIN);
  await writeFile(
    join(home, 'etc/config.yaml'),
    'plugins:\n  sandbox:\n    write_quota_mb: 0.01\n    write_quota_files: 5\n',
  );
  await writeFile(
    join(home, 'data/state.json'),
    JSON.stringify({
      version: 1,
      plugins: { filler: { enabled: true, tier: 'sandboxed', grants: [`write:${area}`] } },
    }),
  );
  const paths = resolvePaths(
    {
      root: '/',
      configDir: join(home, 'etc'),
      dataDir: join(home, 'data'),
      cacheDir: join(home, 'cache'),
      logDir: join(home, 'log'),
      builtinDir: join(home, 'none'),
      pluginDirs: [join(home, 'plugins')],
    },
    {},
  );
  kernel = await Kernel.boot({ paths, terminal: { out() {}, err() {}, color: false, interactive: false } });
  expect(kernel.bootErrors).toEqual([]);
});
afterAll(async () => {
  await kernel?.shutdown();
  await rm(home, { recursive: true, force: true });
});

const run = (id: string, input: object) =>
  kernel.registry.require('command', id).invoke(input as never, { dryRun: false });

describe('write quotas of a sandboxed plugin (config.yaml plugins.sandbox)', () => {
  it('refuses the file past write_quota_files with CX_ERR_WRITE_QUOTA; nothing of it is written', async () => {
    const e = await rejection(run('fill', { dir: area, n: 8, size: 10 }));
    expect(e.toJSON()).toMatchObject({
      code: 'CX_ERR_WRITE_QUOTA',
      plugin: 'filler',
      message: `plugin 'filler' may add at most 5 files and directories to disk in one run (5 so far); writeFile of ${area}/f5 would add 1 more and was refused: nothing was written.\nIf it really needs more, raise plugins.sandbox.write_quota_files in config.yaml.`,
    });
    expect(readdirSync(area).sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });

  it('counts what the plugin removes back, and refuses bytes past write_quota_mb', async () => {
    expect(await run('clear', { dir: area, n: 5 })).toBe('cleared');
    expect(await run('fill', { dir: area, n: 2, size: 4096 })).toBe('done');
    // 0.01 MB = 10,485 bytes: two files of 4,096 fit, a third does not.
    const e = await rejection(run('fill', { dir: area, n: 3, size: 4096 }));
    expect(e.code).toBe('CX_ERR_WRITE_QUOTA');
    expect(e.message).toContain(
      `may add at most 10485 bytes to disk in one run (8192 so far); writeFile of ${area}/f2`,
    );
    expect(existsSync(join(area, 'f2'))).toBe(false);
    // Rewriting a file with the same size adds nothing.
    expect(await run('fill', { dir: area, n: 2, size: 4096 })).toBe('done');
  });
});
