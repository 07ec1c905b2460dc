/**
 * The asks tried from the command line as a user would: the confirmation on a real
 * terminal, a second apply while a run holds the lock (the holder is named, not mistaken for an
 * interrupted run), and cx-ops-rollback alone (the tree deleted) given the seed's operation log
 * and asked for JSON.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LAUNCHER } from '../../helpers/run-cli.js';
import { hotfixRoot, loneRollback, picture, ROLLBACK_TOOL, seedSecurityPatch, type HotfixRoot } from './hotfix-root.js';

const DIRS = ['etc/nginx', 'var/www'];
let h: HotfixRoot;
let mod: string;

beforeEach(async () => {
  h = await hotfixRoot();
  mod = await seedSecurityPatch(h);
});
afterEach(() => h.cleanup());

/** cx-ops on a pseudo-terminal (script(1)), answering `answer` to the question. */
function onTerminal(args: string[], answer: string) {
  const cmd = [process.execPath, '--no-node-snapshot', LAUNCHER, '--root', h.root, ...args]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(' ');
  return execa('script', ['-qec', cmd, '/dev/null'], {
    reject: false,
    input: `${answer}\n`,
    env: { HOME: join(h.root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
  });
}

describe('hotfix apply from a terminal', () => {
  it('shows the plan and asks; "n" changes nothing, "y" applies', { timeout: 180_000 }, async () => {
    const before = await picture(h.root, DIRS);
    const no = await onTerminal(['hotfix', 'apply', mod], 'n');
    expect(no.stdout).toContain(`Apply 3 operation(s) of ${mod}? [y/N]`);
    expect(no.stdout).toContain('not applied: not confirmed');
    expect(await picture(h.root, DIRS)).toEqual(before);
    const yes = await onTerminal(['hotfix', 'apply', mod], 'y');
    expect(yes.stdout).toContain('1. [phase 0] patch_auth_bypass (copy)');
    expect(yes.stdout).toMatch(/OK: applied .* 1\.1\.0 \(run \d{8}-\d{6}-[0-9a-f]{4}\)/);
  });
});

describe('one hotfix run at a time', () => {
  it(
    'a second apply while a run holds the lock names the holder (not an interrupted run)',
    { timeout: 180_000 },
    async () => {
      const slow = join(h.root, 'home/modules/slow');
      await mkdir(join(slow, 'src'), { recursive: true });
      await writeFile(join(slow, 'src/wait.sh'), '#!/bin/sh\nwhile [ ! -f "$HOTFIX_ROOT/go" ]; do sleep 0.2; done\n');
      await writeFile(
        join(slow, 'index.json'),
        JSON.stringify({
          metadata: { schema_version: '1.0.0' },
          operations: [{ id: 'wait', type: 'execute', source: 'wait.sh', timeout: 120 }],
        }),
      );
      const first = h.run(['hotfix', 'apply', slow, '-y']);
      // Wait until the first run is inside its execute (its intent journaled).
      const runs = h.real('var/backups/hotfix/runs');
      for (let i = 0; i < 600; i++) {
        const names = await readdir(runs).catch(() => [] as string[]);
        const journal = names.length
          ? await readFile(join(runs, names[0]!, 'journal.jsonl'), 'utf8').catch(() => '')
          : '';
        if (journal.includes('"t":"intent"')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const second = await h.run(['hotfix', 'apply', mod, '-y']);
      // `hotfix list` shows the live run as running (by the lock's holder), not interrupted.
      const listed = JSON.parse((await h.run(['hotfix', 'list', '--json'])).stdout);
      const text = (await h.run(['hotfix', 'list'])).stdout;
      await writeFile(h.real('go'), '');
      expect(listed.runs).toEqual([
        expect.objectContaining({
          module: slow,
          state: 'running',
          pid: expect.any(Number),
          command: `cx-ops hotfix apply ${slow}`,
        }),
      ]);
      expect(text).toMatch(new RegExp(`running +${slow} 1\\.0\\.0 \\(pid \\d+: cx-ops hotfix apply ${slow}\\)`));
      expect(second.exitCode, second.stderr).toBe(5);
      expect(second.stderr).toMatch(
        new RegExp(
          `error\\[CX_ERR_STATE_LOCKED\\]: hotfix is locked by another cx-ops run \\(pid \\d+, .*hotfix apply ${slow}`,
        ),
      );
      expect(second.stderr).not.toContain('CX_ERR_HOTFIX_PENDING');
      expect((await first).exitCode).toBe(0);
    },
  );
});

describe('cx-ops-rollback with the rest of cx-ops deleted', () => {
  let lone: string;
  beforeEach(async () => {
    lone = await mkdtemp(join(tmpdir(), 'cx-lone-cli-'));
    await copyFile(ROLLBACK_TOOL, join(lone, 'cx-ops-rollback.mjs'));
  });
  afterEach(() => rm(lone, { recursive: true, force: true }));
  const tool = (args: string[]) => loneRollback(lone)(args);

  it(
    "--rollback-log takes the seed's operation log (operations.json): its newest run is undone",
    { timeout: 180_000 },
    async () => {
      const before = await picture(h.root, DIRS);
      expect((await h.run(['hotfix', 'apply', mod, '-y'])).exitCode).toBe(0);
      const log = h.real('var/backups/hotfix/operations.json');
      const r = await tool(['--rollback-log', log, '-y']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('OK: rollback complete');
      expect(await picture(h.root, DIRS)).toEqual(before);
      const again = await tool(['--rollback-log', log, '-y']);
      expect(again.stdout).toContain('rolled back already; nothing to do');
    },
  );

  it('--json: errors are one JSON object on stdout, as cx-ops prints them', async () => {
    const r = await tool(['--restore-snapshot', 'nope', '--json']);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'CX_ERR_USAGE',
        message:
          "'nope' is not a snapshot id (YYYYMMDD-HHMMSS-xxxx); list them with --list-snapshots\nTry: cx-ops-rollback --help",
        exit: 2,
      },
    });
  });
});
