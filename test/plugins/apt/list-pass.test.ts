/**
 * The one pass over a package list that security_updates' scan and the apt diagnosis share:
 * the script run as the exec capability runs it (a UTF-8 locale), its reading, and the pass kept
 * per list file (one decompression per list while its size and mtime hold; on disk for the next run).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { corruptLists } from '../../../plugins-builtin/apt/list-sanity.js';
import { APT_HELPER, LIST_PASS_SCRIPT, listPass, passOf } from '../../../plugins-builtin/apt/list-pass.js';
import type { PluginContext } from '../../../sdk/types.js';
import { testContext } from '../../helpers/test-context.js';

const dir = mkdtempSync(join(tmpdir(), 'cx-list-pass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIST = [
  'Package: cx-a',
  'Version: 1.0',
  'Architecture: all',
  'Maintainer: X <x@example.invalid>',
  'Description: one',
  ' more words',
  '',
  'Package: cx-b',
  'Version: 2.0',
  'Architecture: amd64',
  'Phased-Update-Percentage: 10',
  '',
].join('\n');
const FIELDS =
  'Package: cx-a\nVersion: 1.0\nArchitecture: all\nPackage: cx-b\nVersion: 2.0\nArchitecture: amd64\nPhased-Update-Percentage: 10\n';

/** The script as the exec capability runs it: LANG=C.UTF-8, no LC_ALL of the caller's. */
function runScript(file: string) {
  const r = spawnSync('sh', ['-c', LIST_PASS_SCRIPT, APT_HELPER, file], {
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
    encoding: 'latin1',
  });
  return passOf({ exitCode: r.status, stdout: r.stdout, stderr: r.stderr, truncated: false });
}

function ctxWithCache(cacheDir: string): { ctx: PluginContext; shells: () => number } {
  const tc = testContext('apt', 'all');
  const ctx = { ...tc.ctx, env: { ...tc.ctx.env, cacheDir } } as PluginContext;
  const shells = () => tc.audit.records.filter((r) => r.capability === 'exec' && r.target === 'sh').length;
  return { ctx, shells };
}

describe.skipIf(!existsSync(APT_HELPER))('the list pass', () => {
  test('keeps the four scanned fields, in order; a list that parses has no bad line; gzip reads the same', () => {
    writeFileSync(join(dir, 'plain_Packages'), LIST);
    writeFileSync(join(dir, 'gz_Packages.gz'), gzipSync(LIST));
    expect(runScript(join(dir, 'plain_Packages'))).toEqual({ ok: true, fields: FIELDS, bad: null });
    expect(runScript(join(dir, 'gz_Packages.gz'))).toEqual({ ok: true, fields: FIELDS, bad: null });
  });

  test('finds a bad line with a byte that is not UTF-8 (grep runs with LC_ALL=C, not the UTF-8 locale)', () => {
    writeFileSync(
      join(dir, 'latin1_Packages'),
      Buffer.from(`${LIST}caf\xe9 without a colon\n\nPackage: cx-c\n`, 'latin1'),
    );
    expect(runScript(join(dir, 'latin1_Packages'))).toEqual({
      ok: true,
      // The bad lines stay among the fields (the scan reads only the four fields' lines).
      fields: `${FIELDS}caf\xe9 without a colon\nPackage: cx-c\n`,
      bad: 'caf\xe9 without a colon',
    });
    writeFileSync(join(dir, 'hash_Packages'), `# a comment apt refuses\n${LIST}`);
    expect(runScript(join(dir, 'hash_Packages'))).toMatchObject({ ok: true, bad: '# a comment apt refuses' });
  });

  test('a list the helper cannot open is not read, with its words', () => {
    expect(runScript(join(dir, 'gone_Packages.gz'))).toEqual({
      ok: false,
      error: `apt-helper cat-file failed (exit 100): E: Could not open file ${dir}/gone_Packages.gz - open (2: No such file or directory)`,
    });
  });

  test('one decompression per list file while its size and mtime hold, shared by the scan and the diagnosis; kept on disk', async () => {
    const lists = join(dir, 'lists');
    const cache = join(dir, 'cache');
    rmSync(lists, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', lists]);
    writeFileSync(join(lists, 'x_main_binary-amd64_Packages'), LIST);
    writeFileSync(join(lists, 'y_main_binary-amd64_Packages.gz'), gzipSync(`${LIST}bad line\n`));
    const file = join(lists, 'x_main_binary-amd64_Packages');

    const first = ctxWithCache(cache);
    // The scan and the diagnosis ask at the same time, then again.
    const [a, b] = await Promise.all([listPass(first.ctx, file), corruptLists(first.ctx, lists)]);
    expect(a).toEqual({ ok: true, fields: FIELDS, bad: null });
    expect(b).toEqual([`${lists}/y_main_binary-amd64_Packages.gz: bad line`]);
    expect(await listPass(first.ctx, file)).toEqual(a);
    expect(first.shells()).toBe(2); // one per list file

    // Another process (a later run): the passes come from the cache directory.
    const later = ctxWithCache(cache);
    vi.resetModules();
    const kept = await import('../../../plugins-builtin/apt/list-pass.js');
    expect(await kept.listPass(later.ctx, file)).toEqual(a);
    expect(later.shells()).toBe(0);

    // apt rewrote the list: read again.
    const t = new Date(Date.now() - 60_000);
    utimesSync(file, t, t);
    expect(await kept.listPass(later.ctx, file)).toEqual(a);
    expect(later.shells()).toBe(1);
  });
});
