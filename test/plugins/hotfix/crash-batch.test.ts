/**
 * Crash injection for copies applied as one batch (the copy type's hotfix-operation-batch
 * applier: one fs.batch call for all of them, synced before it answers). The real cx-ops process
 * is killed (SIGKILL, CX_HOTFIX_CRASH_AT) at every crash point of the apply in turn; after each
 * kill `cx-ops hotfix rollback`, and cx-ops-rollback in a second root killed at the same point,
 * must give back the original tree (content hashes, modes, owners). A failing post-check rolls
 * the batch back in the same run.
 */
import { createHash } from 'node:crypto';
import { chmod, chown, link, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hotfixRoot, killAtEveryPoint, picture, useLoneRollback, type HotfixRoot } from './hotfix-root.js';

const DIRS = ['etc/app', 'srv/data'];
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function seed(h: HotfixRoot): Promise<string> {
  const r = h.real.bind(h);
  await mkdir(r('etc/app'), { recursive: true });
  await mkdir(r('srv/data'), { recursive: true });
  await writeFile(r('etc/app/a.conf'), 'a = old\n');
  await chmod(r('etc/app/a.conf'), 0o600);
  await chown(r('etc/app/a.conf'), 33, 33);
  await writeFile(r('etc/app/b.conf'), 'b = old\n');
  // A second name: b.conf is backed up by a copy, not by a hard link.
  await link(r('etc/app/b.conf'), r('etc/app/b.twin'));
  // Larger than one read buffer of the batch (1 MiB).
  await writeFile(r('srv/data/d.bin'), Buffer.alloc(2_300_000, 'o'));
  const mod = await h.module('crash-batch-module');
  await writeFile(join(mod, 'src/d.bin'), Buffer.alloc(2_500_000, 'n'));
  return mod;
}

const loneDir = useLoneRollback();

describe('hotfix apply of batched copies', () => {
  it(
    'killed at every crash point, is rolled back exactly by cx-ops hotfix rollback and by cx-ops-rollback',
    { timeout: 600_000 },
    async () => {
      const points = await killAtEveryPoint({
        seed,
        dirs: DIRS,
        lone: loneDir(),
        max: 40,
        completed: async (a) => {
          // Every target is the new file, and the four copies were made by one fs.batch call.
          const after = await picture(a.root, DIRS);
          expect(after['/etc/app/a.conf']).toMatchObject({ mode: 0o640, uid: 33, gid: 33, sha256: sha('a = new\n') });
          expect(after['/etc/app/conf.d/c.conf']).toMatchObject({ sha256: sha('c = new\n') });
          const audit = (await readFile(a.real('var/log/cx/audit.jsonl'), 'utf8')).trim().split('\n');
          const batches = audit.map((l) => JSON.parse(l)).filter((r) => r.op === 'batch');
          expect(batches.map((r) => r.args.counts)).toContainEqual({ copy: 4 });
        },
      });
      // Journal writes (begin, the batch's intents, its done records, checks, commit), each with a
      // point before and inside it; one after the intents; one before and one after the batch apply.
      expect(points).toBe(2 * 5 + 1 + 2);
    },
  );

  it('a failing post-check undoes the whole batch in the same run', { timeout: 120_000 }, async () => {
    const h = await hotfixRoot();
    try {
      const mod = await seed(h);
      const index = join(mod, 'index.yaml');
      await writeFile(
        index,
        `${await readFile(index, 'utf8')}validation:\n  post_checks:\n    - command: cat $HOTFIX_ROOT/etc/app/a.conf\n      expected: "a = other"\n      description: a.conf says other\n`,
      );
      const before = await picture(h.root, DIRS);
      const r = await h.run(['hotfix', 'apply', mod, '-y']);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stdout + r.stderr).toContain('Rolled back completely');
      expect(await picture(h.root, DIRS)).toEqual(before);
    } finally {
      await h.cleanup();
    }
  });
});
