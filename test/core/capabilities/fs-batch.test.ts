// ctx.fs.batch: many lstat / hash / copy / link / rename operations in one guarded call — every
// path checked before anything runs, one audit record, the single calls' guards on each file
// (O_NOFOLLOW, descriptors checked, atomic temp + rename), a failure stops the batch with what
// was done reported; the sandboxed side has the same method.
import { createHash } from 'node:crypto';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { mergeGrants, parseGrant } from '../../../core/permissions/grants.js';
import { SandboxHost, type SandboxedPlugin } from '../../../core/sandbox/host.js';
import type { PluginContext } from '../../../sdk/types.js';
import { cmd, pluginSource, testContext } from '../../helpers/test-context.js';
import { caps, rejection, tempDir } from './helpers.js';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

let t: { dir: string; cleanup(): void };
let root: string;
beforeEach(() => {
  t = tempDir('cx-batch-');
  root = join(t.dir, 'root');
  mkdirSync(join(root, 'src'), { recursive: true });
  mkdirSync(join(root, 'dst'), { recursive: true });
  mkdirSync(join(root, 'keep'), { recursive: true });
  writeFileSync(join(root, 'src/a'), 'new a', { mode: 0o640 });
  writeFileSync(join(root, 'src/b'), Buffer.alloc(3 * 1024 * 1024 + 7, 'b'));
  writeFileSync(join(root, 'dst/a'), 'old a', { mode: 0o600 });
  writeFileSync(join(root, 'dst/c'), 'old c');
  writeFileSync(join(t.dir, 'outside'), 'SECRET');
});
afterEach(() => t.cleanup());

const litter = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

