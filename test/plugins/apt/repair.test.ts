import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPlugin, type StartedPlugin } from 'cx-ops/sdk/testing';
import type { AptRepairReport } from '../../../plugins-builtin/apt/apt-repair.js';
import { createAptWorld, type AptWorld } from '../../helpers/apt-root.js';

const validateReport = new Ajv({ allErrors: true, strict: true }).compile(
  JSON.parse(readFileSync(join(__dirname, '../../../schemas/repair-apt-report.schema.json'), 'utf8')),
);
const cleanup: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children)
    if (c.exitCode === null)
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

// The built plugin under the real kernel (the SDK's harness), trusted like every built-in.
const APT_PLUGIN = new URL('../../../dist/plugins-builtin/apt/', import.meta.url);
const running: StartedPlugin[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.close();
});

async function hostFor(world: AptWorld, root = world.root): Promise<StartedPlugin> {
  const p = await startPlugin(APT_PLUGIN, { tier: 'trusted', root, config: { lock_wait_seconds: 1 } });
  running.push(p);
  return p;
}

async function repair(
  host: StartedPlugin,
  options: Record<string, unknown> = {},
): Promise<{ code: number; report: AptRepairReport }> {
  const { exitCode: code, stdout } = await host.command('repair apt', { options: { json: true, ...options } as never });
  const report = JSON.parse(stdout) as AptRepairReport;
  expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
  return { code, report };
}

let world: AptWorld;
beforeEach(() => {
  world = createAptWorld();
  cleanup.push(world.base);
});

