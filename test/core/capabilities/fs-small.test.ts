// ctx.fs.readSmallFiles: a few /proc and /sys files in one audited call, read synchronously with
// readFile's guards — grants on where each path really leads, O_NOFOLLOW and the descriptor
// checked, regular files only, a size cap — and contained in the view's /proc and /sys.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cmd, pluginSource } from '../../helpers/test-context.js';
import { caps, rejection, sandboxed, tempDir } from './helpers.js';

let t: { dir: string; cleanup(): void };
let root: string;
beforeEach(() => {
  t = tempDir('cx-small-');
  root = join(t.dir, 'root');
  mkdirSync(join(root, 'proc/42'), { recursive: true });
  mkdirSync(join(root, 'sys/block/vda'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'proc/stat'), 'cpu  1 2 3 4 5 6 7 0 0 0\n');
  writeFileSync(join(root, 'proc/meminfo'), 'MemTotal: 1024 kB\n');
  writeFileSync(join(root, 'proc/42/mounts'), '/dev/vda / ext4 rw 0 0\n');
  // As on a real host: /proc/mounts -> self/mounts, /proc/self -> 42.
  symlinkSync('42', join(root, 'proc/self'));
  symlinkSync('self/mounts', join(root, 'proc/mounts'));
  writeFileSync(join(root, 'sys/block/vda/size'), '2048\n');
  writeFileSync(join(root, 'etc/shadow'), 'SECRET');
  writeFileSync(join(t.dir, 'outside'), 'SECRET');
});
afterEach(() => t.cleanup());

describe('readSmallFiles', () => {
  it('reads /proc and /sys files of the root in order, in one audited call; a missing one is an entry with its error', async () => {
    const { fs, audit } = caps('heal', { root });
    expect(await fs.readSmallFiles(['/proc/stat', '/proc/mounts', '/sys/block/vda/size', '/proc/none'])).toEqual([
      { path: '/proc/stat', text: 'cpu  1 2 3 4 5 6 7 0 0 0\n' },
      { path: '/proc/mounts', text: '/dev/vda / ext4 rw 0 0\n' },
      { path: '/sys/block/vda/size', text: '2048\n' },
      { path: '/proc/none', text: null, error: `${join(root, 'proc/none')}: no such file or directory` },
    ]);
    expect(audit.records).toEqual([
      expect.objectContaining({
        plugin: 'heal',
        capability: 'fs',
        op: 'readSmallFiles',
        target: ['proc/stat', 'proc/mounts', 'sys/block/vda/size', 'proc/none'].map((p) => join(root, p)).join(' '),
        allowed: true,
      }),
    ]);
  });

  it('reads the live /proc through a directory grant, and never /proc/self/environ', async () => {
    const { fs } = caps('s', { grants: ['read:/proc'] });
    const [stat, mounts] = await fs.readSmallFiles(['/proc/stat', '/proc/mounts']);
    expect(stat!.text).toMatch(/^cpu /);
    expect(mounts!.text).toContain(' / ');
    const env = await rejection(fs.readSmallFiles(['/proc/stat', '/proc/self/environ']));
    expect(env.code).toBe('CX_ERR_PERMISSION_DENIED');
    expect(env.message).toContain(`may not read '/proc/${process.pid}/environ'`);
  });

  it("the real /proc's own files and this process's take the short way; its links (/proc/net) the long one", async () => {
    const { fs } = caps('s', { grants: ['read:/proc'] });
    const [mounts, mountinfo, net, none] = await fs.readSmallFiles([
      '/proc/mounts',
      '/proc/self/mountinfo',
      '/proc/net',
      '/proc/self/none',
    ]);
    expect(mounts).toEqual({ path: '/proc/mounts', text: expect.stringContaining(' / ') });
    expect(mountinfo).toEqual({ path: '/proc/self/mountinfo', text: expect.stringContaining(' - ') });
    expect(net).toEqual({
      path: '/proc/net',
      text: null,
      error: `/proc/${process.pid}/net: is not a regular file (a directory); readSmallFiles reads only regular files`,
    });
    expect(none).toEqual({ path: '/proc/self/none', text: null, error: `/proc/self/none: no such file or directory` });
    const secret = await rejection(fs.readSmallFiles(['/proc/self/mountinfo', '/proc/self/cmdline']));
    expect(secret.message).toContain(`may not read '/proc/${process.pid}/cmdline'`);
  });

  it('a path not granted denies the whole call: nothing is read, the denial is audited', async () => {
    const { fs, audit } = caps('s', { root, grants: ['read:/proc/meminfo'] });
    expect(await fs.readSmallFiles(['/proc/meminfo'])).toEqual([
      { path: '/proc/meminfo', text: 'MemTotal: 1024 kB\n' },
    ]);
    const e = await rejection(fs.readSmallFiles(['/proc/meminfo', '/proc/stat']));
    expect(e.toJSON()).toMatchObject({
      code: 'CX_ERR_PERMISSION_DENIED',
      message: expect.stringContaining(`may not read '/proc/stat'`),
    });
    expect(audit.records.map((r) => [r.op, r.allowed])).toEqual([
      ['readSmallFiles', true],
      ['readSmallFiles', false],
    ]);
  });

  it('a symlink out of /proc and /sys is denied, trusted or not; so is a path named outside them', async () => {
    symlinkSync(join(root, 'etc/shadow'), join(root, 'proc/link'));
    symlinkSync(t.dir, join(root, 'proc/up'));
    const trusted = caps('heal', { root }).fs;
    for (const p of ['/proc/link', '/proc/up/outside']) {
      const e = await rejection(trusted.readSmallFiles(['/proc/stat', p]));
      expect(e.code).toBe('CX_ERR_PERMISSION_DENIED');
      expect(e.message).toContain(`'${p}' leads out of /proc and /sys`);
    }
    for (const p of ['/etc/shadow', '/proc/../etc/shadow', '/../outside', '/proc']) {
      const e = await rejection(trusted.readSmallFiles([p]));
      expect(e.code).toBe('CX_ERR_IO');
      expect(e.message).toContain('readSmallFiles reads only files under /proc and /sys');
    }
    // The same for the sandboxed tier with a grant of the whole tree.
    const sandboxed = caps('s', { root, grants: ['read:/'] }).fs;
    expect((await rejection(sandboxed.readSmallFiles(['/proc/link']))).code).toBe('CX_ERR_PERMISSION_DENIED');
  });

  it('a FIFO is an entry error at once (never a hang), a file over the cap too; the others are read', async () => {
    execFileSync('mkfifo', [join(root, 'proc/fifo')]);
    writeFileSync(join(root, 'proc/big'), Buffer.alloc(1024 * 1024 + 1, 'x'));
    const { fs } = caps('heal', { root });
    const got = await fs.readSmallFiles(['/proc/fifo', '/proc/big', '/proc/meminfo', '/proc/stat'], undefined);
    expect(got).toEqual([
      {
        path: '/proc/fifo',
        text: null,
        error: `${join(root, 'proc/fifo')}: is not a regular file (a FIFO, device or socket); readSmallFiles reads only regular files`,
      },
      {
        path: '/proc/big',
        text: null,
        error: `${join(root, 'proc/big')}: is larger than the read cap of 1048576 bytes; read it with readFile`,
      },
      { path: '/proc/meminfo', text: 'MemTotal: 1024 kB\n' },
      { path: '/proc/stat', text: 'cpu  1 2 3 4 5 6 7 0 0 0\n' },
    ]);
    const capped = await fs.readSmallFiles(['/proc/meminfo'], { maxBytes: 4 });
    expect(capped[0]!.error).toContain('is larger than the read cap of 4 bytes');
  });

  it('takes 1 to 16 paths', async () => {
    const { fs } = caps('heal', { root });
    for (const paths of [[], Array.from({ length: 17 }, () => '/proc/stat')]) {
      const e = await rejection(fs.readSmallFiles(paths));
      expect(e.message).toContain('takes an array of 1 to 16 paths');
    }
  });

  it('a test that fakes readFile fakes the batch too (after the same grant checks)', async () => {
    const { fs } = caps('s', {
      root,
      grants: ['read:/proc'],
      fakes: { fs: { readFile: async (p) => (p.endsWith('stat') ? 'cpu  9\n' : Promise.reject(new Error('gone'))) } },
    });
    expect(await fs.readSmallFiles(['/proc/stat', '/proc/meminfo'])).toEqual([
      { path: '/proc/stat', text: 'cpu  9\n' },
      { path: '/proc/meminfo', text: null, error: 'gone' },
    ]);
    expect((await rejection(fs.readSmallFiles(['/sys/block/vda/size']))).code).toBe('CX_ERR_PERMISSION_DENIED');
  });
});

