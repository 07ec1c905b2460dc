import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { packPlugin } from '../../../plugins-builtin/registry/pack.js';
import { readPluginArchive } from '../../../plugins-builtin/registry/plugin-archive.js';
import { caps } from '../../core/capabilities/helpers.js';
import { tempDir } from './harness.js';

const fs = caps('registry').localFs;

let t: { dir: string; cleanup(): Promise<void> };
beforeEach(async () => {
  t = await tempDir('cx-pack-test-');
});
afterEach(() => t.cleanup());

const MANIFEST =
  'name: greeter\nversion: 1.2.3\ndescription: Greets\nplugin_type: command\nmain: dist/index.js\ncx_version: ">=0.1.0"\n';

async function plugin(files: Record<string, string>): Promise<string> {
  const dir = join(t.dir, 'greeter');
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return dir;
}

describe('plugins pack', () => {
  test('bundles src/index.ts with the SDK into main; the same sources give the same bytes', async () => {
    const dir = await plugin({
      'plugin.yaml': MANIFEST,
      'README.md': '# greeter\n',
      'src/index.ts':
        "import { definePlugin, defineCommand } from 'cx-ops/sdk';\nimport { greeting } from './greeting.js';\nexport default definePlugin({ name: 'greeter', contributes: [defineCommand({ name: 'greet', description: 'greet', async run(ctx) { ctx.io.out(greeting); return 0; } })] });\n",
      'src/greeting.ts': "export const greeting: string = 'hi\\n';\n",
      'test/x.test.ts': 'not packed\n',
    });
    const a = await packPlugin(fs, dir, { cwd: t.dir });
    const b = await packPlugin(fs, dir, { cwd: t.dir, out: 'again.tgz' });
    expect(a).toMatchObject({
      file: join(t.dir, 'greeter-1.2.3.tgz'),
      name: 'greeter',
      version: '1.2.3',
      entries: ['README.md', 'dist/index.js', 'plugin.yaml'],
      bundledFrom: join(dir, 'src/index.ts'),
    });
    expect(b.sha256).toBe(a.sha256);
    const files = await readPluginArchive(await readFile(a.file), a.file);
    const main = files.find((f) => f.path === 'dist/index.js')!.data.toString();
    expect(main).not.toMatch(/^\s*import /m);
    expect(main).toContain('var greeting = "hi\\n";');
    expect(files.find((f) => f.path === 'plugin.yaml')!.data.toString()).toBe(MANIFEST);
  });

  test('a source importing a Node module says why it cannot be bundled', async () => {
    const dir = await plugin({
      'plugin.yaml': MANIFEST,
      'src/index.ts': "import { readFileSync } from 'node:fs';\nexport default { name: 'greeter', x: readFileSync };\n",
    });
    await expect(packPlugin(fs, dir, { cwd: t.dir })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      message: expect.stringContaining(
        'cannot import "node:fs": sandboxed plugins have no Node API; use ctx.fs / ctx.exec / ctx.net',
      ),
    });
  });

  test('a bad manifest is reported with file, line and field; a directory without one says what to do', async () => {
    const dir = await plugin({
      'plugin.yaml': MANIFEST.replace('plugin_type: command', 'plugin_type: gadget'),
      'src/index.ts': 'export default {};\n',
    });
    await expect(packPlugin(fs, dir, { cwd: t.dir })).rejects.toMatchObject({
      code: 'CX_ERR_MANIFEST_INVALID',
      message: expect.stringMatching(
        new RegExp(`^${join(dir, 'plugin.yaml')}:4: field 'plugin_type' must be one of: "command", "check"`),
      ),
    });
    await expect(packPlugin(fs, join(t.dir, 'nowhere'), { cwd: t.dir })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      message: `${join(t.dir, 'nowhere')} is not a plugin directory: it has no plugin.yaml.\nTry: cx-ops plugins create NAME --type check`,
    });
  });
});

describe('plugins pack through ctx.localFs', () => {
  test('every write is audited; in a dry run the archive is recorded, not written', async () => {
    const dir = await plugin({
      'plugin.yaml': MANIFEST.replace('dist/index.js', 'index.js'),
      'index.js': 'export default {};\n',
    });
    const real = caps('registry');
    const a = await packPlugin(real.localFs, dir, { cwd: t.dir });
    expect(real.audit.records.filter((r) => r.op === 'writeBytes').map((r) => r.target)).toEqual([a.file]);
    const dry = caps('registry', { dryRun: true });
    const b = await packPlugin(dry.localFs, dir, { cwd: t.dir, out: 'dry.tgz' });
    expect(dry.recorder.actions).toEqual([`write: ${b.file} (${b.size} bytes)`]);
    await expect(readFile(b.file)).rejects.toThrow(/ENOENT/);
    expect(b.sha256).toBe(a.sha256);
  });
});
