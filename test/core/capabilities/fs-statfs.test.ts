// ctx.fs.statfsMany: statfs of several mounts in one audited call — synchronous for the mount
// point of a local file system as this process's mount table says, through the thread pool for
// anything else (a network or FUSE type, a path that is not a mount point, a --root fixture) —
// with statfs's grants and guards.
import { mkdirSync, readFileSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { statfsResult } from '../../../core/capabilities/fs-read.js';
import { LOCAL_FS_TYPES, pinMountTableForTest } from '../../../core/capabilities/mount-table.js';
import type { StatfsResult } from '../../../sdk/types.js';
import { cmd, pluginSource } from '../../helpers/test-context.js';
import { caps, rejection, sandboxed, tempDir } from './helpers.js';

/** The numbers statfs gives for `dir` (the temp dir's file system: every fixture path lies on it). */
const sizesOf = (dir: string): StatfsResult => statfsResult(statfsSync(dir));

/** Free blocks and inodes move while the test runs: compare the fixed numbers only. */
const fixed = (s: StatfsResult | null) => s && { total: s.total, files: s.files };

/** A mountinfo line: mount `point` of type `type`. */
const line = (id: number, point: string, type: string) => `${id} 1 0:${id} / ${point} rw,relatime - ${type} src rw`;

let t: { dir: string; cleanup(): void };
beforeEach(() => {
  t = tempDir('cx-statfs-');
  for (const d of ['local', 'remote', 'fuse', 'remote/inner', 'plain', 'space dir']) mkdirSync(join(t.dir, d));
  symlinkSync(join(t.dir, 'local'), join(t.dir, 'link'));
  // As the kernel would list them if these directories were mounted (a space is \040).
  pinMountTableForTest(
    [
      line(1, '/', 'ext4'),
      line(2, join(t.dir, 'local'), 'ext4'),
      line(3, join(t.dir, 'remote'), 'nfs4'),
      line(4, join(t.dir, 'fuse'), 'fuse.sshfs'),
      line(5, join(t.dir, 'remote/inner'), 'tmpfs'),
      line(6, join(t.dir, 'space\\040dir'), 'xfs'),
    ].join('\n'),
  );
});
afterEach(() => {
  pinMountTableForTest(null);
  t.cleanup();
});

describe('statfsMany', () => {
  it('answers local mount points at once and everything else through the thread pool, chosen by the file system type', async () => {
    const { localFs, audit } = caps('heal');
    const paths = ['local', 'remote', 'fuse', 'remote/inner', 'plain', 'link', 'space dir'].map((p) => join(t.dir, p));
    const got = await localFs.statfsMany(paths);
    const want = fixed(sizesOf(t.dir));
    expect(got.map((e) => ({ path: e.path, local: e.local, statfs: fixed(e.statfs), error: e.error }))).toEqual([
      // ext4 mount point: synchronous.
      { path: paths[0], local: true, statfs: want, error: undefined },
      // nfs4 and fuse.sshfs: statfs there may wait forever, so never synchronously.
      { path: paths[1], local: false, statfs: want, error: undefined },
      { path: paths[2], local: false, statfs: want, error: undefined },
      // A local mount under a remote one: the walk to it crosses the nfs mount.
      { path: paths[3], local: false, statfs: want, error: undefined },
      // Not a mount point; a symlink to one.
      { path: paths[4], local: false, statfs: want, error: undefined },
      { path: paths[5], local: false, statfs: want, error: undefined },
      // The table's escapes are read (\040 is a space).
      { path: paths[6], local: true, statfs: want, error: undefined },
    ]);
    expect(audit.records).toEqual([
      expect.objectContaining({
        plugin: 'heal',
        capability: 'fs',
        op: 'statfsMany',
        target: paths.join(' '),
        allowed: true,
      }),
    ]);
  });

  it('decides by the real mount table: a --root fixture that lists its / as ext4 and an nfs mount gets neither answered synchronously', async () => {
    pinMountTableForTest(null);
    const root = join(t.dir, 'root');
    mkdirSync(join(root, 'proc/self'), { recursive: true });
    mkdirSync(join(root, 'mnt/nfs'), { recursive: true });
    writeFileSync(join(root, 'proc/self/mountinfo'), `${line(1, '/', 'ext4')}\n${line(2, '/mnt/nfs', 'nfs4')}\n`);
    writeFileSync(join(root, 'proc/mounts'), '/dev/vda / ext4 rw 0 0\nsrv:/x /mnt/nfs nfs4 rw 0 0\n');
    const { fs } = caps('heal', { root });
    await fs.readSmallFiles(['/proc/self/mountinfo', '/proc/mounts']);
    const got = await fs.statfsMany(['/', '/mnt/nfs']);
    expect(got.map((e) => [e.path, e.local, fixed(e.statfs)])).toEqual([
      ['/', false, fixed(sizesOf(t.dir))],
      ['/mnt/nfs', false, fixed(sizesOf(t.dir))],
    ]);
  });

  it("on the real host, / is answered at once when this process's mount table says it is local", async () => {
    pinMountTableForTest(null);
    const types = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[4] === '/')
      .map((f) => f[f.indexOf('-', 6) + 1]!);
    const { fs } = caps('heal');
    const [root] = await fs.statfsMany(['/']);
    expect(root).toMatchObject({ path: '/', local: types.every((x) => LOCAL_FS_TYPES.has(x)) });
    expect(fixed(root!.statfs)).toEqual(fixed(sizesOf('/')));
  });

  it('a path not granted denies the whole call, whichever way it would have gone; each call is one audit record', async () => {
    const [local, remote, plain] = ['local', 'remote', 'plain'].map((p) => join(t.dir, p));
    const { localFs, audit } = caps('s', { grants: [`read:${local}`, `read:${plain}`] });
    expect((await localFs.statfsMany([local, plain])).map((e) => [e.path, e.local, e.error])).toEqual([
      [local, true, undefined],
      [plain, false, undefined],
    ]);
    // remote (through the pool) is not granted.
    const pooled = await rejection(localFs.statfsMany([local, remote]));
    expect(pooled.toJSON()).toMatchObject({
      code: 'CX_ERR_PERMISSION_DENIED',
      message: expect.stringContaining(`may not read '${remote}'`),
    });
    // Only the remote one is granted: the local one (checked from the table) denies the call.
    const other = caps('s', { grants: [`read:${remote}`] });
    const direct = await rejection(other.localFs.statfsMany([remote, local]));
    expect(direct.message).toContain(`may not read '${local}'`);
    expect(audit.records.map((r) => [r.op, r.target, r.allowed])).toEqual([
      ['statfsMany', `${local} ${plain}`, true],
      ['statfsMany', `${local} ${remote}`, false],
    ]);
    expect(other.audit.records.map((r) => [r.op, r.allowed])).toEqual([['statfsMany', false]]);
  });

  it('a symlink to a local mount point is granted where it leads; a missing path is an entry error', async () => {
    const { localFs } = caps('s', { grants: [`read:${join(t.dir, 'local')}`, `read:${join(t.dir, 'none')}`] });
    expect(await localFs.statfsMany([join(t.dir, 'link'), join(t.dir, 'none')])).toEqual([
      { path: join(t.dir, 'link'), local: false, statfs: expect.objectContaining(fixed(sizesOf(t.dir))) },
      {
        path: join(t.dir, 'none'),
        local: false,
        statfs: null,
        error: `${join(t.dir, 'none')}: no such file or directory`,
      },
    ]);
  });

  it('takes 1 to 64 paths', async () => {
    const { localFs } = caps('heal');
    for (const bad of [[], Array.from({ length: 65 }, () => '/')]) {
      const e = await rejection(localFs.statfsMany(bad));
      expect(e.code).toBe('CX_ERR_IO');
      expect(e.message).toContain(`takes an array of 1 to 64 paths (got ${bad.length})`);
    }
  });

  it('a test that fakes statfs fakes the batch too (after the same grant checks)', async () => {
    const sizes = { total: 100, free: 10, available: 5, files: 7, filesFree: 3 };
    const { fs } = caps('s', { grants: ['read:/data'], fakes: { fs: { statfs: async () => sizes } } });
    expect(await fs.statfsMany(['/data'])).toEqual([{ path: '/data', statfs: sizes, local: false }]);
    expect((await rejection(fs.statfsMany(['/data', '/srv']))).code).toBe('CX_ERR_PERMISSION_DENIED');
  });
});