describe('fs.batch', () => {
  it('runs lstat, hash, copy, link and rename in order in one call with one audit record', async () => {
    const { fs, audit } = caps('hotfix', { root });
    const r = await fs.batch([
      { op: 'lstat', path: '/dst/a' },
      { op: 'link', from: '/dst/a', to: '/keep/a', hash: true },
      { op: 'copy', from: '/src/a', to: '/dst/a', hash: true },
      { op: 'copy', from: '/src/b', to: '/dst/b', preserve: false, mode: 0o604, hash: true },
      { op: 'hash', path: '/dst/b' },
      { op: 'rename', from: '/dst/c', to: '/keep/c' },
      { op: 'lstat', path: '/dst/none' },
      { op: 'lstat', path: '/none/x' },
    ]);
    const big = readFileSync(join(root, 'src/b'));
    expect(r).toEqual({
      done: 8,
      results: [
        { stat: expect.objectContaining({ path: '/dst/a', type: 'file', mode: 0o600, size: 5, nlink: 1 }) },
        { sha256: sha('old a'), stat: expect.objectContaining({ path: '/keep/a', nlink: 2 }) },
        { sha256: sha('new a') },
        { sha256: sha(big) },
        { sha256: sha(big), stat: expect.objectContaining({ path: '/dst/b', mode: 0o604, size: big.length }) },
        {},
        { stat: null },
        { stat: null },
      ],
    });
    expect(readFileSync(join(root, 'dst/a'), 'utf8')).toBe('new a');
    expect(statSync(join(root, 'dst/a')).mode & 0o777).toBe(0o640); // preserved from the source
    expect(Math.trunc(statSync(join(root, 'dst/a')).mtimeMs)).toBe(Math.trunc(statSync(join(root, 'src/a')).mtimeMs));
    expect(readFileSync(join(root, 'keep/a'), 'utf8')).toBe('old a'); // the link kept the old file
    expect(readFileSync(join(root, 'keep/c'), 'utf8')).toBe('old c');
    expect(existsSync(join(root, 'dst/c'))).toBe(false);
    expect(litter(join(root, 'dst'))).toEqual([]);
    expect(audit.records).toEqual([
      expect.objectContaining({
        plugin: 'hotfix',
        capability: 'fs',
        op: 'batch',
        target: `8 operations, the first on ${join(root, 'dst/a')}`,
        allowed: true,
        args: {
          ops: 8,
          counts: { lstat: 3, link: 1, copy: 2, hash: 1, rename: 1 },
          sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
          sync: true,
        },
      }),
    ]);
  });

  it('checks every path against the grants first: one not granted denies the whole call, nothing done', async () => {
    const { fs, audit } = caps('s', { root, grants: ['read:/src', 'write:/dst'] });
    const ok = await fs.batch([{ op: 'copy', from: '/src/a', to: '/dst/a' }]);
    expect(ok).toEqual({ done: 1, results: [{}] });
    writeFileSync(join(root, 'dst/a'), 'old a');
    for (const denied of [
      { op: 'copy' as const, from: '/keep/x', to: '/dst/x' }, // read not granted
      { op: 'copy' as const, from: '/src/a', to: '/keep/a' }, // write not granted
      { op: 'rename' as const, from: '/src/a', to: '/dst/z' }, // rename writes both
      { op: 'copy' as const, from: '/../outside', to: '/dst/o' }, // the root is the view's top
    ]) {
      const e = await rejection(fs.batch([{ op: 'copy', from: '/src/a', to: '/dst/a' }, denied]));
      expect(e.code).toBe('CX_ERR_PERMISSION_DENIED');
      expect(readFileSync(join(root, 'dst/a'), 'utf8')).toBe('old a'); // the granted first op did not run
    }
    // A symlink at a granted path that leads out of the grant: its parent resolved, the link not followed.
    symlinkSync(join(t.dir, 'outside'), join(root, 'src/leak'));
    const leak = await fs.batch([{ op: 'copy', from: '/src/leak', to: '/dst/leak' }]);
    expect(leak).toMatchObject({ done: 0, results: [], error: { index: 0, code: 'CX_ERR_IO' } });
    expect(leak.error!.message).toContain('ELOOP');
    expect(existsSync(join(root, 'dst/leak'))).toBe(false);
    expect(audit.records.map((r) => [r.op, r.allowed])).toEqual([
      ['batch', true],
      ['batch', false],
      ['batch', false],
      ['batch', false],
      ['batch', false],
      ['batch', true],
    ]);
  });

  it('a directory swapped for a symlink after the check is refused: a denial, audited, and what was done is said', async () => {
    // A file-backed audit log: the batch waits for its record, so the swap lands between check and run.
    const audit = new AuditLog(join(t.dir, 'audit/audit.jsonl'));
    const { fs } = createHostCapabilities({
      plugin: 's',
      tier: 'sandboxed',
      grants: mergeGrants(['read:/src', 'write:/dst', 'write:/keep'].map((g) => parseGrant(g))),
      dryRun: false,
      audit,
      root,
    });
    mkdirSync(join(t.dir, 'elsewhere'));
    const call = fs.batch([
      { op: 'copy', from: '/src/a', to: '/keep/a' },
      { op: 'copy', from: '/src/a', to: '/dst/a' },
    ]);
    setImmediate(() => {
      renameSync(join(root, 'dst'), join(root, 'dst-moved'));
      symlinkSync(join(t.dir, 'elsewhere'), join(root, 'dst'));
    });
    const r = await call;
    expect(r).toMatchObject({ done: 1, results: [{}], error: { index: 1, code: expect.any(String) } });
    expect(['CX_ERR_PERMISSION_DENIED', 'CX_ERR_IO']).toContain(r.error!.code);
    expect(readdirSync(join(t.dir, 'elsewhere'))).toEqual([]); // nothing written through the link
    expect(readFileSync(join(root, 'keep/a'), 'utf8')).toBe('new a');
    expect(readFileSync(join(root, 'dst-moved/a'), 'utf8')).toBe('old a');
    await audit.close();
  });

  it('stops at the first failure: what was done is the first `done` operations, no temp file is left', async () => {
    const { fs } = caps('hotfix', { root });
    writeFileSync(join(root, 'src/c'), 'new c');
    const r = await fs.batch([
      { op: 'link', from: '/dst/a', to: '/keep/a' },
      { op: 'copy', from: '/src/a', to: '/dst/a' },
      { op: 'copy', from: '/src/missing', to: '/dst/m' },
      { op: 'copy', from: '/src/c', to: '/dst/c' },
    ]);
    expect(r).toEqual({
      done: 2,
      results: [{}, {}],
      error: {
        index: 2,
        code: 'CX_ERR_IO',
        message: expect.stringContaining(`${join(root, 'src/missing')} -> ${join(root, 'dst/m')}`),
      },
    });
    expect(r.error!.message).toContain('ENOENT');
    // Undo is possible from the prefix: the first two were done, the fourth was not.
    expect(readFileSync(join(root, 'dst/a'), 'utf8')).toBe('new a');
    expect(readFileSync(join(root, 'dst/c'), 'utf8')).toBe('old c');
    renameSync(join(root, 'keep/a'), join(root, 'dst/a'));
    expect(readFileSync(join(root, 'dst/a'), 'utf8')).toBe('old a');
    expect(litter(join(root, 'dst'))).toEqual([]);
    // A link onto an existing name fails; the copies before it stand (synced and renamed in order).
    const again = await fs.batch([
      { op: 'copy', from: '/src/b', to: '/dst/b' },
      { op: 'copy', from: '/src/a', to: '/dst/a2' },
      { op: 'link', from: '/dst/a', to: '/dst/c' },
    ]);
    expect(again).toMatchObject({ done: 2, error: { index: 2, code: 'CX_ERR_IO' } });
    expect(again.error!.message).toContain('EEXIST');
    expect(lstatSync(join(root, 'dst/b')).size).toBe(3 * 1024 * 1024 + 7);
    expect(litter(join(root, 'dst'))).toEqual([]);
  });

  it('refuses a FIFO or directory as a file (never a hang), and a list that is not one', async () => {
    const { fs } = caps('hotfix', { root });
    const r = await fs.batch([{ op: 'hash', path: '/dst' }]);
    expect(r.error).toMatchObject({ index: 0, code: 'CX_ERR_IO' });
    expect(r.error!.message).toContain('is not a regular file (a directory)');
    for (const bad of [[], 'x', [{ op: 'chmod', path: '/dst/a' }]]) {
      const e = await rejection(fs.batch(bad as never));
      expect(e.code).toBe('CX_ERR_IO');
    }
    expect((await rejection(fs.batch([{ op: 'hash', path: 'relative' }]))).code).toBe('CX_ERR_PERMISSION_DENIED');
  });

  it('a dry run records the changes and makes none; reads still happen', async () => {
    const { fs, recorder } = caps('hotfix', { root, dryRun: true });
    const r = await fs.batch([
      { op: 'copy', from: '/src/a', to: '/dst/a' },
      { op: 'hash', path: '/dst/a' },
    ]);
    expect(r).toEqual({ done: 2, results: [{}, { sha256: sha('old a'), stat: expect.any(Object) }] });
    expect(recorder.actions).toEqual([`batch copy: ${join(root, 'src/a')} -> ${join(root, 'dst/a')}`]);
    expect(readFileSync(join(root, 'dst/a'), 'utf8')).toBe('old a');
  });

  it('a test that fakes fs without batch gets the batch through the single calls', async () => {
    const seen: string[] = [];
    const { fs } = caps('s', {
      root,
      grants: ['read:/src', 'read:/dst', 'write:/dst'],
      fakes: { fs: { copy: async (a, b) => void seen.push(`${a} ${b}`), hash: async () => 'f'.repeat(64) } },
    });
    expect(await fs.batch([{ op: 'copy', from: '/src/a', to: '/dst/a', hash: true }])).toEqual({
      done: 1,
      results: [{ sha256: 'f'.repeat(64) }],
    });
    expect(seen).toEqual([`${join(root, 'src/a')} ${join(root, 'dst/a')}`]);
  });

  it('keeps a second name of the source apart: a copy never writes through a hard link', async () => {
    linkSync(join(root, 'dst/a'), join(root, 'keep/twin'));
    const { fs } = caps('hotfix', { root });
    expect((await fs.batch([{ op: 'copy', from: '/src/a', to: '/dst/a' }])).done).toBe(1);
    expect(readFileSync(join(root, 'keep/twin'), 'utf8')).toBe('old a');
  });
});

