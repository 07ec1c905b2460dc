/**
 * Listing runs reads a journal only when it changed (plugins-builtin/hotfix/run-heads.ts): the
 * journals read are counted in the audit log. A journal that cx-ops-rollback changed behind
 * cx-ops's back is read again, and its new state shown.
 */
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hotfixRoot, ROLLBACK_TOOL, type HotfixRoot } from './hotfix-root.js';

let h: HotfixRoot;
let mod: string;
beforeEach(async () => {
  h = await hotfixRoot();
  mod = join(h.root, 'home/modules/one');
  await mkdir(join(mod, 'src'), { recursive: true });
  await mkdir(h.real('srv'), { recursive: true });
  await writeFile(h.real('srv/app.conf'), 'old\n');
  await writeFile(join(mod, 'src/app.conf'), 'new\n');
  await writeFile(
    join(mod, 'index.json'),
    JSON.stringify({
      metadata: { schema_version: '1.0.0' },
      operations: [{ id: 'conf', type: 'copy', source: 'app.conf', target: '/srv/app.conf' }],
    }),
  );
});
afterEach(() => h.cleanup());

const audit = () => h.real('var/log/cx/audit.jsonl');
/** The journals the commands since the last call read whole (readFile records in the audit log). */
async function journalReads(): Promise<string[]> {
  const text = await readFile(audit(), 'utf8').catch(() => '');
  await writeFile(audit(), '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { op: string; target: string })
    .filter((r) => r.op === 'readFile' && r.target.endsWith('/journal.jsonl'))
    .map((r) => r.target);
}

describe('run heads', () => {
  it(
    'list and apply parse no past journal that is unchanged; one changed by cx-ops-rollback is read again',
    { timeout: 180_000 },
    async () => {
      const first = JSON.parse((await h.run(['hotfix', 'apply', mod, '-y', '--json'])).stdout).run as string;
      const second = JSON.parse((await h.run(['hotfix', 'apply', mod, '-y', '--force', '--json'])).stdout)
        .run as string;
      await journalReads();
      const listed = JSON.parse((await h.run(['hotfix', 'list', '--json'])).stdout);
      expect(listed.runs.map((r: { run: string; state: string }) => [r.run, r.state])).toEqual([
        [second, 'applied'],
        [first, 'applied'],
      ]);
      expect(await journalReads()).toEqual([]);
      // A third apply reads only its own journal (for the operation log), not the two before.
      const third = JSON.parse((await h.run(['hotfix', 'apply', mod, '-y', '--force', '--json'])).stdout).run as string;
      expect(await journalReads()).toEqual([h.real(`var/backups/hotfix/runs/${third}/journal.jsonl`)]);
      // cx-ops-rollback knows nothing of cx-ops's state: the journal it appended to is read again.
      const lone = await execa(
        process.execPath,
        [ROLLBACK_TOOL, '--rollback-log', h.real(`var/backups/hotfix/runs/${first}/journal.jsonl`), '-y'],
        { reject: false },
      );
      expect(lone.exitCode, lone.stdout + lone.stderr).toBe(0);
      await journalReads();
      const after = JSON.parse((await h.run(['hotfix', 'list', '--json'])).stdout);
      expect(after.runs.find((r: { run: string }) => r.run === first).state).toBe('rolled-back');
      expect(await journalReads()).toEqual([h.real(`var/backups/hotfix/runs/${first}/journal.jsonl`)]);
      const ops = JSON.parse(await readFile(h.real('var/backups/hotfix/operations.json'), 'utf8'));
      expect(ops.runs.map((r: { run: string; operations: unknown[] }) => [r.run, r.operations.length])).toEqual([
        [third, 1],
        [second, 1],
        [first, 1],
      ]);
    },
  );
});
