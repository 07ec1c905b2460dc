/**
 * readHost on a fixture /proc tree: the kernel files in one readSmallFiles call and every
 * mount's size in one statfsMany call (two audit records a cycle, whatever the number of mounts).
 */
import { mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mergeGrants, parseGrant } from '../../../core/permissions/grants.js';
import { memoryUsage } from '../../../plugins-builtin/checks-system/memory.js';
import { parseMeminfo } from '../../../plugins-builtin/checks-system/procfs.js';
import { memFields, readHost } from '../../../plugins-builtin/heal/host-readings.js';
import { tempDir } from '../../core/capabilities/helpers.js';
import { testContext } from '../../helpers/test-context.js';
import { healConfig } from './heal-fixtures.js';

let t: { dir: string; cleanup(): void };
beforeEach(() => {
  t = tempDir('cx-heal-host-');
  mkdirSync(join(t.dir, 'proc'));
  mkdirSync(join(t.dir, 'data'));
  writeFileSync(join(t.dir, 'proc/stat'), 'cpu  100 0 100 700 100 0 0 0 0 0\n');
  writeFileSync(join(t.dir, 'proc/meminfo'), 'MemTotal: 1000 kB\nMemAvailable: 250 kB\n');
  writeFileSync(join(t.dir, 'proc/loadavg'), '0.50 0.40 0.30 1/100 42\n');
  writeFileSync(
    join(t.dir, 'proc/mounts'),
    '/dev/vda / ext4 rw 0 0\n/dev/vdb /data xfs rw 0 0\nsrv:/x /mnt/nfs nfs4 rw 0 0\nproc /proc proc rw 0 0\n',
  );
});
afterEach(() => t.cleanup());

describe('readHost', () => {
  test('reads the kernel files in one call and the sizes of every real mount in one more', async () => {
    const { ctx, audit } = testContext('heal', mergeGrants([parseGrant('read:/')]), undefined, { root: t.dir });
    const { readings, cpu } = await readHost(ctx, healConfig(), undefined);
    const st = statfsSync(t.dir);
    const used = st.blocks - st.bfree;
    const percent = Math.round((used / (used + st.bavail)) * 1000) / 10;
    expect(cpu).toEqual({ total: 1000, idle: 800 });
    expect(readings).toEqual([
      { detector: 'cpu', component: 'cpu', value: null },
      { detector: 'memory', component: 'memory', value: 75 },
      { detector: 'load', component: 'load', value: 0.5 },
      // The nfs mount is not a disk to watch (realMountPoints); both others lie on the temp dir's file system.
      { detector: 'disk', component: '/', value: expect.closeTo(percent, 0) },
      { detector: 'disk', component: '/data', value: expect.closeTo(percent, 0) },
    ]);
    expect(audit.records.map((r) => [r.op, r.target, r.allowed])).toEqual([
      ['readSmallFiles', ['stat', 'meminfo', 'loadavg', 'mounts'].map((f) => join(t.dir, 'proc', f)).join(' '), true],
      ['statfsMany', `${t.dir} ${join(t.dir, 'data')}`, true],
    ]);
  });

  test('a mount that cannot be read has no value; the others are judged', async () => {
    const { ctx } = testContext('heal', mergeGrants([parseGrant('read:/')]), undefined, { root: t.dir });
    const cfg = healConfig({ mounts: ['/data', '/gone'] });
    const { readings } = await readHost(ctx, cfg, undefined);
    expect(readings.filter((r) => r.detector === 'disk')).toEqual([
      { detector: 'disk', component: '/data', value: expect.any(Number) },
      { detector: 'disk', component: '/gone', value: null },
    ]);
  });
});

describe('memFields', () => {
  test('reads the fields memoryUsage reads as parseMeminfo does: the same usage, with or without MemAvailable', () => {
    const live = readFileSync('/proc/meminfo', 'utf8');
    const old =
      'MemTotal:        2048 kB\nMemFree:          512 kB\nBuffers:          128 kB\nCached:           256 kB\nSwapCached: 0 kB\n';
    for (const text of [live, old, 'MemTotal: 1000 kB\nMemAvailable: 250 kB\n', 'Cached: 1 kB\n', ''])
      expect(memoryUsage(memFields(text))).toEqual(memoryUsage(parseMeminfo(text)));
    expect(memFields(old)).toEqual({ MemTotal: 2048, MemFree: 512, Buffers: 128, Cached: 256 });
  });
});
