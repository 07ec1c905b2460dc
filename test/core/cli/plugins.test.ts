import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const fixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));
let t: TempRoot;
beforeEach(async () => {
  t = await tempRoot();
});
afterEach(async () => {
  await t.cleanup();
});

describe('plugins list / enable / info / disable', () => {
  test('a third-party plugin is listed disabled and sandboxed until enabled', async () => {
    const r = await t.run(['--plugin-dir', fixture('good'), 'plugins', 'list', '--json']);
    expect(r.exitCode).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(rows.find((p) => p.name === 'greeter')).toMatchObject({
      name: 'greeter',
      version: '1.0.0',
      enabled: false,
      tier: 'sandboxed',
      status: 'disabled',
      source: 'explicit',
      requested_permissions: ['read:/etc/hostname'],
    });
  });

  test('enable with no terminal and no -y refuses and says how; -y grants what was requested and persists it', async () => {
    const dir = ['--plugin-dir', fixture('good')];
    const refused = await t.run([...dir, 'plugins', 'enable', 'greeter']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(
      "error[CX_ERR_USAGE]: plugin 'greeter' requests permissions and there is no terminal to ask.",
    );
    expect(refused.stderr).toContain(`${t.cx} --plugin-dir ${fixture('good')} plugins enable greeter -y`);
    expect(refused.stderr).not.toMatch(/at .*\.js:\d+/);

    const ok = await t.run([...dir, 'plugins', 'enable', 'greeter', '-y']);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toBe('enabled greeter (sandboxed) with grants: read:/etc/hostname');
    const state = JSON.parse(await readFile(join(t.root, 'var/lib/cx/state.json'), 'utf8'));
    expect(state.plugins.greeter).toMatchObject({ enabled: true, tier: 'sandboxed', grants: ['read:/etc/hostname'] });

    const info = JSON.parse((await t.run([...dir, 'plugins', 'info', 'greeter', '--json'])).stdout);
    expect(info).toMatchObject({
      name: 'greeter',
      tier: 'sandboxed',
      status: 'enabled',
      grants: ['read:/etc/hostname'],
      contributions: ['command:greet'],
    });

    const greet = await t.run([...dir, 'greet', 'Ada', '--shout']);
    expect(greet).toMatchObject({ exitCode: 0, stdout: 'HELLO, ADA!' });

    expect((await t.run([...dir, 'plugins', 'disable', 'greeter'])).exitCode).toBe(0);
    const after = await t.run([...dir, 'greet']);
    expect(after.exitCode).toBe(2);
    expect(after.stderr).toContain("unknown command 'greet'");
  });

  test('a grant wider than the request is refused and nothing is written', async () => {
    const r = await t.run(['--plugin-dir', fixture('good'), 'plugins', 'enable', 'greeter', '--grant', 'read:/etc']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      "error[CX_ERR_GRANT_WIDER]: grant 'read:/etc' for plugin 'greeter' is not within what its manifest requests",
    );
    await expect(readFile(join(t.root, 'var/lib/cx/state.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  test('an unknown plugin name suggests the closest names', async () => {
    const r = await t.run(['--plugin-dir', fixture('good'), 'plugins', 'info', 'greter']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("error[CX_ERR_PLUGIN_UNKNOWN]: no plugin named 'greter'. Did you mean: greeter?");
  });
});

describe('broken plugins are reported together and skipped; the others run', () => {
  test('yaml syntax, activate throwing, cx_version, a requires cycle, a missing main and a bad config section', async () => {
    const dirs = ['--plugin-dir', fixture('broken'), '--plugin-dir', fixture('good')];
    const names = ['activate-throws', 'wrong-cx', 'cycle-a', 'cycle-b', 'main-missing', 'bad-config', 'greeter'];
    // Each enable works; the other fixtures' broken files are reported with it (exit 2).
    for (const n of names)
      expect((await t.run([...dirs, 'plugins', 'enable', n, '-y'])).stdout).toMatch(new RegExp(`enabled ${n}\\b`));
    await mkdir(join(t.root, 'etc/cx'), { recursive: true });
    await writeFile(join(t.root, 'etc/cx/config.yaml'), 'bad-config:\n  threshold: 150\n');

    const r = await t.run([...dirs, 'greet', 'Ada']);
    // The command ran, but mistakes in files were reported: exit 2 (bad input), not "all well".
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('Hello, Ada!');
    const err = r.stderr;
    expect(err).toMatch(/error\[CX_ERR_YAML_SYNTAX\]: .*yaml-syntax\/plugin\.yaml:\d+:\d+: /);
    expect(err).toContain(
      "error[CX_ERR_ACTIVATE_FAILED]: plugin 'activate-throws' failed to activate: database unreachable",
    );
    expect(err).toContain(
      "error[CX_ERR_CX_VERSION]: plugin 'wrong-cx' needs cx-ops >=99.0.0, but this is cx-ops 0.1.0.",
    );
    expect(err).toContain(
      'error[CX_ERR_REQUIRES_CYCLE]: plugins require each other in a cycle: cycle-a -> cycle-b -> cycle-a.',
    );
    expect(err).toContain(
      "error[CX_ERR_MAIN_MISSING]: plugin 'main-missing': main file 'dist/index.js' does not exist",
    );
    expect(err).toMatch(
      /error\[CX_ERR_CONFIG_INVALID\]: .*config\.yaml:2: 'bad-config\.threshold' must be <= 100 \(found: 150\)/,
    );
    expect(err).not.toMatch(/\n\s+at /);
  });

  test('an invalid config section alone makes a command that ran exit 2 (help still exits 0)', async () => {
    const dirs = ['--plugin-dir', fixture('broken/bad-config'), '--plugin-dir', fixture('good')];
    for (const n of ['bad-config', 'greeter'])
      expect((await t.run([...dirs, 'plugins', 'enable', n, '-y'])).exitCode).toBe(0);
    await mkdir(join(t.root, 'etc/cx'), { recursive: true });
    await writeFile(join(t.root, 'etc/cx/config.yaml'), 'bad-config:\n  threshold: 150\n');
    const r = await t.run([...dirs, 'greet', 'Ada']);
    expect(r).toMatchObject({ exitCode: 2, stdout: 'Hello, Ada!' });
    expect(r.stderr).toMatch(
      /^\n1 plugin problem .*\n {2}error\[CX_ERR_CONFIG_INVALID\]: .*config\.yaml:2: 'bad-config\.threshold'/,
    );
    expect((await t.run([...dirs, 'greet', '--help'])).exitCode).toBe(0);
  });

  test('malformed config.yaml stops with line and column and exit 2', async () => {
    await mkdir(join(t.root, 'etc/cx'), { recursive: true });
    await writeFile(join(t.root, 'etc/cx/config.yaml'), 'doctor:\n  timeout_seconds: 30\n bad-indent: x\n');
    const r = await t.run(['plugins', 'list']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error\[CX_ERR_YAML_SYNTAX\]: .*config\.yaml:3:\d+: /);
  });
});
