import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { openVerified, O_RDONLY, MovedError } from '../../../core/capabilities/fs-open.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { CxError } from '../../../core/errors.js';
import { rejection } from '../../helpers/rejection.js';
import { mergeGrants } from '../../../core/permissions/grants.js';
import { parseGrant } from '../../../core/permissions/grants.js';

let dir: string;
let granted: string;
let secret: string;

function caps(grants: string[], o: { dryRun?: boolean; recorder?: { actions: string[] }; audit?: AuditLog } = {}) {
  return createHostCapabilities({
    plugin: 'fs-test',
    tier: 'sandboxed',
    grants: mergeGrants(grants.map(parseGrant)),
    dryRun: Boolean(o.dryRun),
    recorder: o.recorder,
    audit: o.audit ?? AuditLog.memory(),
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-fs-'));
  granted = join(dir, 'granted');
  secret = join(dir, 'secret');
  await mkdir(granted);
  await mkdir(secret);
  await writeFile(join(granted, 'ok.txt'), 'granted content');
  await writeFile(join(secret, 'shadow'), 'SECRET');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fs capability: reads', () => {
  it('reads, lists and stats inside a read grant', async () => {
    const { fs } = caps([`read:${granted}`]);
    expect(await fs.readFile(join(granted, 'ok.txt'))).toBe('granted content');
    expect(await fs.readDir(granted)).toEqual([{ name: 'ok.txt', type: 'file' }]);
    expect(await fs.stat(join(granted, 'ok.txt'))).toMatchObject({
      path: join(granted, 'ok.txt'),
      type: 'file',
      size: 15,
    });
    expect(await fs.stat(join(granted, 'none'))).toBeNull();
    expect((await fs.statfs(granted)).total).toBeGreaterThan(0);
  });

  it('denies path traversal out of the grant, naming the resolved path', async () => {
    const { fs } = caps([`read:${granted}`]);
    const e = await rejection(fs.readFile(`${granted}/../secret/shadow`));
    expect(e.toJSON()).toEqual({
      code: 'CX_ERR_PERMISSION_DENIED',
      plugin: 'fs-test',
      message: `plugin 'fs-test' may not read '${secret}/shadow' ('${granted}/../secret/shadow' resolves to it): its grant allows '${granted}'.\nGrant it with: cx-ops plugins grant fs-test read:${secret}/shadow`,
    });
    expect((await rejection(fs.readFile('relative/x'))).message).toContain('paths must be absolute');
    // A missing file outside the grant is denied too: existence does not leak.
    expect((await rejection(fs.readFile(join(secret, 'nope')))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect((await rejection(fs.readFile(join(granted, 'nope')))).toJSON()).toMatchObject({ code: 'CX_ERR_IO' });
  });

  it('denies a planted symlink that leads out of the grant', async () => {
    await symlink(join(secret, 'shadow'), join(granted, 'link'));
    await symlink(secret, join(granted, 'dirlink'));
    const { fs } = caps([`read:${granted}`]);
    expect((await rejection(fs.readFile(join(granted, 'link')))).message).toContain(
      `may not read '${secret}/shadow' ('${granted}/link' resolves to it)`,
    );
    expect((await rejection(fs.readFile(join(granted, 'dirlink', 'shadow')))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect((await rejection(fs.readDir(join(granted, 'dirlink')))).code).toBe('CX_ERR_PERMISSION_DENIED');
    // The link itself lies inside the grant: lstat-like stat and readlink see it.
    expect(await fs.stat(join(granted, 'link'))).toMatchObject({ type: 'symlink' });
    expect(await fs.readlink(join(granted, 'link'))).toBe(join(secret, 'shadow'));
  });

  it('checks at open time: a path swapped for a symlink after the check is refused', async () => {
    // The check resolved granted/sub/f; by the time of the open, sub is a symlink to secret.
    await mkdir(join(granted, 'sub'));
    await writeFile(join(granted, 'sub', 'shadow'), 'fine');
    const checked = join(granted, 'sub', 'shadow');
    await rename(join(granted, 'sub'), join(granted, 'sub-old'));
    await symlink(secret, join(granted, 'sub'));
    const err = await openVerified(checked, O_RDONLY, checked).then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(MovedError);
    expect((err as MovedError).actual).toBe(join(secret, 'shadow'));
  });

  it('mkdir refuses to walk through an ancestor that is not on the checked way', async () => {
    const { makeDirsForTest } = await import('../../../core/capabilities/fs.js');
    await mkdir(join(granted, 'a'));
    // Checked as granted/a/b/c; by now granted/a leads to secret.
    await rm(join(granted, 'a'), { recursive: true });
    await symlink(secret, join(granted, 'a'));
    const err = await makeDirsForTest(join(granted, 'a', 'b', 'c'), join(granted, 'a', 'b', 'c'), 0o755).then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(MovedError);
    expect(existsSync(join(secret, 'b'))).toBe(false);
    // A symlink that stays inside the grant is followed as mkdir -p would.
    await mkdir(join(granted, 'real'));
    await symlink(join(granted, 'real'), join(granted, 'inside'));
    await caps([`write:${granted}`]).fs.mkdir(join(granted, 'inside', 'x', 'y'));
    expect(statSync(join(granted, 'real', 'x', 'y')).isDirectory()).toBe(true);
    expect((await rejection(caps([`write:${granted}`]).fs.mkdir(join(granted, 'a', 'z')))).code).toBe(
      'CX_ERR_PERMISSION_DENIED',
    );
  });

  it('never returns outside content while a symlink is swapped in and out (race)', async () => {
    const { fs } = caps([`read:${granted}`]);
    const target = join(granted, 'race');
    let stop = false;
    const swapper = (async () => {
      while (!stop) {
        await writeFile(`${target}.f`, 'inside');
        await rename(`${target}.f`, target).catch(() => undefined);
        await symlink(join(secret, 'shadow'), `${target}.l`).catch(() => undefined);
        await rename(`${target}.l`, target).catch(() => undefined);
      }
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      try {
        seen.add(await fs.readFile(target));
      } catch (e) {
        seen.add((e as CxError).code);
      }
    }
    stop = true;
    await swapper;
    expect(seen.has('SECRET')).toBe(false);
    expect([...seen].every((s) => ['inside', 'CX_ERR_PERMISSION_DENIED', 'CX_ERR_IO'].includes(s))).toBe(true);
  });

  it('keeps /proc secrets, devices and FIFOs out of directory grants', async () => {
    const { fs } = caps(['read:/proc', 'read:/dev', `read:${granted}`]);
    expect(await fs.readFile('/proc/loadavg')).toMatch(/^\d/);
    const env = await rejection(fs.readFile('/proc/self/environ'));
    expect(env.code).toBe('CX_ERR_PERMISSION_DENIED');
    expect(env.message).toContain(`may not read '/proc/${process.pid}/environ'`);
    expect((await rejection(fs.readFile('/proc/self/cmdline'))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect((await rejection(fs.readFile('/dev/zero'))).code).toBe('CX_ERR_PERMISSION_DENIED');
    execFileSync('mkfifo', [join(granted, 'fifo')]);
    const fifo = await rejection(fs.readFile(join(granted, 'fifo')));
    expect(fifo.message).toContain(
      'it is a device, FIFO or socket; only an exact grant of that path allows reading it',
    );
    const exact = caps(['read:/proc/loadavg', `read:/proc/${process.pid}/cmdline`]);
    expect(await exact.fs.readFile('/proc/self/cmdline')).toContain('node');
  });

  it('caps reads', async () => {
    await writeFile(join(granted, 'big'), Buffer.alloc(9 * 1024 * 1024));
    const e = await rejection(caps([`read:${granted}`]).fs.readFile(join(granted, 'big')));
    expect(e.toJSON()).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${join(granted, 'big')}: is larger than the read cap of 8388608 bytes; read a smaller file or use exec with a granted tool`,
    });
  });
});

describe('fs capability: writes', () => {
  it('writes atomically, keeps the mode of a replaced file, appends, and leaves no temp files', async () => {
    const { fs } = caps([`write:${granted}`, `read:${granted}`]);
    const f = join(granted, 'conf');
    await fs.writeFile(f, 'one\n', { mode: 0o600 });
    expect(statSync(f).mode & 0o777).toBe(0o600);
    await fs.writeFile(f, 'two\n');
    expect(readFileSync(f, 'utf8')).toBe('two\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    await fs.writeFile(f, 'three\n', { append: true });
    expect(readFileSync(f, 'utf8')).toBe('two\nthree\n');
    await fs.mkdir(join(granted, 'a', 'b', 'c'));
    expect(statSync(join(granted, 'a', 'b', 'c')).isDirectory()).toBe(true);
    await fs.rename(f, join(granted, 'a', 'conf'));
    await fs.chmod(join(granted, 'a', 'conf'), 0o640);
    expect(statSync(join(granted, 'a', 'conf')).mode & 0o777).toBe(0o640);
    await fs.remove(join(granted, 'a'), { recursive: true });
    expect((await readdir(granted)).sort()).toEqual(['ok.txt']);
  });

  it('an atomic write (ctx.localFs and ctx.fs) sweeps the temp files dead writers of that file left; a live one and other names stay', async () => {
    const dead = spawnSync('true').pid!;
    const kept = [`.conf.cx-${process.ppid}-0a1b2c3d.tmp`, `.other.cx-${dead}-0a1b2c3d.tmp`, 'conf.bak'];
    for (const name of [...kept, `.conf.cx-${dead}-deadbeef.tmp`, `.conf.cx-${dead}-00112233.tmp`])
      await writeFile(join(granted, name), 'half');
    const { localFs, fs } = caps([`write:${granted}`, `read:${granted}`]);
    await localFs.writeFile(join(granted, 'conf'), 'one\n');
    expect((await readdir(granted)).sort()).toEqual([...kept, 'conf', 'ok.txt'].sort());
    await writeFile(join(granted, `.ok.txt.cx-${dead}-deadbeef.tmp`), 'half');
    await fs.writeBytes(join(granted, 'ok.txt'), new Uint8Array([1]));
    expect((await readdir(granted)).sort()).toEqual([...kept, 'conf', 'ok.txt'].sort());
    expect(readFileSync(join(granted, 'conf'), 'utf8')).toBe('one\n');
  });

  it('denies writes through symlinks and outside the grant', async () => {
    const { fs } = caps([`write:${granted}`]);
    await symlink(join(secret, 'shadow'), join(granted, 'link'));
    expect((await rejection(fs.writeFile(join(granted, 'link'), 'x'))).message).toContain(
      `may not write '${secret}/shadow'`,
    );
    await symlink(secret, join(granted, 'dirlink'));
    expect((await rejection(fs.writeFile(join(granted, 'dirlink', 'new'), 'x'))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect((await rejection(fs.mkdir(join(granted, 'dirlink', 'd')))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect((await rejection(fs.remove(join(granted, '..', 'secret', 'shadow')))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect((await rejection(fs.rename(join(granted, 'ok.txt'), join(secret, 'moved')))).code).toBe(
      'CX_ERR_PERMISSION_DENIED',
    );
    // Removing a symlink removes the link, not its target.
    await fs.remove(join(granted, 'link'));
    expect(readFileSync(join(secret, 'shadow'), 'utf8')).toBe('SECRET');
    expect(existsSync(join(granted, 'link'))).toBe(false);
  });

  it('dry run records side effects and performs none; reads still happen', async () => {
    const recorder = { actions: [] as string[] };
    const audit = AuditLog.memory();
    const { fs } = caps([`write:${granted}`, `read:${granted}`], { dryRun: true, recorder, audit });
    await fs.writeFile(join(granted, 'new'), 'hello');
    await fs.mkdir(join(granted, 'd'));
    await fs.remove(join(granted, 'ok.txt'));
    expect(await fs.readFile(join(granted, 'ok.txt'))).toBe('granted content');
    expect(recorder.actions).toEqual([
      `write: ${granted}/new (5 bytes)`,
      `mkdir: ${granted}/d`,
      `remove: ${granted}/ok.txt`,
    ]);
    expect((await readdir(granted)).sort()).toEqual(['ok.txt']);
    expect(audit.records.map((r) => [r.op, r.allowed, r.dryRun])).toEqual([
      ['writeFile', true, true],
      ['mkdir', true, true],
      ['remove', true, true],
      ['readFile', true, true],
    ]);
    expect((await rejection(fs.writeFile(join(secret, 'x'), 'x'))).code).toBe('CX_ERR_PERMISSION_DENIED');
  });

  it('audit log file: one JSON line per call, allowed or denied', async () => {
    const audit = new AuditLog(join(dir, 'log', 'audit.jsonl'));
    const { fs } = caps([`read:${granted}`], { audit });
    await fs.readFile(join(granted, 'ok.txt'));
    await rejection(fs.readFile(join(secret, 'shadow')));
    await audit.close();
    const lines = readFileSync(join(dir, 'log', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map(({ ts: _ts, ...r }) => r)).toEqual([
      {
        plugin: 'fs-test',
        tier: 'sandboxed',
        capability: 'fs',
        op: 'readFile',
        target: join(granted, 'ok.txt'),
        allowed: true,
        dryRun: false,
      },
      {
        plugin: 'fs-test',
        tier: 'sandboxed',
        capability: 'fs',
        op: 'readFile',
        target: join(secret, 'shadow'),
        allowed: false,
        reason: 'not granted',
        dryRun: false,
      },
    ]);
    await unlink(join(dir, 'log', 'audit.jsonl'));
  });
});