describe('repair apt against a real dpkg database in a temp root', () => {
  it('reports a healthy system as ok and changes nothing', async () => {
    world.aptGet(['install', '-y', '-q', 'cx-demo=1.0']);
    const host = await hostFor(world);
    const { code, report } = await repair(host);
    expect(code).toBe(0);
    expect(report).toMatchObject({ status: 'ok', problems: [], actions: [], statusBackup: null });
    // Dependencies and lists were read in-process and found sound: apt's check (its whole cache
    // rebuilt where pkgcache is off) was not needed.
    const execs = (await host.audit()).filter((a) => a.capability === 'exec');
    expect(execs.filter((a) => a.target === 'apt-get' && JSON.stringify(a.args).includes('"check"'))).toEqual([]);
    expect(execs.some((a) => a.target === 'sh' && JSON.stringify(a.args).includes('cat-file'))).toBe(true);
  });

  it('finishes an interrupted configure (dpkg --unpack without configure); dry run first changes nothing', async () => {
    world.dpkg(['--unpack', world.debs.demo1!]);
    expect(world.statuses()['cx-demo']).toBe('install ok unpacked');
    const before = readFileSync(join(world.root, 'var/lib/dpkg/status'), 'utf8');
    const host = await hostFor(world);

    const dry = await repair(host, { dryRun: true });
    expect(dry.code).toBe(1); // problems found, like apt-get check
    expect(dry.report.status).toBe('planned');
    expect(dry.report.problems.filter((p) => p.id !== 'lock-stale').map((p) => p.id)).toEqual(['interrupted']);
    expect(dry.report.problems.find((p) => p.id === 'interrupted')!.description).toContain('cx-demo (unpacked)');

    expect(dry.report.problems.find((p) => p.id === 'interrupted')!.fix[0]).toMatch(/^dpkg --configure -a/);
    expect(readFileSync(join(world.root, 'var/lib/dpkg/status'), 'utf8')).toBe(before);
    // The kernel's audit log: diagnostics ran for real, nothing with side effects did.
    const audit = (await host.audit()).filter((a) => a.capability === 'exec');
    expect(audit.some((a) => a.target === 'dpkg' && JSON.stringify(a.args).includes('--audit') && !a.dryRun)).toBe(
      true,
    );
    expect(
      audit.filter((a) => !a.dryRun && /--configure|"install"|"clean"|"update"/.test(JSON.stringify(a.args))),
    ).toEqual([]);

    const { code, report } = await repair(host);
    expect(code).toBe(0);
    expect(report.status).toBe('repaired');
    expect(report.audit).toBe('');
    expect(world.statuses()['cx-demo']).toBe('install ok installed');
    expect(readFileSync(report.statusBackup!, 'utf8')).toBe(before);
    // The run journal says what was done (the dry run left no line).
    const journal = readFileSync(join(host.home, 'data/plugin-state/apt/journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(journal).toEqual([
      expect.objectContaining({
        plugin: 'apt',
        run: 'repair apt',
        status: 'repaired',
        statusBackup: report.statusBackup,
        actions: report.actions,
      }),
    ]);
    expect(readFileSync(join(world.root, 'var/log/cx-postinst.log'), 'utf8')).toContain('cx-demo 1.0 configure');
  });

  it('fixes a broken dependency with apt-get -f install from the local archive', async () => {
    world.dpkg(['--force-depends', '-i', world.debs.app1!]);
    expect(world.aptGet(['check'], { allowFail: true }).status).not.toBe(0);
    const { code, report } = await repair(await hostFor(world));
    expect(report.problems.filter((p) => p.id !== 'lock-stale').map((p) => p.id)).toEqual(['broken-dependencies']);
    expect(report.problems.find((p) => p.id === 'broken-dependencies')!.description).toContain('cx-lib');
    expect(code).toBe(0);
    expect(report.status).toBe('repaired');
    expect(world.installed()).toMatchObject({ 'cx-app': '1.0', 'cx-lib': '1.0' });
  });

  it('clears corrupted package lists and fetches them again', async () => {
    const lists = join(world.root, 'var/lib/apt/lists');
    const packagesFile = readFileSync(join(world.repoMain, 'Packages'), 'utf8');
    const listed = readdirSync(lists).find((f) => f.includes('repo_main') && f.includes('_Packages'))!;
    expect(listed).toBeTruthy();
    rmSync(join(lists, listed));
    writeFileSync(
      join(lists, listed.replace(/\.(lz4|gz|xz)$/, '')),
      `${packagesFile.slice(0, 40)}\ngarbage without a colon\n`,
    );
    const { code, report } = await repair(await hostFor(world));
    expect(report.problems.map((p) => p.id)).toContain('lists-corrupt');
    expect(report.status).toBe('repaired');
    expect(code).toBe(0);
    expect(world.aptGet(['check']).status).toBe(0);
  });

  it('never removes a lock held by a live dpkg: reports its pid and command after waiting; a stale lock file is cleared', async () => {
    writeFileSync(join(world.root, 'tmp/cx-hold'), '');
    const dpkg = spawn('dpkg', [`--root=${world.root}`, '--force-script-chrootless', '-i', world.debs.slow1!], {
      detached: true,
      stdio: 'ignore',
    });
    children.push(dpkg);
    // Wait until the real dpkg holds its lock (its postinst waits on the marker).
    for (let i = 0; i < 100 && !existsSync(join(world.root, 'var/lib/dpkg/info/cx-slow.postinst')); i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    const host = await hostFor(world);
    const started = Date.now();
    const { code, report } = await repair(host, { lockWait: '0.5' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(code).toBe(5);
    expect(report.status).toBe('blocked');
    expect(report.holders.map((h) => h.pid)).toContain(dpkg.pid);
    expect(report.holders.find((h) => h.path.endsWith('/var/lib/dpkg/lock'))).toMatchObject({
      pid: dpkg.pid,
      command: expect.stringContaining('dpkg'),
    });
    expect(report.message).toContain(`pid ${dpkg.pid}`);
    expect(existsSync(join(world.root, 'var/lib/dpkg/lock'))).toBe(true);
    expect(dpkg.exitCode).toBeNull();

    // Released while we wait: the repair goes on once dpkg has finished.
    setTimeout(() => rmSync(join(world.root, 'tmp/cx-hold')), 300);
    const after = await repair(host, { lockWait: '20', locks: true });
    expect(after.report.holders).toEqual([]);
    expect(after.code).toBe(0);
    // dpkg left its lock files behind: nobody holds them, so they are stale and cleared.
    expect(after.report.problems.map((p) => p.id)).toEqual(expect.arrayContaining(['lock-stale']));
    expect(existsSync(join(world.root, 'var/lib/dpkg/lock'))).toBe(false);
    expect(world.statuses()['cx-slow']).toBe('install ok installed');
  });

  it('a second repair apt while one runs refuses, naming the running one', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(other);
    const host = await hostFor(world);
    const locks = join(host.home, 'data/locks');
    mkdirSync(locks, { recursive: true });
    writeFileSync(
      join(locks, 'apt-repair.lock'),
      JSON.stringify({ pid: other.pid, start: 0, command: 'cx-ops repair apt', token: 'held-by-the-other-run' }),
    );
    world.dpkg(['--unpack', world.debs.demo1!]);
    const { code, report } = await repair(host);
    expect(code).toBe(5);
    expect(report).toMatchObject({
      status: 'blocked',
      holders: [{ path: join(locks, 'apt-repair.lock'), pid: other.pid, command: 'cx-ops repair apt' }],
    });
    expect(report.message).toContain(`(pid ${other.pid}, cx-ops repair apt)`);
    expect(world.statuses()['cx-demo']).toBe('install ok unpacked');
    other.kill('SIGKILL');
  });

  it('cleans the package cache when partial downloads are left behind', async () => {
    const partial = join(world.root, 'var/cache/apt/archives/partial/cx-demo_2.0_all.deb');
    writeFileSync(partial, 'half a download');
    const { code, report } = await repair(await hostFor(world));
    expect(report.problems.find((p) => p.id === 'cache')).toMatchObject({
      description: `1 partial download(s) in ${world.root}/var/cache/apt/archives/partial`,
    });
    expect(report.actions).toContain(`apt-get clean (root ${world.root})`);
    expect(code).toBe(0);
    expect(existsSync(partial)).toBe(false);
  });

  it('a dpkg journal file dpkg cannot parse is a problem (dpkg --audit exits 2, its message on stderr), and the failed repair says which file', async () => {
    const journalFile = join(world.root, 'var/lib/dpkg/updates/0001');
    mkdirSync(join(world.root, 'var/lib/dpkg/updates'), { recursive: true });
    writeFileSync(journalFile, 'garbage\n');
    const host = await hostFor(world);
    const dry = await repair(host, { dryRun: true });
    expect(dry.code).toBe(1); // problems found, like apt-get check
    expect(dry.report.status).toBe('planned');
    const interrupted = dry.report.problems.find((p) => p.id === 'interrupted')!;
    expect(interrupted.description).toBe(
      `interrupted dpkg run: dpkg --audit failed (exit 2): dpkg: error: parsing file '${journalFile}' near line 0: end of file after field name 'garbage'`,
    );

    const { code, report } = await repair(host);
    expect(code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.audit).toContain(`parsing file '${journalFile}'`);
    expect(report.message).toBe(
      `still broken after repair: ${interrupted.description.replace('interrupted dpkg run: ', '')}; the dpkg status before the repair is in ${report.statusBackup}\n` +
        `${journalFile} is a dpkg journal entry dpkg cannot parse: move it out of ${join(world.root, 'var/lib/dpkg/updates')} (keep the copy), then run: cx-ops repair apt`,
    );
  });

  it('a repair that cannot configure a package names that package, not the tail of the audit text', async () => {
    world.dpkg(['--unpack', world.debs.demo1!]);
    // The postinst appends to this file: as a directory it makes every configure attempt fail.
    mkdirSync(join(world.root, 'var/log/cx-postinst.log'), { recursive: true });
    const { code, report } = await repair(await hostFor(world));
    expect(code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.message).toMatch(
      /^still broken after repair: packages not configured: cx-demo \((half-configured|unpacked)\); the dpkg status before the repair is in \S+$/,
    );
  });

  it('a --lock-wait that is not a number is a usage error', async () => {
    const host = await hostFor(world);
    // A catalogue error the kernel prints as `error[CX_ERR_USAGE]: ...` with exit 2.
    await expect(host.command('repair apt', { options: { lockWait: 'soon' } })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message:
        'repair apt: --lock-wait takes a number of seconds >= 0 (found: "soon").\nTry: cx-ops repair apt --lock-wait 60',
    });
  });

  it('SKIPs with the reason when there is no dpkg database', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cx-nodpkg-'));
    cleanup.push(empty);
    mkdirSync(join(empty, 'etc'), { recursive: true });
    const host = await hostFor(world, empty);
    const r = await host.command('repair apt');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`SKIPPED: no dpkg database at ${empty}/var/lib/dpkg/status`);
  });
});