describe('statfsMany in the sandbox', () => {
  const code = pluginSource('sizes', {
    sizes: `async (ctx, input) => { try { return await ctx.localFs.statfsMany(input.paths); } catch (e) { return e.code; } }`,
  });
  let s: { dir: string; cleanup(): void };
  let sb: Awaited<ReturnType<typeof sandboxed>>;

  beforeAll(async () => {
    s = tempDir('cx-statfs-sb-');
    mkdirSync(join(s.dir, 'data'));
    mkdirSync(join(s.dir, 'nfs'));
    sb = await sandboxed('sizes', code, [`read:${join(s.dir, 'data')}`]);
  });
  afterAll(async () => {
    await sb.close();
    s.cleanup();
  });

  it('has the same grants and the same local/remote split: its granted mount is answered, one more is a denial of the call', async () => {
    const [data, nfs] = [join(s.dir, 'data'), join(s.dir, 'nfs')];
    pinMountTableForTest(`${line(1, '/', 'ext4')}\n${line(2, data, 'ext4')}\n${line(3, nfs, 'nfs')}`);
    try {
      const got = (await sb.plugin.call(cmd('sizes'), { paths: [data] }, sb.ctx)) as Array<Record<string, unknown>>;
      expect(got).toEqual([{ path: data, local: true, statfs: expect.objectContaining(fixed(sizesOf(s.dir))) }]);
      expect(await sb.plugin.call(cmd('sizes'), { paths: [data, nfs] }, sb.ctx)).toBe('CX_ERR_PERMISSION_DENIED');
    } finally {
      pinMountTableForTest(null);
    }
    expect(sb.audit.records.map((r) => [r.op, r.target, r.allowed])).toEqual([
      ['statfsMany', data, true],
      ['statfsMany', `${data} ${nfs}`, false],
    ]);
  });
});
