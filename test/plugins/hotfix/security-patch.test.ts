/**
 * The seed's first example (a security patch: copy + append + restart script) in a temp root:
 * the module written for /var/www and /etc/nginx runs unchanged under --root. Dry run, apply,
 * check, list, snapshots, schema_version gating, rollback to the exact prior tree.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { beforeEach, afterEach, describe, expect, it } from 'vitest';
import { hotfixRoot, journalProblems, picture, seedSecurityPatch, type HotfixRoot } from './hotfix-root.js';

const DIRS = ['etc/nginx', 'var/www'];
let h: HotfixRoot;
let mod: string;

beforeEach(async () => {
  h = await hotfixRoot();
  mod = await seedSecurityPatch(h);
});
afterEach(() => h.cleanup());

describe("the seed's security patch", () => {
  it('--dry-run shows unified diffs and the exact command, says an execute cannot be previewed, and changes nothing', async () => {
    const mine = ['etc', 'var/www', 'var/backups', 'var/log/homeserver'];
    const before = await picture(h.root, mine);
    const r = await h.run(['hotfix', 'apply', mod, '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('--- a/var/www/homeserver/backend/auth.py\n+++ b/var/www/homeserver/backend/auth.py\n');
    expect(r.stdout).toContain('-    return True\n');
    expect(r.stdout).toContain(
      '+# HOTFIX SECURITY HEADERS BEGIN security_patch_001\n+add_header X-Frame-Options DENY;\n',
    );
    expect(r.stdout).toMatch(/would run: \/bin\/sh \S+\/scripts\/restart_services\/restart_web_services\.sh/);
    expect(r.stdout).toContain('cannot be previewed beyond its command');
    expect(r.stdout).toContain('PLANNED: dry run: nothing was changed');
    expect(await picture(h.root, mine)).toEqual(before);
  });

  it('without a terminal and without -y nothing is applied', async () => {
    const r = await h.run(['hotfix', 'apply', mod]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('not applied: not confirmed');
  });

  it(
    'applies, records the version only then, refuses an older module, and rolls back byte for byte',
    { timeout: 300_000 },
    async () => {
      const before = await picture(h.root, DIRS);
      const r = await h.run(['hotfix', 'apply', mod, '-y', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ status: 'applied', schema_version: '1.1.0', module: mod, rollback: null });
      expect(report.steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual([
        'patch_auth_bypass:done',
        'add_security_headers:done',
        'restart_services:done',
      ]);
      expect(report.checks).toEqual([
        expect.objectContaining({ phase: 'pre', ok: true, shell: null }),
        expect.objectContaining({
          phase: 'post',
          ok: true,
          shell: "'$' (a variable or command substitution)",
          actual: '1',
        }),
      ]);
      expect(await readFile(h.real('var/www/homeserver/backend/auth.py'), 'utf8')).toContain('CVE-2024-XXXX');
      const after = await picture(h.root, DIRS);
      // The file keeps its owner; the mode is the module's.
      expect(after['/var/www/homeserver/backend/auth.py']).toMatchObject({ mode: 0o640, uid: 33, gid: 33 });
      expect(await readFile(h.real('run/homeserver/restarts'), 'utf8')).toBe('restart requested by restart_services\n');
      expect(await readFile(h.real('var/log/homeserver/hotfix.log'), 'utf8')).toContain(`applied ${mod} 1.1.0`);
      const ops = JSON.parse(await readFile(h.real('var/backups/hotfix/operations.json'), 'utf8'));
      expect(ops.runs[0]).toMatchObject({ run: report.run, state: 'applied' });

      const check = JSON.parse((await h.run(['hotfix', 'check', mod, '--json'])).stdout);
      expect(check).toMatchObject({
        schema_version: '1.1.0',
        applied: { version: '1.1.0', run: report.run },
        would_apply: false,
      });
      expect(check.targets[1].state).toContain('block present');

      expect((await h.run(['hotfix', 'apply', mod, '-y'])).stdout).toContain('is already applied');
      const older = (await readFile(`${mod}/index.json`, 'utf8')).replace('"1.1.0"', '"1.0.9"');
      await writeFile(`${mod}/index.json`, older);
      const refused = await h.run(['hotfix', 'apply', mod, '-y']);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toContain(
        `error[CX_ERR_HOTFIX_NOT_NEWER]: ${mod}/index.json: schema_version 1.0.9 is not newer than 1.1.0, applied from this module by run ${report.run}; nothing was changed.`,
      );
      expect(refused.stderr).toContain(`${h.cx} hotfix apply ${mod} --force`);

      const list = JSON.parse((await h.run(['hotfix', 'list', '--json'])).stdout);
      expect(list.applied).toEqual([expect.objectContaining({ module: mod, version: '1.1.0', run: report.run })]);
      const snaps = JSON.parse((await h.run(['hotfix', 'snapshots', '--json'])).stdout);
      expect(snaps[0]).toMatchObject({
        id: report.run,
        state: 'applied',
        paths: [h.real('var/www/homeserver/backend/auth.py'), h.real('etc/nginx/sites-available/homeserver')],
      });

      const rb = await h.run(['hotfix', 'rollback', mod, '-y', '--json']);
      expect(rb.exitCode, rb.stderr).toBe(0);
      expect(JSON.parse(rb.stdout)).toMatchObject({ run: report.run, complete: true, remaining: [] });
      expect(await picture(h.root, DIRS)).toEqual(before);
      expect(await readFile(h.real('var/backups/hotfix/rollback.log'), 'utf8')).toContain(
        `run ${report.run}: rollback COMPLETE`,
      );
      // Every record the plugin wrote matches the journal schema cx-ops-rollback reads.
      expect(await journalProblems(h.real(`var/backups/hotfix/runs/${report.run}/journal.jsonl`))).toEqual([]);
      // Rolled back: the module counts as not applied, so the older version applies again.
      expect((await h.run(['hotfix', 'apply', mod, '-y'])).exitCode).toBe(0);
    },
  );

  it('a failing post-check rolls back every completed operation and says so', { timeout: 180_000 }, async () => {
    const before = await picture(h.root, DIRS);
    const idx = JSON.parse(await readFile(`${mod}/index.json`, 'utf8'));
    idx.validation.post_checks[0].expected = '2';
    await writeFile(`${mod}/index.json`, JSON.stringify(idx));
    const r = await h.run(['hotfix', 'apply', mod, '-y']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain("post check 'the headers are in the site config once' failed");
    expect(r.stdout).toContain('expected: "2"\n  actual:   "1"');
    expect(r.stdout).toContain('Rolled back completely');
    expect(await picture(h.root, DIRS)).toEqual(before);
    const list = JSON.parse((await h.run(['hotfix', 'list', '--json'])).stdout);
    expect(list).toMatchObject({ applied: [], runs: [{ state: 'rolled-back' }] });
  });
});
