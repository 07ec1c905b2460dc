/**
 * cx-ops-rollback as the emergency tool: a lone copy of the one file in an empty temp dir (no
 * tree, no node_modules, no config), working from a journal written in the shared format. It
 * lists snapshots, restores one byte for byte, refuses to race a live cx-ops hotfix run (the
 * kernel's lock file), and says when a rollback was incomplete.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile, chmod, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journalProblems, loneRollback, picture, ROLLBACK_TOOL } from './hotfix-root.js';

let lone: string;
let root: string;
const RUN = '20261201-120000-abcd';
const sha = (b: string) => createHash('sha256').update(b).digest('hex');

beforeEach(async () => {
  lone = await mkdtemp(join(tmpdir(), 'cx-lone-'));
  await copyFile(ROLLBACK_TOOL, join(lone, 'cx-ops-rollback.mjs'));
  root = await mkdtemp(join(tmpdir(), 'cx-lone-root-'));
});
afterEach(async () => {
  await rm(lone, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

const tool = (args: string[]) => loneRollback(lone)(args);

/** A run as the plugin journals it: step 1 replaced /etc/x.conf (backed up), step 2 made /etc/new.conf, step 3 ran a script. */
async function journaledRun(undoScript: string): Promise<{ before: Record<string, unknown>; runDir: string }> {
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/x.conf'), 'old\n');
  await chmod(join(root, 'etc/x.conf'), 0o600);
  await chown(join(root, 'etc/x.conf'), 33, 34);
  const before = await picture(root, ['etc']);
  const runDir = join(root, 'var/backups/hotfix/runs', RUN);
  await mkdir(join(runDir, 'files'), { recursive: true });
  await copyFile(join(root, 'etc/x.conf'), join(runDir, 'files/1-0'));
  await writeFile(join(runDir, 'undo.sh'), undoScript);
  const ts = '2026-12-01T12:00:00.000Z';
  const records = [
    {
      t: 'begin',
      run: RUN,
      module_dir: '/srv/modules/m',
      module_file: '/srv/modules/m/index.json',
      schema_version: '1.0.0',
      root,
      backup_dir: '/var/backups/hotfix',
      steps: [
        { step: 1, op: 'a', type: 'copy' },
        { step: 2, op: 'b', type: 'copy' },
        { step: 3, op: 'c', type: 'execute' },
      ],
      resumable: true,
    },
    {
      t: 'intent',
      step: 1,
      op: 'a',
      type: 'copy',
      prior: [
        {
          path: join(root, 'etc/x.conf'),
          kind: 'file',
          mode: 0o600,
          uid: 33,
          gid: 34,
          size: 4,
          sha256: sha('old\n'),
          backup: 'files/1-0',
        },
      ],
      undo: [{ do: 'restore' }],
      summary: 'replace /etc/x.conf',
    },
    { t: 'done', step: 1, op: 'a' },
    {
      t: 'intent',
      step: 2,
      op: 'b',
      type: 'copy',
      prior: [{ path: join(root, 'etc/sub/new.conf'), kind: 'absent', created_dirs: [join(root, 'etc/sub')] }],
      undo: [{ do: 'restore' }],
      summary: 'make /etc/sub/new.conf',
    },
    { t: 'done', step: 2, op: 'b' },
    {
      t: 'intent',
      step: 3,
      op: 'c',
      type: 'execute',
      prior: [],
      undo: [
        {
          do: 'run',
          argv: ['/bin/sh', join(runDir, 'undo.sh')],
          cwd: runDir,
          timeout_ms: 10_000,
          env: { HOTFIX_ROOT: root },
        },
      ],
      summary: 'run c',
    },
  ];
  // The hotfix changed the files; the last record was torn by a crash.
  await writeFile(join(root, 'etc/x.conf'), 'new\n');
  await mkdir(join(root, 'etc/sub'));
  await writeFile(join(root, 'etc/sub/new.conf'), 'n\n');
  const lines = records.map((r) => JSON.stringify({ v: 1, ts, ...r })).join('\n');
  await writeFile(join(runDir, 'journal.jsonl'), `${lines}\n{"v":1,"ts":"2026-12-01T12:00:01.000Z","t":"do`);
  return { before, runDir };
}