describe('fs.batch in the sandbox', () => {
  const code = pluginSource('batcher', {
    run: `async (ctx, input) => { try { return await ctx.fs.batch(input.ops); } catch (e) { return e.code; } }`,
  });
  let host: SandboxHost;
  let plugin: SandboxedPlugin;
  let s: { dir: string; cleanup(): void };
  let ctx: PluginContext;
  let audit: AuditLog;

  beforeAll(async () => {
    s = tempDir('cx-batch-sb-');
    mkdirSync(join(s.dir, 'srv'));
    mkdirSync(join(s.dir, 'etc'));
    writeFileSync(join(s.dir, 'srv/in'), 'payload');
    const made = testContext('batcher', mergeGrants([parseGrant('read:/srv'), parseGrant('write:/srv')]), undefined, {
      root: s.dir,
    });
    ctx = made.ctx;
    audit = made.audit;
    host = new SandboxHost({ defaultLimits: { callTimeoutMs: 10_000 } });
    plugin = await host.load({ name: 'batcher', code, filename: 'batcher.js' });
  });
  afterAll(async () => {
    await host.close();
    s.cleanup();
  });

  it('has the same method and grants: granted paths copied and hashed, one more path denies the call', async () => {
    expect(
      await plugin.call(
        cmd('run'),
        {
          ops: [
            { op: 'copy', from: '/srv/in', to: '/srv/out', hash: true },
            { op: 'hash', path: '/srv/out' },
          ],
        },
        ctx,
      ),
    ).toEqual({
      done: 2,
      results: [{ sha256: sha('payload') }, { sha256: sha('payload'), stat: expect.objectContaining({ size: 7 }) }],
    });
    expect(readFileSync(join(s.dir, 'srv/out'), 'utf8')).toBe('payload');
    expect(await plugin.call(cmd('run'), { ops: [{ op: 'copy', from: '/srv/in', to: '/etc/passwd' }] }, ctx)).toBe(
      'CX_ERR_PERMISSION_DENIED',
    );
    expect(existsSync(join(s.dir, 'etc/passwd'))).toBe(false);
    expect(audit.records.map((r) => [r.op, r.allowed])).toEqual([
      ['batch', true],
      ['batch', false],
    ]);
  });
});
