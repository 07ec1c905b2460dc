/**
 * The bad input: each refused with a catalogue error that names the file, line,
 * operation and field (or shows expected and actual), before anything changes; a failing
 * rollback_script leaves an explicit INCOMPLETE outcome and the journal keeps what remains.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hotfixRoot, picture, type HotfixRoot } from './hotfix-root.js';

let h: HotfixRoot;
let dir: string;
beforeEach(async () => {
  h = await hotfixRoot();
  dir = await h.module('security-patch');
  await mkdir(h.real('etc/app'), { recursive: true });
  await writeFile(h.real('etc/app/a.conf'), 'a = 1\n');
});
afterEach(() => h.cleanup());

const write = (text: string, name = 'index.json') => writeFile(`${dir}/${name}`, text);
const copy = (id: string, extra: object = {}) => ({
  id,
  type: 'copy',
  source: 'patched_auth.py',
  target: '/etc/app/a.conf',
  ...extra,
});
const moduleOf = (ops: object[], extra: object = {}) =>
  JSON.stringify({ metadata: { schema_version: '1.0.0' }, operations: ops, ...extra }, null, 2);

describe('a module that cannot run', () => {
  it('schema errors: every one, with line, operation id and field', async () => {
    await write(
      moduleOf([
        copy('one', { colour: 'red' }),
        { id: 'two', type: 'copy', source: 'x' },
        copy('three', { permissions: { mode: '9z' } }),
      ]),
    );
    const r = await h.run(['hotfix', 'check', dir]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `error[CX_ERR_HOTFIX_INVALID]: ${dir}/index.json:11: operation 'one' field 'colour' is not a field of this operation type (unknown field) (found: "red")`,
    );
    expect(r.stderr).toContain(`${dir}/index.json:13: operation 'two' field 'target' is required but missing`);
    expect(r.stderr).toMatch(
      /index\.json:\d+: operation 'three' field 'permissions\.mode' must match the pattern .* \(found: "9z"\)/,
    );
    expect(r.stderr).toContain('(format: schemas/hotfix-index.schema.json); nothing was changed.');
  });

  it('an unknown operation type lists the known ones; an unknown dependency and a cycle are refused', async () => {
    await write(moduleOf([copy('one', { type: 'cpy' }), copy('two', { dependencies: ['nope'] })]));
    const r = await h.run(['hotfix', 'apply', dir, '-y']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /index\.json:\d+: operation 'one' field 'type' is not a known operation type \(known: append, capture, copy, execute, symlink\); did you mean copy\? \(found: "cpy"\)/,
    );
    await write(moduleOf([copy('one', { dependencies: ['nope'] })]));
    const u = await h.run(['hotfix', 'apply', dir, '-y']);
    expect(u.stderr).toMatch(
      /operation 'one' field 'dependencies\[0\]' names 'nope', which is not an operation of this module \(operations: one\)/,
    );
    await write(
      moduleOf([
        copy('a', { dependencies: ['c'] }),
        copy('b', { dependencies: ['a'], target: '/etc/app/b' }),
        copy('c', { dependencies: ['b'], target: '/etc/app/c' }),
      ]),
    );
    const c = await h.run(['hotfix', 'apply', dir, '-y']);
    expect(c.exitCode).toBe(2);
    expect(c.stderr).toMatch(
      /operation 'a' field 'dependencies' form a cycle: a -> c -> b -> a; remove one of these dependencies/,
    );
  });

  it('a missing source file and a target outside the allowed roots', async () => {
    await write(moduleOf([copy('one', { source: 'missing.py' }), copy('two', { target: '/boot/grub/grub.cfg' })]));
    const r = await h.run(['hotfix', 'apply', dir, '-y']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`operation 'one' field 'source' names ${dir}/src/missing.py, which does not exist`),
    );
    expect(r.stderr).toMatch(
      /operation 'two' field 'target' \/boot\/grub\/grub.cfg is outside the allowed roots \(hotfix.allowed_roots in config.yaml: \/etc, \/opt, .*\) \(found: "\/boot\/grub\/grub.cfg"\)/,
    );
  });

  it('YAML modules are read too, with YAML syntax errors at their line and column', async () => {
    await rmIndex();
    await write('metadata:\n  schema_version: 1.0.0\noperations:\n  - id: one\n    type: [copy\n', 'index.yaml');
    const r = await h.run(['hotfix', 'check', dir]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`error\\[CX_ERR_YAML_SYNTAX\\]: ${dir}/index.yaml:\\d+:\\d+: `));
  });

  it('a pre_check whose output differs: both shown, nothing changed', async () => {
    await write(
      moduleOf([copy('one')], {
        validation: {
          pre_checks: [{ command: 'echo inactive', expected: 'active', description: 'homeserver is running' }],
        },
      }),
    );
    const before = await picture(h.root, ['etc/app']);
    const r = await h.run(['hotfix', 'apply', dir, '-y']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'error[CX_ERR_HOTFIX_CHECK_FAILED]: pre check \'homeserver is running\' failed: echo inactive\n  expected: "active"\n  actual:   "inactive"\nNothing was changed: every pre_check must pass first.',
    );
    expect(await picture(h.root, ['etc/app'])).toEqual(before);
  });
});

async function rmIndex(): Promise<void> {
  const { rm } = await import('node:fs/promises');
  await rm(`${dir}/index.json`);
}

describe('a rollback_script that fails', () => {
  it(
    'makes the rollback INCOMPLETE (exit 5): the journal keeps the step, and a second rollback finishes it',
    { timeout: 240_000 },
    async () => {
      await writeFile(`${dir}/src/fail.sh`, '#!/bin/sh\necho boom >&2\nexit 1\n');
      await writeFile(
        `${dir}/src/undo.sh`,
        '#!/bin/sh\n[ -f "$HOTFIX_ROOT/etc/app/undo-ok" ] || { echo "undo not possible yet" >&2; exit 3; }\n',
      );
      await write(
        moduleOf([
          copy('one'),
          {
            id: 'migrate',
            type: 'execute',
            source: 'restart_web_services.sh',
            rollback_script: 'undo.sh',
            dependencies: ['one'],
          },
          { id: 'breaks', type: 'execute', source: 'fail.sh', dependencies: ['migrate'] },
        ]),
      );
      const before = await picture(h.root, ['etc/app']);
      const r = await h.run(['hotfix', 'apply', dir, '-y', '--json']);
      expect(r.exitCode, r.stderr).toBe(5);
      const report = JSON.parse(r.stdout);
      expect(report.status).toBe('failed');
      expect(report.rollback).toMatchObject({ complete: false, remaining: [2] });
      expect(report.message).toContain("operation 'breaks' failed: fail.sh failed (exit 1): boom");
      expect(report.message).toContain('ROLLBACK INCOMPLETE: step(s) 2 could not be undone; the journal keeps them');
      // The copy was undone all the same.
      expect(await picture(h.root, ['etc/app'])).toEqual(before);
      const journal = await readFile(h.real(`var/backups/hotfix/runs/${report.run}/journal.jsonl`), 'utf8');
      expect(journal).toContain('"t":"undo_failed","step":2,"op":"migrate"');
      expect(journal).toContain('"t":"rollback_end","complete":false,"remaining":[2]');
      const blocked = await h.run(['hotfix', 'apply', dir, '-y']);
      expect(blocked.exitCode).toBe(5);
      expect(blocked.stderr).toContain(`error[CX_ERR_HOTFIX_PENDING]: hotfix run ${report.run}`);
      await writeFile(h.real('etc/app/undo-ok'), '');
      const again = await h.run(['hotfix', 'rollback', '--run', report.run, '-y']);
      expect(again.exitCode, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toContain('undone step 2 migrate: ran');
      expect(again.stdout).toContain('OK: rollback complete');
    },
  );
});
