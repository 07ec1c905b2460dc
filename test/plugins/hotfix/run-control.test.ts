/**
 * How a run goes, from the command line: `phase` then `dependencies` order the operations,
 * `enabled: false` skips one, a failing operation that is not critical (rollback_on_failure off)
 * is undone alone and what depends on it is skipped while the rest goes on, a failing critical
 * one stops the run; an execute runs in its `working_dir`, is killed after `timeout` seconds and
 * its kept script is removed with `cleanup_after`.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hotfixRoot, picture, type HotfixRoot } from './hotfix-root.js';

let h: HotfixRoot;
let dir: string;
beforeEach(async () => {
  h = await hotfixRoot();
  dir = join(h.root, 'home/modules/m');
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(h.real('etc/app'), { recursive: true });
  await writeFile(h.real('etc/app/keep.conf'), 'keep\n');
  for (const n of ['early', 'late', 'off', 'after'] as const) await writeFile(join(dir, 'src', n), `${n}\n`);
  await writeFile(join(dir, 'src/fail.sh'), '#!/bin/sh\necho broken >&2\nexit 3\n');
  await writeFile(join(dir, 'src/where.sh'), '#!/bin/sh\npwd > "$HOTFIX_ROOT/etc/app/cwd"\n');
  await writeFile(join(dir, 'src/slow.sh'), '#!/bin/sh\nsleep 30\n');
  for (const s of ['fail.sh', 'where.sh', 'slow.sh']) await chmod(join(dir, 'src', s), 0o755);
});
afterEach(() => h.cleanup());

const copy = (id: string, extra: object = {}) => ({ id, type: 'copy', source: id, target: `/etc/app/${id}`, ...extra });
const write = (operations: object[]) =>
  writeFile(
    join(dir, 'index.json'),
    JSON.stringify({ metadata: { schema_version: '1.0.0' }, config: { rollback_on_failure: false }, operations }),
  );

describe('the order and the outcome of a run', () => {
  it(
    'a non-critical step whose capture fails has changed nothing: reported failed, its dependents skipped, the run goes on',
    { timeout: 120_000 },
    async () => {
      // Its target's directory is a regular file: capturing the target fails before any intent.
      await writeFile(h.real('etc/app/blocker'), 'a file, not a directory\n');
      await write([
        { ...copy('early'), target: '/etc/app/blocker/early' },
        { ...copy('after'), dependencies: ['early'] },
        copy('late', { phase: 1 }),
      ]);
      const r = await h.run(['hotfix', 'apply', dir, '-y', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual([
        'early:failed',
        'after:skipped',
        'late:done',
      ]);
      expect(report.steps[0].detail).toMatch(/ENOTDIR.*; it had changed nothing$/);
      await expect(readFile(h.real('etc/app/after'))).rejects.toThrow(); // never written
      expect(await readFile(h.real('etc/app/late'), 'utf8')).toBe('late\n');
    },
  );

  it(
    'phase then dependencies; enabled: false skipped; a failed non-critical step undone alone, its dependents skipped, the rest applied',
    { timeout: 240_000 },
    async () => {
      await write([
        copy('late', { phase: 2 }),
        copy('early', { phase: 1 }),
        copy('off', { enabled: false }),
        { id: 'boom', type: 'execute', source: 'fail.sh', phase: 1, dependencies: ['early'] },
        { ...copy('after'), phase: 1, dependencies: ['boom'] },
        { id: 'where', type: 'execute', source: 'where.sh', phase: 3, working_dir: '/etc/app', cleanup_after: true },
      ]);
      const before = await picture(h.root, ['etc/app']);
      const r = await h.run(['hotfix', 'apply', dir, '-y', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual([
        'off:disabled',
        'early:done',
        'boom:failed',
        'after:skipped',
        'late:done',
        'where:done',
      ]);
      expect(report.steps[2].detail).toBe('fail.sh failed (exit 3): broken; its own changes were undone');
      expect(report.steps[3].detail).toBe("its dependency 'boom' failed");
      expect(report.message).toContain('not applied: boom, after');
      const now = await picture(h.root, ['etc/app']);
      expect(Object.keys(now).sort()).toEqual(
        ['/etc/app', '/etc/app/cwd', '/etc/app/early', '/etc/app/keep.conf', '/etc/app/late'].sort(),
      );
      expect(await readFile(h.real('etc/app/cwd'), 'utf8')).toBe(`${h.real('etc/app')}\n`);
      const runDir = h.real(`var/backups/hotfix/runs/${report.run}`);
      await expect(readFile(join(runDir, 'scripts/where/where.sh'))).rejects.toThrow(); // cleanup_after
      await h.run(['hotfix', 'rollback', '-y']);
      const { '/etc/app/cwd': _, ...rest } = await picture(h.root, ['etc/app']);
      expect(rest).toEqual(before);
    },
  );

  it(
    'a critical operation killed at its timeout stops the run; what ran before is kept (rollback_on_failure off)',
    {
      timeout: 240_000,
    },
    async () => {
      await write([
        copy('early'),
        { id: 'slow', type: 'execute', source: 'slow.sh', timeout: 1, critical: true, dependencies: ['early'] },
        { ...copy('late'), dependencies: ['slow'] },
      ]);
      const r = await h.run(['hotfix', 'apply', dir, '-y', '--json']);
      expect(r.exitCode, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report.status).toBe('failed');
      expect(report.steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual([
        'early:done',
        'slow:failed',
      ]);
      expect(report.steps[1].detail).toBe('slow.sh did not finish within 1 s and was killed');
      expect(report.message).toContain('rollback_on_failure is off: the completed operations were kept');
      expect(await readFile(h.real('etc/app/early'), 'utf8')).toBe('early\n');
      await expect(readFile(h.real('etc/app/late'))).rejects.toThrow();
    },
  );
});
