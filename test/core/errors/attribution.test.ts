/**
 * Errors raised by plugin code are attributed by the kernel (plugin, contribution) and keep
 * their code and exit code; a sandboxed plugin's own defineErrors codes cross the boundary;
 * one printer renders them as text, or as one JSON object under --json.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundlePlugin } from '../../../sdk/bundle.js';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const fixtures = fileURLToPath(new URL('../fixtures/errors/', import.meta.url));
let t: TempRoot;
let plugins: string;
const run = (args: string[]) => t.run(['--plugin-dir', plugins, ...args]);
/** cx-ops as the hints of a run with these global options name it. */
const cx = (globals: string[]) => `${t.cx} ${globals.join(' ')}`;

beforeAll(async () => {
  t = await tempRoot('cx-attribution-');
  plugins = await mkdtemp(join(tmpdir(), 'cx-attribution-plugins-'));
  // The trusted plugin stays in the repository tree (it imports cx-ops/sdk from there).
  await cp(join(fixtures, 'quota'), join(plugins, 'quota'), { recursive: true });
  await writeFile(join(plugins, 'quota', 'index.js'), await bundlePlugin(join(fixtures, 'quota', 'src', 'index.ts')));
  // "coded" is enabled trusted the way a signed install would leave it.
  await mkdir(join(t.root, 'var/lib/cx'), { recursive: true });
  await writeFile(
    join(t.root, 'var/lib/cx/state.json'),
    JSON.stringify({ version: 1, plugins: { coded: { enabled: true, tier: 'trusted', grants: [] } } }),
  );
  expect((await run(['plugins', 'enable', 'quota', '-y'])).exitCode).toBe(0);
}, 60_000);
afterAll(async () => {
  await t.cleanup();
  await rm(plugins, { recursive: true, force: true });
});

const coded = ['--plugin-dir', join(fixtures, 'coded')];

describe('errors raised by plugin code', () => {
  test("a trusted plugin's CxError('CX_ERR_USAGE') exits 2 as CX_ERR_USAGE, attributed to the plugin", async () => {
    const r = await t.run([...coded, 'coded-usage']);
    expect(r).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_USAGE]: coded-usage: --size is missing.\nTry: ${cx(coded)} coded-usage --size 3`,
    });
    const j = await t.run([...coded, 'coded-usage', '--json']);
    expect(j.exitCode).toBe(2);
    expect(j.stderr).toBe('');
    expect(JSON.parse(j.stdout)).toEqual({
      error: {
        code: 'CX_ERR_USAGE',
        message: `coded-usage: --size is missing.\nTry: ${cx(coded)} coded-usage --size 3`,
        exit: 2,
        plugin: 'coded',
        contribution: 'coded-usage',
        hint: `${cx(coded)} coded-usage --size 3`,
        docs: 'docs/errors.md#cx_err_usage',
      },
    });
  });

  test('a sandboxed plugin raises its own defineErrors code: its exit code, message, hint and suggestions reach the CLI', async () => {
    const r = await run(['quota', 'add', 'bucket-b']);
    expect(r).toEqual({
      exitCode: 7,
      stdout: '',
      stderr: `error[ACME_ERR_QUOTA]: bucket 'bucket-b' holds 3 items already; nothing was added. Did you mean: bucket-a?\nTry: ${cx(['--plugin-dir', plugins])} quota raise bucket-b`,
    });
    const j = await run(['quota', 'add', 'bucket-b', '--json']);
    expect(JSON.parse(j.stdout)).toEqual({
      error: {
        code: 'ACME_ERR_QUOTA',
        message: `bucket 'bucket-b' holds 3 items already; nothing was added. Did you mean: bucket-a?\nTry: ${cx(['--plugin-dir', plugins])} quota raise bucket-b`,
        exit: 7,
        plugin: 'quota',
        contribution: 'quota add',
        hint: `${cx(['--plugin-dir', plugins])} quota raise bucket-b`,
        suggestions: ['bucket-a'],
        docs: 'docs/errors.md#acme_err_quota',
      },
    });
  });

  test('a sandboxed plugin still cannot pass off a kernel catalogue error as its own', async () => {
    const r = await run(['quota', 'forge']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(
      /^error\[CX_ERR_PLUGIN_THREW\]: plugin 'quota' failed in command 'quota forge': plugin 'quota' may not forge/,
    );
  });
});

describe('--json errors', () => {
  test("the kernel's own errors, and commander's usage errors, print as one JSON object on stdout", async () => {
    const unknown = await t.run(['plugins', 'info', 'doctr', '--json']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe('');
    expect(JSON.parse(unknown.stdout)).toEqual({
      error: {
        code: 'CX_ERR_PLUGIN_UNKNOWN',
        message: `no plugin named 'doctr'. Did you mean: doctor?\nList plugins with: ${t.cx} plugins list --available`,
        exit: 2,
        plugin: 'doctr',
        suggestions: ['doctor'],
        docs: 'docs/errors.md#cx_err_plugin_unknown',
      },
    });
    const bogus = await t.run(['plugins', 'list', '--json', '--bogus']);
    expect(bogus.exitCode).toBe(2);
    expect(JSON.parse(bogus.stdout)).toMatchObject({
      error: { code: 'CX_ERR_USAGE', exit: 2, hint: `${t.cx} plugins list --help` },
    });
  });
});
