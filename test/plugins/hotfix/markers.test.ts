/**
 * The marker rules of `append` (where Ansible's blockinfile users get hurt), on the pure
 * functions and end to end: every refusal happens before anything changes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bodyProblem,
  findBlock,
  markerLines,
  withBlock,
  withoutBlock,
} from '../../../plugins-builtin/hotfix/markers.js';
import { hotfixRoot, picture, type HotfixRoot } from './hotfix-root.js';

const M = markerLines('# HOTFIX', 'sec_1');

describe('findBlock', () => {
  it('matches whole lines only: a longer identifier (prefix match) is a different block', () => {
    const text = 'a\n# HOTFIX BEGIN sec_10\nx\n# HOTFIX END sec_10\n';
    expect(findBlock(text, M)).toEqual({ position: null, problem: null });
    const added = withBlock(text, 'y\n', M, null);
    expect(added).toBe(`${text}# HOTFIX BEGIN sec_1\ny\n# HOTFIX END sec_1\n`);
    expect(findBlock(added, M).position).toEqual({ begin: 4, end: 6 });
  });

  it('refuses a doubled begin marker, an orphaned begin or end, an end before the begin', () => {
    expect(
      findBlock('# HOTFIX BEGIN sec_1\n# HOTFIX END sec_1\n# HOTFIX BEGIN sec_1\n# HOTFIX END sec_1\n', M).problem,
    ).toMatchObject({ line: 3, detail: expect.stringContaining('appears 2 times (lines 1, 3)') });
    expect(findBlock('x\n# HOTFIX BEGIN sec_1\nrest of the config\n', M).problem).toMatchObject({
      line: 2,
      detail: expect.stringContaining('orphaned'),
    });
    expect(findBlock('# HOTFIX END sec_1\n', M).problem).toMatchObject({
      line: 1,
      detail: expect.stringContaining('has no begin marker'),
    });
    expect(findBlock('# HOTFIX END sec_1\n# HOTFIX BEGIN sec_1\n', M).problem).toMatchObject({
      line: 1,
      detail: expect.stringContaining('comes before'),
    });
  });

  it('refuses a marker line with leading or trailing whitespace', () => {
    expect(findBlock('# HOTFIX BEGIN sec_1 \nx\n# HOTFIX END sec_1\n', M).problem).toMatchObject({
      line: 1,
      detail: expect.stringContaining('whitespace'),
    });
    expect(findBlock('  # HOTFIX END sec_1\n', M).problem).toMatchObject({ line: 1 });
  });

  it('refuses a body that contains its own marker', () => {
    expect(bodyProblem('ok\n# HOTFIX END sec_1\n', '# HOTFIX', M)).toMatchObject({ line: 2 });
    expect(bodyProblem('# HOTFIX BEGIN other\n', '# HOTFIX', M)).toMatchObject({ line: 1 });
    expect(bodyProblem('fine\n', '# HOTFIX', M)).toBeNull();
  });

  it('replaces a changed block in place and removes exactly the block', () => {
    const text = 'a\n# HOTFIX BEGIN sec_1\nold\n# HOTFIX END sec_1\nb\n';
    const pos = findBlock(text, M).position!;
    expect(withBlock(text, 'new\n', M, pos)).toBe('a\n# HOTFIX BEGIN sec_1\nnew\n# HOTFIX END sec_1\nb\n');
    expect(withBlock(text, 'old\n', M, pos)).toBe(text);
    expect(withoutBlock(text, pos)).toBe('a\nb\n');
  });
});

describe('append through cx-ops hotfix apply', () => {
  let h: HotfixRoot;
  afterEach(() => h?.cleanup());

  async function moduleWith(ops: object[], files: Record<string, string>): Promise<string> {
    const dir = await h.module('security-patch');
    await writeFile(
      `${dir}/index.json`,
      JSON.stringify({ metadata: { schema_version: '1.0.0' }, operations: ops }, null, 2),
    );
    for (const [n, t] of Object.entries(files)) await writeFile(`${dir}/src/${n}`, t);
    return dir;
  }
  const append = (id: string, extra: object = {}) => ({
    id,
    type: 'append',
    source: 'block.conf',
    target: '/etc/site.conf',
    ...extra,
  });

  async function refused(target: string, ops: object[], body = 'x = 1\n') {
    h = await hotfixRoot();
    await writeFile(h.real('etc/site.conf'), target);
    const dir = await moduleWith(ops, { 'block.conf': body });
    const before = await picture(h.root, ['etc']);
    const r = await h.run(['hotfix', 'apply', dir, '-y']);
    expect(await picture(h.root, ['etc'])).toEqual(before);
    return r;
  }

  it('an orphaned begin marker in the target: refused, naming the file and line', async () => {
    const r = await refused('a\n# HOTFIX BEGIN one\nimportant = yes\n', [append('one')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `error[CX_ERR_HOTFIX_MARKER]: ${h.real('etc/site.conf')}:2: operation 'one': the begin marker '# HOTFIX BEGIN one' has no end marker`,
    );
    expect(r.stderr).toContain('nothing was changed');
  });

  it('a doubled marker in the target: refused', async () => {
    const r = await refused('# HOTFIX BEGIN one\n# HOTFIX END one\n# HOTFIX BEGIN one\n# HOTFIX END one\n', [
      append('one'),
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(":3: operation 'one': the begin marker '# HOTFIX BEGIN one' appears 2 times");
  });

  it('a marker with whitespace in the module: refused by the schema with the line', async () => {
    const r = await refused('a\n', [append('one', { marker: '# HOTFIX ' })]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/index\.json:\d+: operation 'one' field 'marker' must match the pattern/);
  });

  it('a body containing its own marker: refused', async () => {
    const r = await refused('a\n', [append('one')], 'x\n# HOTFIX END one\n');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("operation 'one': the source's line 2 contains the block's own marker");
  });

  it('two operations sharing one identifier: refused', async () => {
    const r = await refused('a\n', [
      append('one', { identifier: 'shared' }),
      append('two', { identifier: 'shared', target: '/etc/other.conf' }),
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/operation 'two' field 'identifier' 'shared' is also the identifier of operation 'one'/);
  });

  it('applying twice appends once (idempotent), and rollback removes exactly the block', async () => {
    h = await hotfixRoot();
    await writeFile(h.real('etc/site.conf'), 'server {}\n# HOTFIX BEGIN one0\nother\n# HOTFIX END one0\n');
    const dir = await moduleWith([append('one')], { 'block.conf': 'x = 1\n' });
    const before = await picture(h.root, ['etc']);
    expect((await h.run(['hotfix', 'apply', dir, '-y'])).exitCode).toBe(0);
    const once = await readFile(h.real('etc/site.conf'), 'utf8');
    expect(once).toBe(
      'server {}\n# HOTFIX BEGIN one0\nother\n# HOTFIX END one0\n# HOTFIX BEGIN one\nx = 1\n# HOTFIX END one\n',
    );
    const forced = await h.run(['hotfix', 'apply', dir, '-y', '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('is already there as it should be');
    expect(await readFile(h.real('etc/site.conf'), 'utf8')).toBe(once);
    // Someone edits the file after the hotfix: the rollback removes the block and keeps the edit.
    await writeFile(h.real('etc/site.conf'), `${once}edited = later\n`);
    const rb = await h.run(['hotfix', 'rollback', '-y']);
    expect(rb.exitCode, rb.stdout + rb.stderr).toBe(0); // the --force run: nothing to undo
    const rb2 = await h.run(['hotfix', 'rollback', '-y']);
    expect(rb2.exitCode, rb2.stdout + rb2.stderr).toBe(0);
    expect(rb2.stdout).toContain("only its block '# HOTFIX BEGIN one' was removed");
    expect(await readFile(h.real('etc/site.conf'), 'utf8')).toBe(
      'server {}\n# HOTFIX BEGIN one0\nother\n# HOTFIX END one0\nedited = later\n',
    );
    expect(Object.keys(await picture(h.root, ['etc']))).toEqual(Object.keys(before));
  });
});