describe('readSmallFiles in the sandbox', () => {
  const code = pluginSource('small', {
    read: `async (ctx, input) => { try { return await ctx.fs.readSmallFiles(input.paths); } catch (e) { return e.code; } }`,
  });
  let s: { dir: string; cleanup(): void };
  let sb: Awaited<ReturnType<typeof sandboxed>>;

  beforeAll(async () => {
    s = tempDir('cx-small-sb-');
    mkdirSync(join(s.dir, 'proc'));
    writeFileSync(join(s.dir, 'proc/loadavg'), '0.50 0.40 0.30 1/100 42\n');
    writeFileSync(join(s.dir, 'proc/stat'), 'cpu  1\n');
    sb = await sandboxed('small', code, ['read:/proc/loadavg'], s.dir);
  });
  afterAll(async () => {
    await sb.close();
    s.cleanup();
  });

  it('has the same grants as readFile: its granted file is read, one more is a denial of the call', async () => {
    expect(await sb.plugin.call(cmd('read'), { paths: ['/proc/loadavg'] }, sb.ctx)).toEqual([
      { path: '/proc/loadavg', text: '0.50 0.40 0.30 1/100 42\n' },
    ]);
    expect(await sb.plugin.call(cmd('read'), { paths: ['/proc/loadavg', '/proc/stat'] }, sb.ctx)).toBe(
      'CX_ERR_PERMISSION_DENIED',
    );
    expect(sb.audit.records.map((r) => [r.op, r.target, r.allowed])).toEqual([
      ['readSmallFiles', join(s.dir, 'proc/loadavg'), true],
      ['readSmallFiles', `${join(s.dir, 'proc/loadavg')} ${join(s.dir, 'proc/stat')}`, false],
    ]);
  });
});