describe('cx-ops-rollback, alone', () => {
  it('--help and bad usage', async () => {
    expect((await tool(['--help'])).stdout).toContain('--restore-snapshot');
    const bad = await tool(['--restore-snapshot', 'nope']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("error[CX_ERR_USAGE]: 'nope' is not a snapshot id");
  });

  it('lists and restores a snapshot byte for byte (a torn last record is skipped), journaling what it did', async () => {
    const { before, runDir } = await journaledRun('#!/bin/sh\necho undone > "$HOTFIX_ROOT/undo-ran"\n');
    const list = await tool(['--root', root, '--list-snapshots', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        id: RUN,
        state: 'interrupted',
        to_undo: [3, 2, 1],
        paths: [join(root, 'etc/x.conf'), join(root, 'etc/sub/new.conf')],
      }),
    ]);
    const r = await tool(['--root', root, '--restore-snapshot', RUN, '-y', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ run: RUN, complete: true, remaining: [] });
    expect(await picture(root, ['etc'])).toEqual(before);
    expect(await readFile(join(root, 'undo-ran'), 'utf8')).toBe('undone\n');
    expect(await journalProblems(join(runDir, 'journal.jsonl'))).toEqual([]);
    const again = await tool(['--root', root, '--restore-snapshot', RUN, '-y']);
    expect(again.stdout).toContain('rolled back already');
  });

  it('an undo that fails: INCOMPLETE, exit 5, and a second run finishes it', async () => {
    const { before } = await journaledRun('#!/bin/sh\n[ -f "$HOTFIX_ROOT/ok" ] || { echo "not yet" >&2; exit 4; }\n');
    const r = await tool(['--rollback-log', join(root, 'var/backups/hotfix/runs', RUN, 'journal.jsonl'), '-y']);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toContain('FAILED step 3 c: rollback script');
    expect(r.stdout).toContain('INCOMPLETE: step(s) 3 could not be undone');
    expect(await picture(root, ['etc'])).toEqual(before);
    await writeFile(join(root, 'ok'), '');
    const again = await tool(['--rollback-log', join(root, 'var/backups/hotfix/runs', RUN), '-y']);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(await readFile(join(root, 'var/backups/hotfix/rollback.log'), 'utf8')).toMatch(
      /INCOMPLETE \(remaining steps 3\)[\s\S]*COMPLETE/,
    );
  });

  it('refuses while a live cx-ops run holds the hotfix lock', async () => {
    await journaledRun('#!/bin/sh\n');
    await mkdir(join(root, 'var/lib/cx/locks'), { recursive: true });
    const stat = await readFile(`/proc/${process.pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    await writeFile(
      join(root, 'var/lib/cx/locks/hotfix.lock'),
      JSON.stringify({ pid: process.pid, start, command: 'cx-ops hotfix apply /m', token: 't' }),
    );
    const r = await tool(['--root', root, '--restore-snapshot', RUN, '-y']);
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain(
      `error[CX_ERR_STATE_LOCKED]: a cx-ops hotfix run holds ${join(root, 'var/lib/cx/locks/hotfix.lock')} (pid ${process.pid}, cx-ops hotfix apply /m)`,
    );
    // A dead holder's lock is taken over.
    await writeFile(
      join(root, 'var/lib/cx/locks/hotfix.lock'),
      JSON.stringify({ pid: 999999, start: 1, command: 'gone', token: 't' }),
    );
    expect((await tool(['--root', root, '--restore-snapshot', RUN, '-y'])).exitCode).toBe(0);
  });
});
