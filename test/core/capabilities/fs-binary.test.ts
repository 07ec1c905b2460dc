// Binary files, appends, lstat, symlinks and copies through ctx.fs, in both tiers, audited and dry-run aware.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { caps, rejection, tempDir } from './helpers.js';

let t: { dir: string; cleanup(): void };
beforeEach(() => {
  t = tempDir('cx-bin-');
});
afterEach(() => t.cleanup());

const everyByte = () => Uint8Array.from({ length: 256 }, (_, i) => i);

describe('bytes', () => {
  it('writeBytes then readBytes gives back every byte value; the write is atomic with the mode asked', async () => {
    const { fs, audit } = caps('bin');
    const f = join(t.dir, 'blob.bin');
    await fs.writeBytes(f, everyByte(), { mode: 0o640 });
    expect([...readFileSync(f)]).toEqual([...everyByte()]);
    expect(statSync(f).mode & 0o7777).toBe(0o640);
    const back = await fs.readBytes(f);
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...back]).toEqual([...everyByte()]);
    expect(audit.records.map((r) => [r.op, r.target, r.allowed])).toEqual([
      ['writeBytes', f, true],
      ['readBytes', f, true],
    ]);
  });

  it('readBytes refuses a file over maxBytes, a FIFO and /dev/zero with CX_ERR_IO naming the path: never a hang', async () => {
    const { fs } = caps('bin');
    const f = join(t.dir, 'ten');
    writeFileSync(f, '0123456789');
    expect(await rejection(fs.readBytes(f, { maxBytes: 9 }))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${f}: is larger than the read cap of 9 bytes; read a smaller file or use exec with a granted tool`,
    });
    expect((await fs.readBytes(f, { maxBytes: 10 })).length).toBe(10);
    const fifo = join(t.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await rejection(fs.readBytes(fifo))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${fifo}: is not a regular file (a FIFO, device or socket); cx-ops reads only regular files here`,
    });
    expect(await rejection(fs.readFile(fifo))).toMatchObject({ code: 'CX_ERR_IO' });
    symlinkSync('/dev/zero', join(t.dir, 'state.json'));
    expect(await rejection(fs.readFile(join(t.dir, 'state.json')))).toMatchObject({
      code: 'CX_ERR_IO',
      message: '/dev/zero: is not a regular file (a FIFO, device or socket); cx-ops reads only regular files here',
    });
  });

  it('appendFile appends text and bytes (a write-ahead journal), creating the file', async () => {
    const { fs, audit } = caps('bin');
    const f = join(t.dir, 'journal.jsonl');
    await fs.appendFile(f, '{"step":1}\n', { mode: 0o600 });
    await fs.appendFile(f, new TextEncoder().encode('{"step":2}\n'));
    expect(readFileSync(f, 'utf8')).toBe('{"step":1}\n{"step":2}\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(audit.records.map((r) => r.op)).toEqual(['appendFile', 'appendFile']);
  });
});

