// A dry run of a write sequence whose later steps use what earlier steps would have made
// (mkdir, a temp file, a temp link, then renames into place) records every step, instead of
// refusing the ones whose directory or source a real run would have created first.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { caps, rejection, tempDir } from './helpers.js';

let t: { dir: string; cleanup(): void };
beforeEach(() => {
  t = tempDir('cx-fs-dry-');
});
afterEach(() => t.cleanup());

describe('dry-run write sequences', () => {
  it('records rename, symlink and copy inside a directory the run would have made; nothing is created', async () => {
    const { localFs: fs, recorder } = caps('dry', { dryRun: true });
    const store = join(t.dir, 'new', '.store');
    await fs.mkdir(join(store, '.tmp-x'));
    await fs.writeBytes(join(store, '.tmp-x', 'a'), new Uint8Array([1, 2]));
    await fs.rename(join(store, '.tmp-x'), join(store, 'x'));
    await fs.symlink('.store/x', join(t.dir, 'new', '.x.link'));
    await fs.rename(join(t.dir, 'new', '.x.link'), join(t.dir, 'new', 'x'));
    await fs.copy(join(store, 'x', 'a'), join(store, 'x', 'b'));
    expect(existsSync(join(t.dir, 'new'))).toBe(false);
    expect(recorder.actions).toEqual([
      `mkdir: ${store}/.tmp-x`,
      `write: ${store}/.tmp-x/a (2 bytes)`,
      `rename: ${store}/.tmp-x -> ${store}/x`,
      `symlink: ${t.dir}/new/.x.link -> .store/x`,
      `rename: ${t.dir}/new/.x.link -> ${t.dir}/new/x`,
      `copy: ${store}/x/a -> ${store}/x/b`,
    ]);
  });

  it('a real run still refuses a rename or symlink into a directory that does not exist; a dry run of a sandboxed plugin still checks grants', async () => {
    const { localFs: fs } = caps('real');
    mkdirSync(join(t.dir, 'here'));
    expect(await rejection(fs.rename(join(t.dir, 'gone', 'a'), join(t.dir, 'here', 'a')))).toMatchObject({
      code: 'CX_ERR_IO',
      message: `${t.dir}/gone/a: no such file or directory`,
    });
    expect(await rejection(fs.symlink('x', join(t.dir, 'gone', 'l')))).toMatchObject({ code: 'CX_ERR_IO' });
    const sandboxed = caps('s', { dryRun: true, grants: [`write:${t.dir}/allowed`] });
    expect(
      await rejection(sandboxed.localFs.rename(join(t.dir, 'allowed', 'new', 'a'), join(t.dir, 'other', 'a'))),
    ).toMatchObject({ code: 'CX_ERR_PERMISSION_DENIED' });
    await sandboxed.localFs.rename(join(t.dir, 'allowed', 'new', 'a'), join(t.dir, 'allowed', 'new', 'b'));
    expect(sandboxed.recorder.actions).toEqual([`rename: ${t.dir}/allowed/new/a -> ${t.dir}/allowed/new/b`]);
  });
});
