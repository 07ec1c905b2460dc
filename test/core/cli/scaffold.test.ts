import { mkdir, readdir, symlink, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
let t: TempRoot;
beforeEach(async () => {
  t = await tempRoot('cx-scaffold-');
});
afterEach(async () => {
  await t.cleanup();
});

/**
 * What `npm install` gives a plugin project: cx-ops linked from the scaffold's `file:` spec
 * (cx-ops is not on npm; the spec names the installation that created the scaffold) and, linked
 * from this repo, vitest and the rest (a real install would fetch them from the npm registry,
 * and tests make no network traffic beyond 127.0.0.1).
 */
async function linkDependencies(dir: string): Promise<void> {
  const spec: string = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')).devDependencies['cx-ops'];
  expect(spec).toBe(`file:${repo.replace(/\/$/, '')}`);
  const nm = join(dir, 'node_modules');
  await mkdir(nm, { recursive: true });
  for (const entry of await readdir(join(repo, 'node_modules'))) {
    if (entry === '.bin') continue;
    await symlink(join(repo, 'node_modules', entry), join(nm, entry));
  }
  await symlink(spec.slice('file:'.length), join(nm, 'cx-ops'));
  await mkdir(join(nm, '.bin'));
  await symlink('../typescript/bin/tsc', join(nm, '.bin', 'tsc'));
  await symlink('../vitest/vitest.mjs', join(nm, '.bin', 'vitest'));
  await symlink('../cx-ops/core/bin/cx-ops.js', join(nm, '.bin', 'cx-ops'));
}

/** Runs an npm script of the plugin project, as its author would (npm puts node_modules/.bin on PATH). */
const npmRun = (dir: string, script: string) =>
  execa('npm', ['run', '--silent', script], {
    cwd: dir,
    reject: false,
    env: { CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
  });

describe('plugins create', () => {
  for (const type of ['check', 'command', 'fix', 'task']) {
    test(`a ${type} scaffold type-checks and passes its own test under the real sandbox`, async () => {
      const made = await t.run(['plugins', 'create', `demo-${type}`, '--type', type, '--dir', t.root]);
      expect(made.exitCode).toBe(0);
      const dir = join(t.root, `demo-${type}`);
      expect(made.stdout).toContain(`created ${dir}`);
      expect((await readdir(dir)).sort()).toEqual([
        'README.md',
        'package.json',
        'plugin.yaml',
        'src',
        'test',
        'tsconfig.json',
        'vitest.config.js',
      ]);
      expect((await readdir(join(dir, 'test'))).sort()).toEqual(['plugin.test.ts', 'tsconfig.json']);
      const source = await readFile(join(dir, 'src', 'index.ts'), 'utf8');
      expect(source).toContain(`name: 'demo-${type}'`);
      expect(source).not.toMatch(/template[-_]plugin/);
      await linkDependencies(dir);
      const r = await npmRun(dir, 'test');

      expect((r.stdout + r.stderr).replace(/\u001b\[[0-9;]*m/g, '')).toMatch(/Tests\s+1 passed \(1\)/);
      expect(r.exitCode).toBe(0);
    });
  }

  test("the scaffold's npm test refuses a type error (strict tsc on the SDK's declarations) and a Node API in src/", async () => {
    expect((await t.run(['plugins', 'create', 'typo-check', '--type', 'check', '--dir', t.root])).exitCode).toBe(0);
    const dir = join(t.root, 'typo-check');
    await linkDependencies(dir);
    const index = join(dir, 'src', 'index.ts');
    const good = await readFile(index, 'utf8');
    await writeFile(index, good.replace("severity: 'medium'", "severity: 'urgent'"));
    const typo = await npmRun(dir, 'typecheck');
    expect(typo.exitCode).not.toBe(0);
    expect(typo.stdout).toMatch(
      /src\/index\.ts\(\d+,\d+\): error TS2322: Type '"urgent"' is not assignable to type 'CheckSeverity'/,
    );
    await writeFile(index, `${good}\nexport const home = process.env.HOME;\n`);
    const node = await npmRun(dir, 'typecheck');
    expect(node.exitCode).not.toBe(0);
    expect(node.stdout).toMatch(/src\/index\.ts\(\d+,\d+\): error TS2591: Cannot find name 'process'/);
    await writeFile(index, good);
    expect(await npmRun(dir, 'typecheck')).toMatchObject({ exitCode: 0 });
  });

  test('build, enable and run a created command plugin from the command line', async () => {
    expect((await t.run(['plugins', 'create', 'greet-me', '--type', 'command', '--dir', t.root])).exitCode).toBe(0);
    const dir = join(t.root, 'greet-me');
    await linkDependencies(dir);
    const built = await t.run(['plugins', 'build', dir]);
    expect(built).toMatchObject({ exitCode: 0, stdout: `built ${join(dir, 'dist/index.js')}` });
    expect(await readFile(join(dir, 'dist/index.js'), 'utf8')).not.toMatch(/^import /m);
    expect((await t.run(['--plugin-dir', dir, 'plugins', 'enable', 'greet-me'])).exitCode).toBe(0);
    expect(await t.run(['--plugin-dir', dir, 'greet-me', 'Grace'])).toMatchObject({
      exitCode: 0,
      stdout: 'Hello, Grace!',
    });
  });

  test('plugins build refuses, with coded errors, a plugin whose code names another plugin and a source that does not bundle', async () => {
    expect((await t.run(['plugins', 'create', 'named-right', '--type', 'command', '--dir', t.root])).exitCode).toBe(0);
    const dir = join(t.root, 'named-right');
    await linkDependencies(dir);
    const index = join(dir, 'src', 'index.ts');
    const good = await readFile(index, 'utf8');
    await writeFile(index, good.replace("name: 'named-right',\n  contributes", "name: 'named-wrong',\n  contributes"));
    const wrong = await t.run(['plugins', 'build', dir]);
    expect(wrong).toMatchObject({
      exitCode: 4,
      stderr:
        "error[CX_ERR_PLUGIN_NAME_MISMATCH]: plugin 'named-right': its code declares the name 'named-wrong'.\nMake definePlugin({ name }) and plugin.yaml's name the same.",
    });
    await expect(readFile(join(dir, 'dist', 'index.js'))).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(index, `${good}\nconst broken = ;\n`);
    const broken = await t.run(['plugins', 'build', dir]);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toBe(
      `error[CX_ERR_PLUGIN_BUILD]: ${index}: the plugin does not build:\n${index}:${good.split('\n').length + 1}:15: Unexpected ";"\nFix the source, then build again (${t.cx} plugins build DIR).`,
    );
    const json = await t.run(['plugins', 'build', dir, '--json']);
    expect(json.exitCode).toBe(2);
    await writeFile(index, good);
    expect(await t.run(['plugins', 'build', dir])).toMatchObject({ exitCode: 0 });
  });

  test('bad names and types are refused and nothing is written', async () => {
    const bad = await t.run(['plugins', 'create', 'Bad_Name', '--dir', t.root]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("error[CX_ERR_USAGE]: 'Bad_Name' is not a valid plugin name");
    const long = await t.run(['plugins', 'create', 'a'.repeat(300), '--dir', t.root]);
    expect(long).toMatchObject({ exitCode: 2 });
    expect(long.stderr).toContain(
      "error[CX_ERR_USAGE]: a plugin name has at most 64 characters (plugin.yaml's 'name'); this one has 300.",
    );
    const type = await t.run(['plugins', 'create', 'ok-name', '--type', 'gizmo', '--dir', t.root]);
    expect(type.stderr).toContain("unknown plugin type 'gizmo'; choose one of: check, command, fix, task.");
    // Only the kernel's own cache (under <root>/var) may appear; no plugin directory was made.
    expect((await readdir(t.root)).filter((n) => n !== 'var')).toEqual([]);
  });
});