describe('links and copies', () => {
  it('lstat reports a symlink as the link with its target; null for nothing; symlink and readlink round-trip', async () => {
    const { fs } = caps('links');
    const link = join(t.dir, 'current');
    await fs.symlink('releases/2', link);
    expect(readlinkSync(link)).toBe('releases/2');
    expect(await fs.readlink(link)).toBe('releases/2');
    const st = await fs.lstat(link);
    expect(st).toMatchObject({ path: link, type: 'symlink', target: 'releases/2' });
    expect(await fs.lstat(join(t.dir, 'nothing'))).toBeNull();
    mkdirSync(join(t.dir, 'd'));
    expect(await fs.lstat(join(t.dir, 'd'))).toMatchObject({ type: 'dir' });
    expect(await rejection(fs.symlink('elsewhere', link))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${link}: symlink failed: EEXIST`,
    });
  });

  it('copy keeps mode and times (and the owner where it may), and copies a symlink as a symlink', async () => {
    const { fs } = caps('links');
    const src = join(t.dir, 'a.conf');
    writeFileSync(src, 'x = 1\n');
    chmodSync(src, 0o751);
    utimesSync(src, new Date('2020-01-02T03:04:05Z'), new Date('2021-02-03T04:05:06Z'));
    await fs.copy(src, join(t.dir, 'b.conf'));
    const b = statSync(join(t.dir, 'b.conf'));
    expect([readFileSync(join(t.dir, 'b.conf'), 'utf8'), b.mode & 0o7777, b.mtime.toISOString(), b.uid]).toEqual([
      'x = 1\n',
      0o751,
      '2021-02-03T04:05:06.000Z',
      statSync(src).uid,
    ]);
    await fs.copy(src, join(t.dir, 'c.conf'), { preserve: false });
    expect(statSync(join(t.dir, 'c.conf')).mtime.toISOString()).not.toBe('2021-02-03T04:05:06.000Z');
    symlinkSync('a.conf', join(t.dir, 'l'));
    await fs.copy(join(t.dir, 'l'), join(t.dir, 'l2'));
    expect([lstatSync(join(t.dir, 'l2')).isSymbolicLink(), readlinkSync(join(t.dir, 'l2'))]).toEqual([true, 'a.conf']);
    expect(await rejection(fs.copy(t.dir, join(t.dir, 'x')))).toMatchObject({ code: 'CX_ERR_IO' });
  });

  it('in a dry run writeBytes, appendFile, symlink and copy are recorded and audited, not performed', async () => {
    const { fs, audit, recorder } = caps('dry', { dryRun: true });
    writeFileSync(join(t.dir, 'src'), 'data');
    await fs.writeBytes(join(t.dir, 'b'), everyByte());
    await fs.appendFile(join(t.dir, 'j'), 'line\n');
    await fs.symlink('src', join(t.dir, 'l'));
    await fs.copy(join(t.dir, 'src'), join(t.dir, 'dst'));
    for (const n of ['b', 'j', 'l', 'dst']) expect(existsSync(join(t.dir, n))).toBe(false);
    expect(recorder.actions).toEqual([
      `write: ${t.dir}/b (256 bytes)`,
      `append: ${t.dir}/j (5 bytes)`,
      `symlink: ${t.dir}/l -> src`,
      `copy: ${t.dir}/src -> ${t.dir}/dst`,
    ]);
    expect(audit.records.every((r) => r.dryRun && r.allowed)).toBe(true);
  });
});

describe('sandboxed plugins', () => {
  it('get permission bits only: setuid, setgid and sticky are never set, by writes, mkdir or chmod; the operator mask tightens it', async () => {
    const { fs } = caps('s', { grants: [`write:${t.dir}`, `read:${t.dir}`] });
    const f = join(t.dir, 'tool');
    await fs.writeFile(f, '#!/bin/sh\n', { mode: 0o4755 });
    expect(statSync(f).mode & 0o7777).toBe(0o755);
    await fs.chmod(f, 0o6777);
    expect(statSync(f).mode & 0o7777).toBe(0o777);
    await fs.writeBytes(join(t.dir, 'b'), everyByte(), { mode: 0o2755 });
    expect(statSync(join(t.dir, 'b')).mode & 0o7777).toBe(0o755);
    await fs.mkdir(join(t.dir, 'd'), { mode: 0o1777 });
    expect(statSync(join(t.dir, 'd')).mode & 0o7000).toBe(0);
    const tight = caps('s', { grants: [`write:${t.dir}`], modeMask: 0o755 });
    await tight.fs.chmod(f, 0o777);
    expect(statSync(f).mode & 0o7777).toBe(0o755);
  });

  it('a trusted plugin keeps the mode it asks for', async () => {
    const { fs } = caps('t');
    await fs.writeFile(join(t.dir, 'x'), 'x', { mode: 0o2750 });
    expect(statSync(join(t.dir, 'x')).mode & 0o7777).toBe(0o2750);
  });

  it('a copy out of the read grant or into a place without a write grant is denied', async () => {
    mkdirSync(join(t.dir, 'in'));
    mkdirSync(join(t.dir, 'out'));
    writeFileSync(join(t.dir, 'secret'), 's');
    writeFileSync(join(t.dir, 'in', 'ok'), 'ok');
    const { fs } = caps('s', { grants: [`read:${t.dir}/in`, `write:${t.dir}/out`] });
    expect(await rejection(fs.copy(join(t.dir, 'secret'), join(t.dir, 'out', 'x')))).toMatchObject({
      code: 'CX_ERR_PERMISSION_DENIED',
    });
    expect(await rejection(fs.copy(join(t.dir, 'in', 'ok'), join(t.dir, 'in', 'ok2')))).toMatchObject({
      code: 'CX_ERR_PERMISSION_DENIED',
    });
    await fs.copy(join(t.dir, 'in', 'ok'), join(t.dir, 'out', 'ok'));
    expect(readFileSync(join(t.dir, 'out', 'ok'), 'utf8')).toBe('ok');
  });
});

describe('hard links, hashes and batched durability', () => {
  it('link, hash (past the read cap), copy with its own mode, unsynced rename, then one fsync of files and directories', async () => {
    const { fs, audit } = caps('bin');
    const f = join(t.dir, 'a');
    writeFileSync(f, Buffer.alloc(9 * 1024 * 1024, 7)); // larger than readBytes' 8 MiB cap
    await fs.link(f, join(t.dir, 'b'), { sync: false });
    expect(statSync(join(t.dir, 'b')).ino).toBe(statSync(f).ino);
    expect((await fs.lstat(f))?.nlink).toBe(2);
    expect(await fs.hash(f)).toBe(createHash('sha256').update(readFileSync(f)).digest('hex'));
    await fs.copy(f, join(t.dir, 'c'), { preserve: false, mode: 0o600, sync: false });
    expect(statSync(join(t.dir, 'c')).mode & 0o7777).toBe(0o600);
    await fs.rename(join(t.dir, 'c'), join(t.dir, 'd'), { sync: false });
    symlinkSync('nowhere', join(t.dir, 'l'));
    // A symlink and a missing path have nothing of their own to sync: skipped, not an error.
    await fs.fsync([join(t.dir, 'd'), t.dir, join(t.dir, 'l'), join(t.dir, 'missing')]);
    expect(audit.records.map((r) => r.op)).toEqual([
      'link',
      'lstat',
      'hash',
      'copy',
      'rename',
      'fsync',
      'fsync',
      'fsync',
      'fsync',
    ]);
    const dry = caps('bin', { dryRun: true });
    await dry.fs.link(f, join(t.dir, 'never'));
    expect(existsSync(join(t.dir, 'never'))).toBe(false);
  });
});
