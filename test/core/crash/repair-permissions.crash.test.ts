/**
 * kill -9 at every file-changing system call of `repair permissions` and of its `--undo`: after
 * each kill, the undo (run again as often as it takes to finish) puts every path back to its
 * original owner, group and mode, and never marks as undone what it did not restore.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CRASH_FULL, countChanges, runKilledAt } from '../../helpers/crash-injection.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const TREE: Array<[path: string, kind: 'dir' | 'file', mode: number, uid: number, gid: number]> = [
  ['home/dev', 'dir', 0o755, 1000, 1000],
  ['home/dev/.ssh', 'dir', 0o777, 0, 0],
  ['home/dev/.ssh/id_ed25519', 'file', 0o644, 1000, 1000],
  ['home/dev/.ssh/authorized_keys', 'file', 0o666, 0, 1000],
  ['home/dev/.ssh/known_hosts', 'file', 0o646, 1000, 0],
];

function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'cx-crash-perm-'));
  roots.push(root);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000:Dev:/home/dev:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\ndev:x:1000:\n');
  for (const [p, kind, mode, uid, gid] of TREE) {
    if (kind === 'dir') mkdirSync(join(root, p), { recursive: true });
    else writeFileSync(join(root, p), `${p}\n`);
    chmodSync(join(root, p), mode);
    chownSync(join(root, p), uid, gid);
  }
  return root;
}

const ownership = (root: string) =>
  TREE.map(([p]) => {
    const s = statSync(join(root, p));
    return `${p} ${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid}`;
  });
const ORIGINAL = TREE.map(([p, , mode, uid, gid]) => `${p} ${mode.toString(8)} ${uid}:${gid}`);

// One warm cache directory for every run, so that the kill points are the command's own changes
// (CX_CRASH_FULL=1 also kills a cold run at every point, cache and data writes included).
const cacheDir = mkdtempSync(join(tmpdir(), 'cx-crash-cache-'));
roots.push(cacheDir);
const cache = (_root: string) => (CRASH_FULL ? [] : ['--cache-dir', cacheDir]);
const repair = (root: string) => [
  '--root',
  root,
  ...cache(root),
  'repair',
  'permissions',
  '--user',
  'dev',
  '-y',
  '--json',
];
const undo = (root: string, id: string) => [
  '--root',
  root,
  ...cache(root),
  'repair',
  'permissions',
  '--undo',
  id,
  '-y',
  '--json',
];
const env = (root: string) => ({ HOME: join(root, 'home-of-runner') });

function journals(root: string): Array<{ id: string; undone: boolean }> {
  const dir = join(root, 'var/lib/cx/plugin-state/permissions/journal');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
}

/** Undoes every journal not marked undone, re-running an undo up to three times; the tree it leaves. */
async function undoAll(root: string): Promise<string[]> {
  for (const j of journals(root)) {
    if (j.undone) continue;
    let r = await runKilledAt(undo(root, j.id), 0, env(root));
    for (let i = 0; i < 2 && r.exitCode !== 0; i++) r = await runKilledAt(undo(root, j.id), 0, env(root));
    expect(r.exitCode, `undo ${j.id}: ${r.stderr}`).toBe(0);
  }
  return ownership(root);
}

describe('repair permissions under kill -9', () => {
  it('the whole run repairs the tree and its undo restores it', async () => {
    const root = makeRoot();
    const run = await countChanges(repair(root), env(root));
    expect(run.exitCode, run.stderr).toBe(0);
    expect(ownership(root)).not.toEqual(ORIGINAL);
    expect(await undoAll(root)).toEqual(ORIGINAL);
  });

  it('killed at every change of the repair, the undo restores every path', async () => {
    const total = (await countChanges(repair(makeRoot()), env(''))).changes;
    expect(total).toBeLessThan(CRASH_FULL ? 1000 : 60); // a bounded run: the cache is warm
    expect(total).toBeGreaterThan(5);
    const failures: string[] = [];
    for (let at = 1; at <= total; at++) {
      const root = makeRoot();
      const r = await runKilledAt(repair(root), at, env(root));
      if (!r.killed) continue; // this run made fewer changes (e.g. a cache already there)
      const after = await undoAll(root);
      if (JSON.stringify(after) !== JSON.stringify(ORIGINAL))
        failures.push(`kill at ${at}/${total}: ${after.join(', ')}`);
      rmSync(root, { recursive: true, force: true });
    }
    expect(failures).toEqual([]);
  }, 900_000);

  it('killed at every change of the undo, a second undo finishes it', async () => {
    const base = makeRoot();
    expect((await countChanges(repair(base), env(base))).exitCode).toBe(0);
    const id = journals(base)[0]!.id;
    const total = (await countChanges(undo(base, id), env(base))).changes;
    const failures: string[] = [];
    for (let at = 1; at <= total; at++) {
      const root = makeRoot();
      expect((await countChanges(repair(root), env(root))).exitCode).toBe(0);
      const jid = journals(root)[0]!.id;
      const r = await runKilledAt(undo(root, jid), at, env(root));
      if (!r.killed) continue;
      const after = await undoAll(root);
      if (JSON.stringify(after) !== JSON.stringify(ORIGINAL))
        failures.push(`kill at ${at}/${total}: ${after.join(', ')}`);
      rmSync(root, { recursive: true, force: true });
    }
    expect(failures).toEqual([]);
  }, 900_000);
});
