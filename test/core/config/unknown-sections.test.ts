/**
 * Top-level sections of config.yaml that nothing reads: a typo of a plugin's section fails that
 * plugin (so its settings are not silently at their defaults), a typo of the kernel's own is a
 * boot error, and a section close to nothing is a one-line note.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { unknownSections } from '../../../core/kernel/config-sections.js';
import { readManifest } from '../../../core/loader/manifest.js';
import type { PluginManifest } from '../../../sdk/types.js';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const BUILTIN = fileURLToPath(new URL('../../../plugins-builtin/', import.meta.url));
let dir: string;
let manifests: PluginManifest[];
let cli: TempRoot;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-sections-'));
  manifests = await Promise.all(
    ['checks-system', 'checks-network', 'doctor'].map(async (n) => (await readManifest(join(BUILTIN, n))).manifest),
  );
  cli = await tempRoot('cx-sections-cli-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await cli.cleanup();
});

async function sections(yaml: string) {
  await writeFile(join(dir, 'config.yaml'), yaml);
  return unknownSections(await loadConfig(dir), manifests, 'cx-ops --root /r');
}

test('known sections, shared ones included, are not reported', async () => {
  const u = await sections('plugins: {}\naudit: { keep: 2 }\ndoctor: {}\nchecks: { memory: {} }\n');
  expect(u.typos.size + u.kernel.length + u.notes.length).toBe(0);
});

test("a typo of a plugin's section fails that plugin, naming the line and the close name", async () => {
  const u = await sections('plugins: {}\ndcotor:\n  timeout_seconds: 5\nchekcs: {}\n');
  expect([...u.typos.keys()].sort()).toEqual(['checks-network', 'checks-system', 'doctor']);
  expect(u.typos.get('doctor')).toMatchObject({
    code: 'CX_ERR_CONFIG_INVALID',
    params: { field: 'dcotor', line: 2, plugin: 'doctor' },
  });
  expect(u.typos.get('doctor')!.message).toContain("did you mean 'doctor'?");
  expect(u.typos.get('checks-system')).toMatchObject({ params: { field: 'chekcs', line: 4 } });
  expect(u.kernel).toEqual([]);
});

test("a typo of the kernel's section is a boot error; a section close to nothing is a note", async () => {
  const u = await sections('plugin:\n  enabled: true\nfrobnicator: {}\n');
  expect(u.kernel).toHaveLength(1);
  expect(u.kernel[0]).toMatchObject({ params: { field: 'plugin', line: 1, plugin: 'kernel' } });
  expect(u.kernel[0]!.message).toContain("did you mean 'plugins'?");
  expect(u.notes).toEqual([
    expect.stringMatching(
      /config\.yaml:3: no installed plugin reads the section 'frobnicator:'.*'cx-ops --root \/r plugins info NAME'/,
    ),
  ]);
  expect(u.typos.size).toBe(0);
});

test('from the CLI: doctor with a typo of its section is UNKNOWN (3) naming the line; a stray section is a note', async () => {
  // A run before the typo: the shape cache then knows doctor's exit code is a monitoring status.
  expect((await cli.run(['doctor', '--category', 'memory'])).exitCode).toBe(0);
  await mkdir(join(cli.root, 'etc/cx'), { recursive: true });
  await writeFile(join(cli.root, 'etc/cx/config.yaml'), 'dcotor:\n  timeout_seconds: 5\n');
  const typo = await cli.run(['doctor', '--category', 'memory']);
  expect(typo.exitCode).toBe(3);
  expect(typo.stderr).toContain("config.yaml:1: 'dcotor' is not a section any installed plugin reads");
  expect(typo.stderr).not.toMatch(/\n\s+at /);
  await writeFile(join(cli.root, 'etc/cx/config.yaml'), 'frobnicator: {}\n');
  const stray = await cli.run(['doctor', '--category', 'memory', '--json']);
  expect(stray.stderr).toContain(`note: ${join(cli.root, 'etc/cx/config.yaml')}:1: no installed plugin reads`);
  expect(JSON.parse(stray.stdout)).toHaveProperty('summary');
  // A typo in another plugin's section: doctor's own status stands (the kernel does not raise it to 2).
  await writeFile(join(cli.root, 'etc/cx/config.yaml'), 'nagois: {}\n');
  const other = await cli.run(['doctor', '--category', 'memory']);
  expect(other.stderr).toContain("'nagois' is not a section any installed plugin reads (did you mean 'nagios'?)");
  expect(other.exitCode).toBe(0);
  // Another command that succeeded exits 2 for it (a reported mistake in a file).
  expect((await cli.run(['plugins', 'info', 'doctor'])).exitCode).toBe(2);
});
