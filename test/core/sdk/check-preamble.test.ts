/**
 * checkPreamble / thresholdError: the shared start of the checks that grade a host value,
 * against a real file tree standing in for the host (ctx.fs names host paths and reads them under the root).
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { checkPreamble, thresholdError, type PluginContext } from '../../../sdk/index.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cx-preamble-'));
  await mkdir(join(root, 'proc'));
  await writeFile(join(root, 'proc', 'loadavg'), '0.50 0.40 0.30 1/100 42\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The two ctx parts the preamble uses, over the temp tree. */
const ctx = () =>
  ({
    env: { root, configDir: '/etc/cx' },
    // The rooted host view: host paths resolved under the root, as ctx.fs does.
    fs: {
      stat: async (p: string) => ((await stat(join(root, p)).catch(() => null)) ? { path: p } : null),
      readFile: (p: string) => readFile(join(root, p), 'utf8'),
    },
  }) as unknown as PluginContext<unknown>;

const load = (warn: number, fail: number) =>
  [{ section: 'checks.cpu_load', warn: ['warn_per_core', warn], fail: ['fail_per_core', fail] }] as const;

test('thresholds in order and a source that exists: the source text', async () => {
  expect(await checkPreamble(ctx(), { thresholds: load(1.5, 3), source: '/proc/loadavg' })).toEqual({
    outcome: null,
    text: '0.50 0.40 0.30 1/100 42\n',
  });
});

test('warn not below fail: ERROR naming the field and the config file, no fix offered, the source not read', async () => {
  const expected = {
    status: 'ERROR',
    message: 'config checks.cpu_load: warn_per_core (3) must be below fail_per_core (3); fix it in /etc/cx/config.yaml',
    fix_id: null,
  };
  expect(await checkPreamble(ctx(), { thresholds: load(3, 3), source: '/proc/absent' })).toEqual({
    outcome: expected,
    text: null,
  });
  expect(thresholdError({ configDir: '/etc/cx' }, [...load(1, 2), ...load(3, 3)])).toEqual(expected);
  expect(thresholdError({ configDir: '/etc/cx' }, load(1, 2))).toBeNull();
});

test('a source the host does not have: SKIP saying which', async () => {
  expect(await checkPreamble(ctx(), { thresholds: load(1.5, 3), source: '/proc/pressure/cpu' })).toEqual({
    outcome: { status: 'SKIP', message: '/proc/pressure/cpu not found on this host' },
    text: null,
  });
});

test('no source: thresholds only', async () => {
  expect(await checkPreamble(ctx(), { thresholds: load(1, 2) })).toEqual({ outcome: null, text: '' });
});
