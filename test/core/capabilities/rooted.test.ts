// The rooted host view: plugins and grants name host paths, ctx.fs resolves them under --root;
// ctx.localFs takes paths as given (cx-ops' own directories, paths the user typed).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { caps, rejection, tempDir } from './helpers.js';

let t: { dir: string; cleanup(): void };
let root: string;
beforeEach(() => {
  t = tempDir('cx-root-');
  root = join(t.dir, 'root');
  mkdirSync(join(root, 'proc'), { recursive: true });
  writeFileSync(join(root, 'proc/meminfo'), 'MemTotal: 1024 kB\n');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'fixture\n');
});
afterEach(() => t.cleanup());

describe('ctx.fs under --root', () => {
  it('reads /proc/meminfo of the root, lists and stats host paths, and names the file on disk in the audit and in errors', async () => {
    const { fs, audit } = caps('rooted', { root });
    expect(await fs.readFile('/proc/meminfo')).toBe('MemTotal: 1024 kB\n');
    expect((await fs.readDir('/etc')).map((e) => e.name)).toEqual(['hostname']);
    expect(await fs.stat('/etc/hostname')).toMatchObject({ path: '/etc/hostname', type: 'file', size: 8 });
    expect(fs.diskPath('/etc/hostname')).toBe(join(root, 'etc/hostname'));
    expect(audit.records[0]).toMatchObject({ op: 'readFile', target: join(root, 'proc/meminfo') });
    expect(await rejection(fs.readFile('/etc/nothing'))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${join(root, 'etc/nothing')}: no such file or directory`,
    });
  });

  it('`..` cannot climb out of the root: the path is normalized as a host path first', async () => {
    const { fs } = caps('rooted', { root });
    writeFileSync(join(t.dir, 'outside'), 'secret');
    expect(await rejection(fs.readFile('/../outside'))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${join(root, 'outside')}: no such file or directory`,
    });
  });

  it('writes land under the root', async () => {
    const { fs } = caps('rooted', { root });
    await fs.writeFile('/etc/motd', 'hello\n');
    expect(readFileSync(join(root, 'etc/motd'), 'utf8')).toBe('hello\n');
  });

  it("a sandboxed plugin granted read:/proc/meminfo reads the root's file, and nothing else under the root or outside it", async () => {
    const { fs } = caps('sandboxed', { root, grants: ['read:/proc/meminfo'] });
    expect(await fs.readFile('/proc/meminfo')).toBe('MemTotal: 1024 kB\n');
    expect(await rejection(fs.readFile('/etc/hostname'))).toMatchObject({ code: 'CX_ERR_PERMISSION_DENIED' });
    const local = caps('sandboxed', { root, grants: ['read:/proc/meminfo'] }).localFs;
    expect(await rejection(local.readFile('/proc/meminfo'))).toMatchObject({ code: 'CX_ERR_PERMISSION_DENIED' });
  });
});

describe('ctx.localFs', () => {
  it('takes paths as given: a data directory outside the root, a file the user typed', async () => {
    const data = join(t.dir, 'data');
    const { fs, localFs } = caps('local', { root });
    await localFs.mkdir(join(data, 'plugin-state/local'));
    await localFs.writeFile(join(data, 'plugin-state/local/state.json'), '{}\n');
    expect(readFileSync(join(data, 'plugin-state/local/state.json'), 'utf8')).toBe('{}\n');
    expect(localFs.diskPath(join(data, 'x'))).toBe(join(data, 'x'));
    // The same path through the host view is a path inside the root.
    expect(fs.diskPath(join(data, 'x'))).toBe(join(root, data, 'x'));
    expect(await fs.stat(join(data, 'plugin-state/local/state.json'))).toBeNull();
  });

  it('a sandboxed plugin always reaches its own state and cache directories, and only those without a grant', async () => {
    const state = join(t.dir, 'data/plugin-state/s');
    const { localFs } = caps('s', { root, grants: [], ownDirs: [state] });
    await localFs.mkdir(state);
    await localFs.writeFile(join(state, 'seen.json'), '[]');
    expect(await localFs.readFile(join(state, 'seen.json'))).toBe('[]');
    expect(await rejection(localFs.writeFile(join(t.dir, 'data/other.json'), '[]'))).toMatchObject({
      code: 'CX_ERR_PERMISSION_DENIED',
    });
  });
});
