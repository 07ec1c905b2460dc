/**
 * state.json and the kernel's caches as hostile files (core/state.ts, core/read-file.ts): a
 * state of the wrong shape is CX_ERR_STATE_INVALID naming the file, the field and the way out;
 * a FIFO in place of the state or a cache never hangs a command.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../helpers/run-cli.js';

let t: TempRoot;
let state: string;
beforeAll(async () => {
  t = await tempRoot('cx-state-');
  await mkdir(join(t.root, 'var/lib/cx'), { recursive: true });
  await mkdir(join(t.root, 'var/cache/cx'), { recursive: true });
  state = join(t.root, 'var/lib/cx/state.json');
});
afterAll(async () => {
  await t.cleanup();
});

test.each([
  ['{"version":1,"plugins":null}', "field 'plugins' must be of type object (found: null)"],
  [
    '{"version":1,"plugins":{"doctor":{"enabled":true,"grants":"x"}}}',
    `field 'plugins.doctor.grants' must be of type array (found: "x")`,
  ],
  [
    '{"version":1,"plugins":{"doctor":{"enabled":"yes","grants":[]}}}',
    `field 'plugins.doctor.enabled' must be of type boolean (found: "yes")`,
  ],
])('state.json %s is refused with the field and the way out; the file is left as it was', async (text, detail) => {
  await writeFile(state, text);
  const r = await t.run(['plugins', 'list']);
  expect(r).toMatchObject({ exitCode: 2, stdout: '' });
  expect(r.stderr).toBe(
    `error[CX_ERR_STATE_INVALID]: ${state}: ${detail}. It is not a valid cx-ops state file (schemas/state.schema.json).\nMove it aside (mv ${state} ${state}.damaged); the plugins are then at their defaults (built-ins on, third-party plugins off: enable them again), then run the command again.`,
  );
  expect(await readFile(state, 'utf8')).toBe(text);
});

test('a FIFO as state.json is CX_ERR_IO at once; as the manifest cache it is ignored (a cache only saves time)', async () => {
  await rm(state, { force: true });
  execFileSync('mkfifo', [state]);
  const r = await t.run(['plugins', 'list']);
  expect(r).toMatchObject({ exitCode: 2 });
  expect(r.stderr).toBe(
    `error[CX_ERR_IO]: ${state}: is not a regular file (a FIFO, device or socket); cx-ops reads only regular files here`,
  );
  await rm(state);
  execFileSync('mkfifo', [join(t.root, 'var/cache/cx/manifests.json')]);
  const listed = await t.run(['plugins', 'list']);
  expect(listed.exitCode, listed.stderr).toBe(0);
  expect(listed.stdout).toMatch(/\ndoctor +/);
});
