import { describe, expect, test } from 'vitest';
import { readPluginArchive, unsafePath } from '../../../plugins-builtin/registry/plugin-archive.js';
import { CxError } from 'cx-ops/sdk';
import { rawTarGz, type RawEntry } from './harness.js';

const manifest: RawEntry = { path: 'plugin.yaml', type: '0', data: 'name: x\n' };

async function refusal(entries: RawEntry[]): Promise<CxError> {
  try {
    await readPluginArchive(rawTarGz(entries), 'evil.tgz');
  } catch (e) {
    if (e instanceof CxError) return e;
    throw e;
  }
  throw new Error('the archive was accepted');
}

describe('readPluginArchive refuses every entry that could write outside the plugin directory', () => {
  test.each([
    [
      '../../etc/passwd',
      { path: '../../etc/passwd', type: '0', data: 'root::0:0::/:/bin/sh\n' },
      "climbs out of the archive with '..'",
    ],
    ['a/../../x', { path: 'a/../../x', type: '0', data: 'x' }, "climbs out of the archive with '..'"],
    ['/etc/cron.d/evil', { path: '/etc/cron.d/evil', type: '0', data: '* * * * * root sh\n' }, 'is an absolute path'],
    [
      'symlink to /etc',
      { path: 'lib', type: '2', linkpath: '/etc' },
      "is a symbolic link pointing outside the archive (to '/etc')",
    ],
    [
      'symlink climbing out',
      { path: 'dist/up', type: '2', linkpath: '../../..' },
      "is a symbolic link pointing outside the archive (to '../../..')",
    ],
    [
      'hard link to /etc/shadow',
      { path: 'shadow', type: '1', linkpath: '/etc/shadow' },
      "is a hard link pointing outside the archive (to '/etc/shadow')",
    ],
    [
      'symlink inside',
      { path: 'alias.js', type: '2', linkpath: 'dist/index.js' },
      "is a symbolic link (to 'dist/index.js'); plugin archives hold no links",
    ],
    ['character device', { path: 'tty', type: '3' }, 'is a characterdevice, not a plain file or directory'],
    ['fifo', { path: 'pipe', type: '6' }, 'is a fifo, not a plain file or directory'],
  ] as Array<[string, RawEntry, string]>)('%s', async (_, entry, detail) => {
    const e = await refusal([manifest, entry]);
    expect(e.code).toBe('CX_ERR_ARCHIVE_UNSAFE');
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(
      `evil.tgz: entry '${entry.path}' ${detail}; the archive was refused and nothing was written.\nA plugin archive holds only plain files and directories inside it; rebuild it with: cx-ops plugins pack DIR`,
    );
  });

  test('the first bad entry is reported even when good entries follow it', async () => {
    const e = await refusal([
      { path: '../x', type: '0', data: 'x' },
      manifest,
      { path: 'dist/index.js', type: '0', data: 'export default {}' },
    ]);
    expect(e.params.entry).toBe('../x');
  });

  test('plain files and directories are read with their contents, paths normalized', async () => {
    const files = await readPluginArchive(
      rawTarGz([
        { path: './dist/', type: '5' },
        manifest,
        { path: './dist/index.js', type: '0', data: 'export default 1;\n' },
      ]),
      'good.tgz',
    );
    expect(files.map((f) => [f.path, f.type, f.data.toString()])).toEqual([
      ['dist', 'directory', ''],
      ['plugin.yaml', 'file', 'name: x\n'],
      ['dist/index.js', 'file', 'export default 1;\n'],
    ]);
  });

  test('a path twice (two plugin.yaml, or ./x and x) is refused: one manifest per archive', async () => {
    const twice = await refusal([manifest, { path: './plugin.yaml', type: '0', data: 'name: evil\n' }]);
    expect(twice).toMatchObject({
      code: 'CX_ERR_ARCHIVE_UNSAFE',
      params: { entry: './plugin.yaml', detail: 'is in the archive twice (as a file before)' },
    });
    const asDir = await refusal([{ path: 'dist', type: '5' }, { path: 'dist', type: '0', data: 'x' }, manifest]);
    expect(asDir.params.detail).toBe('is in the archive twice (as a directory before)');
    const dirs = await readPluginArchive(
      rawTarGz([{ path: 'dist/', type: '5' }, { path: './dist', type: '5' }, manifest]),
      'ok.tgz',
    );
    expect(dirs.map((f) => f.path)).toEqual(['dist', 'dist', 'plugin.yaml']);
  });

  test('bytes that are not gzip, and an empty archive, are invalid archives', async () => {
    await expect(readPluginArchive(Buffer.from('<html>not found</html>'), 'page.tgz')).rejects.toMatchObject({
      code: 'CX_ERR_ARCHIVE_INVALID',
      message: expect.stringMatching(/^page\.tgz: is not a gzip-compressed tar archive/),
    });
    await expect(readPluginArchive(rawTarGz([]), 'empty.tgz')).rejects.toMatchObject({
      code: 'CX_ERR_ARCHIVE_INVALID',
      message: 'empty.tgz: is empty.\nRebuild it with: cx-ops plugins pack DIR',
    });
  });

  test('unsafePath', () => {
    expect([
      unsafePath('a/b.js'),
      unsafePath('./a'),
      unsafePath('a/..'),
      unsafePath('/a'),
      unsafePath('C:\\x'),
      unsafePath('a\0b'),
    ]).toEqual([
      undefined,
      undefined,
      "climbs out of the archive with '..'",
      'is an absolute path',
      'is an absolute path',
      'contains a NUL byte',
    ]);
  });
});
