/**
 * Crash injection: the real cx-ops process is killed (SIGKILL, through the CX_HOTFIX_CRASH_AT
 * test hook) at every crash point of an apply in turn: before and inside (a torn record) every
 * journal write, after each batch of intents, and before and after each operation's apply (the
 * steps that only replace files are journaled as one batch: their intents in one write, their
 * applies side by side, their done records in one write). After each kill, `cx-ops hotfix rollback`
 * and, in a second root killed at the same point, the standalone cx-ops-rollback (a lone copy in
 * a temp dir) must give back a tree whose content hashes, modes, owners and link targets equal
 * the original; `apply` must refuse while the interrupted run is pending.
 */
import { chown, lchown, mkdir, readFile, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hotfixRoot, lastRunDir, picture, killAtEveryPoint, useLoneRollback, type HotfixRoot } from './hotfix-root.js';

const DIRS = ['etc/app', 'usr/local/bin', 'opt'];

/** A process id no process has (for a temp file of a writer that is gone). */
const DEAD_PID = (() => {
  for (let pid = 4_000_000; ; pid++) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
})();

async function seed(h: HotfixRoot): Promise<string> {
  const r = h.real.bind(h);
  await mkdir(r('etc/app'), { recursive: true });
  await mkdir(r('usr/local/bin'), { recursive: true });
  for (const v of ['tool-1', 'tool-2']) {
    await mkdir(r(`opt/${v}/bin`), { recursive: true });
    await writeFile(r(`opt/${v}/bin/tool`), `#!/bin/sh\necho ${v}\n`, { mode: 0o755 });
  }
  await writeFile(r('etc/app/app.conf'), 'listen = 8080\n');
  await chmod(r('etc/app/app.conf'), 0o600);
  await chown(r('etc/app/app.conf'), 33, 33);
  await writeFile(r('etc/app/main.conf'), 'main = 1'); // no final newline: the block must not change that after a rollback
  await writeFile(r('etc/app/counter'), '1\n');
  await chown(r('etc/app/counter'), 33, 34);
  await symlink('/opt/tool-1/bin/tool', r('usr/local/bin/tool'));
  await lchown(r('usr/local/bin/tool'), 33, 33);
  return h.module('crash-module');
}

const loneDir = useLoneRollback();

describe('hotfix apply killed at every crash point', () => {
  it(
    'is rolled back exactly by cx-ops hotfix rollback and by cx-ops-rollback, and blocks apply meanwhile',
    { timeout: 1_500_000 },
    async () => {
      // Temp files of a killed write planted beside a path the journal has an intent for.
      let planted = 0;
      // Kills inside a write of several intents (a batch), after at least one whole intent of it.
      let tornInsideBatch = 0;
      const points = await killAtEveryPoint({
        seed,
        dirs: DIRS,
        lone: loneDir(),
        max: 80,
        afterKill: async (n, [a, b], [modA]) => {
          const journal = await lastRunDir(a);
          if (journal) {
            const text = await readFile(join(journal, 'journal.jsonl'), 'utf8');
            const lines = text.split('\n');
            const torn = lines.pop()!;
            const last = lines.length ? JSON.parse(lines[lines.length - 1]!) : null;
            if (torn && last?.t === 'intent' && torn.startsWith(`{"v":1,"ts":"${last.ts}","t":"intent"`))
              tornInsideBatch++;
          }
          if (n === 6 || n === 14) {
            const again = await a.run(['hotfix', 'apply', modA, '-y']);
            expect(again.exitCode, again.stderr).toBe(5);
            expect(again.stderr).toContain('error[CX_ERR_HOTFIX_PENDING]');
            expect(again.stderr).toContain(`${a.cx} hotfix rollback --run`);
          }
          // A kill inside the fs capability's write of a file leaves its temp file beside it
          // (`.NAME.cx-PID-HEX.tmp`): both rollbacks must remove it. Planted with a pid no
          // process has, beside app.conf once the journal holds its intent (done records or not).
          const intentFor = async (root: HotfixRoot) => {
            const d = await lastRunDir(root);
            if (!d) return false;
            const text = await readFile(join(d, 'journal.jsonl'), 'utf8');
            return text
              .split('\n')
              .slice(0, -1)
              .some((l) => l.includes('"t":"intent"') && l.includes('/etc/app/app.conf'));
          };
          if (n % 5 === 0 && (await intentFor(a)) && (await intentFor(b))) {
            for (const h of [a, b]) await writeFile(h.real(`etc/app/.app.conf.cx-${DEAD_PID}-deadbeef.tmp`), 'half');
            planted++;
          }
        },
      });
      // Journal writes (begin, 4 batches of intents, 4 of done records, checks, commit), each with a
      // point before and inside it; one after each batch of intents; one before and after each of
      // the 5 applies.
      expect(points).toBe(2 * 11 + 4 + 2 * 5);
      expect(tornInsideBatch).toBeGreaterThanOrEqual(1);
      expect(planted).toBeGreaterThanOrEqual(1);
    },
  );

  it(
    '--resume continues an interrupted run to the same tree as an uninterrupted apply',
    { timeout: 300_000 },
    async () => {
      const clean = await hotfixRoot();
      const cut = await hotfixRoot();
      try {
        const [m1, m2] = [await seed(clean), await seed(cut)];
        expect((await clean.run(['hotfix', 'apply', m1, '-y'])).exitCode).toBe(0);
        const applied = await picture(clean.root, DIRS);
        // Killed inside the write of the third and fourth operations' intents (a torn batch).
        const k = await cut.run(['hotfix', 'apply', m2, '-y'], { env: { CX_HOTFIX_CRASH_AT: '18' } });
        expect(k.exitCode).toBe(-1);
        const r = await cut.run(['hotfix', 'apply', m2, '--resume', '-y']);
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
        expect(await picture(cut.root, DIRS)).toEqual(applied);
        const list = JSON.parse((await cut.run(['hotfix', 'list', '--json'])).stdout);
        expect(list.runs.map((x: { state: string }) => x.state)).toEqual(['applied']);
      } finally {
        await clean.cleanup();
        await cut.cleanup();
      }
    },
  );
});
