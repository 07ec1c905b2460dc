import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { doctorHost, parseReport, type DoctorHost } from '../../helpers/doctor-host.js';

/** A plugin directory under this directory's fixtures/. */
const pluginFixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

let h: DoctorHost | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

/** Old rotated logs (30 days) and a current log under <root>/var/log; disk_space made to FAIL. */
async function logsAndFullDisk(host: DoctorHost, extraConfig: Record<string, unknown> = {}) {
  const log = join(host.root, 'var/log');
  await mkdir(join(log, 'app'), { recursive: true });
  await mkdir(join(log, 'journal'), { recursive: true });
  const old = new Date(Date.now() - 30 * 86_400_000);
  for (const [f, body] of [
    ['syslog.2.gz', 'x'.repeat(100)],
    ['app/old.log.1', 'y'.repeat(50)],
  ] as const) {
    await writeFile(join(log, f), body);
    await utimes(join(log, f), old, old);
  }
  await writeFile(join(log, 'syslog'), 'current\n');
  await host.config({
    checks: { disk_space: { per_mount: { '/': { warn_percent: 0.001, fail_percent: 0.002 } } } },
    ...extraConfig,
  });
  return { old: [join(log, 'app/old.log.1'), join(log, 'syslog.2.gz')], current: join(log, 'syslog') };
}

describe('doctor --fix', () => {
  test('--dry-run lists exactly what each fix would do and changes nothing', async () => {
    h = await doctorHost('stressed');
    const logs = await logsAndFullDisk(h);
    const { run, report } = await h.json(['--fix', '--dry-run']);
    expect(run.exitCode).toBe(2);
    const fixes = Object.fromEntries(report.fixes!.map((f) => [f.fix_id, f]));
    expect(Object.keys(fixes).sort()).toEqual(['disk_cleanup', 'zombie_reap']);
    expect(fixes.disk_cleanup).toMatchObject({
      check_id: 'disk_space',
      outcome: 'dry_run',
      safe: true,
      verified: null,
      actions: [
        `journalctl --vacuum-size=200M --root=${h.root}`,
        `remove ${logs.old[0]} (50 bytes)`,
        `remove ${logs.old[1]} (100 bytes)`,
      ],
    });
    expect(fixes.disk_cleanup!.recorded_actions).toHaveLength(3);
    expect(fixes.disk_cleanup!.recorded_actions.join('\n')).toContain(logs.old[0]);
    expect(fixes.zombie_reap).toMatchObject({
      check_id: 'zombie_processes',
      outcome: 'dry_run',
      actions: ['kill -s CHLD 42'],
    });
    expect(fixes.zombie_reap!.recorded_actions).toEqual([expect.stringContaining('kill -s CHLD 42')]);
    for (const f of [...logs.old, logs.current]) expect(existsSync(f)).toBe(true);

    const text = await h.run(['doctor', '--fix', '--dry-run', '--check', 'disk_space']);
    expect(text.stdout).toContain(
      `\nFixes (dry run: nothing is changed)\n  [DRY RUN] disk_cleanup for disk_space would:\n      journalctl --vacuum-size=200M --root=${h.root}\n      remove ${logs.old[0]} (50 bytes)\n      remove ${logs.old[1]} (100 bytes)\n`,
    );
  });

  test('without a terminal and without -y nothing is applied, and it says how', async () => {
    h = await doctorHost('stressed');
    const logs = await logsAndFullDisk(h);
    const { report } = await h.json(['--fix', '--check', 'disk_space']);
    expect(report.fixes).toEqual([
      expect.objectContaining({
        fix_id: 'disk_cleanup',
        outcome: 'declined',
        message: 'not applied: no terminal to ask; use -y (or doctor.auto_fix_safe for safe fixes)',
      }),
    ]);
    expect(existsSync(logs.old[0]!)).toBe(true);
  });

  test('-y applies the fix for real in the root, re-runs the check and reports fixed / not fixed', async () => {
    h = await doctorHost('stressed');
    const logs = await logsAndFullDisk(h);
    const { run, report } = await h.json(['--fix', '-y', '--check', 'disk_space']);
    expect(run.exitCode).toBe(2);
    expect(report.fixes![0]).toMatchObject({
      fix_id: 'disk_cleanup',
      outcome: 'applied',
      message: 'cleaned package cache and logs (150 bytes of old logs)',
      verified: 'not fixed',
      result_after: { check_id: 'disk_space', status: 'FAIL' },
    });
    for (const f of logs.old) expect(existsSync(f)).toBe(false);
    expect(existsSync(logs.current)).toBe(true);
  });

  test('auto_fix_safe applies safe fixes unasked and still asks for the others (the apt repair, repair_apt, is not safe)', async () => {
    h = await doctorHost('apt');
    await logsAndFullDisk(h, { doctor: { auto_fix_safe: true } });
    await appendFile(
      join(h.root, 'var/lib/dpkg/status'),
      '\nPackage: baz\nStatus: install ok unpacked\nArchitecture: all\nVersion: 1.0\nDescription: baz\n',
    );
    const { report } = await h.json(['--fix', '--check', 'disk_space', '--check', 'apt_status']);
    const fixes = Object.fromEntries(report.fixes!.map((f) => [f.fix_id, f]));
    expect(fixes.disk_cleanup).toMatchObject({
      outcome: 'applied',
      safe: true,
      actions: expect.arrayContaining([`apt-get clean -o Dir=${h.root}`]),
    });
    expect(fixes.repair_apt).toMatchObject({ outcome: 'declined', safe: false });
  });
});

describe('hand-over to the apt repair', () => {
  test('apt_status names repair_apt; --fix -y runs it with real dpkg in the temp root and the re-run check passes', async () => {
    h = await doctorHost('apt');
    await appendFile(
      join(h.root, 'var/lib/dpkg/status'),
      '\nPackage: baz\nStatus: install ok unpacked\nArchitecture: all\nVersion: 1.0\nMaintainer: X <x@example.invalid>\nDescription: baz\n',
    );
    await writeFile(join(h.root, 'var/lib/dpkg/info/baz.list'), '');
    await writeFile(join(h.root, 'var/lib/dpkg/info/baz.md5sums'), '');
    const { run, report } = await h.json(['--fix', '-y', '--check', 'apt_status']);
    expect(report.fixes).toEqual([
      expect.objectContaining({
        check_id: 'apt_status',
        fix_id: 'repair_apt',
        outcome: 'applied',
        verified: 'fixed',
        result_after: expect.objectContaining({ status: 'PASS' }),
      }),
    ]);
    expect(report.results[0]).toMatchObject({ check_id: 'apt_status', status: 'PASS' });
    expect(run.exitCode).toBe(0);
  });
});

describe('the zombie check and its fix on the real host (read-only: --root / with every cx-ops directory in a temp dir)', () => {
  test('a real zombie is found with its parent; the fix would signal that parent', async () => {
    // sh forks `sleep 0`, then execs `sleep 30`, which never reaps the child: a real zombie.
    const parent = spawn('sh', ['-c', 'sleep 0 & exec sleep 30'], { stdio: 'ignore' });
    try {
      h = await doctorHost();
      const dirs = [
        '--root',
        '/',
        '--config-dir',
        join(h.root, 'etc'),
        '--data-dir',
        join(h.root, 'data'),
        '--log-dir',
        join(h.root, 'log'),
        '--cache-dir',
        join(h.root, 'cache'),
      ];
      await mkdir(join(h.root, 'etc'), { recursive: true });
      await writeFile(
        join(h.root, 'etc/config.yaml'),
        JSON.stringify({ checks: { zombie_processes: { warn_count: 1, fail_count: 1000 } } }),
      );
      let report;
      for (let i = 0; i < 20; i++) {
        report = parseReport(await h.run([...dirs, 'doctor', '--json', '--check', 'zombie_processes']));
        if ((report.results[0]!.details.parents as number[]).includes(parent.pid!)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(report!.results[0]).toMatchObject({ status: 'WARN', fix_id: 'zombie_reap' });
      expect(report!.results[0]!.details.zombies).toContainEqual(
        expect.objectContaining({ ppid: parent.pid, comm: 'sleep' }),
      );
      // Read from /proc in-process, sixteen stat files a call: no program (ps) was started for it.
      const audit = (await readFile(join(h.root, 'log/audit.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { plugin: string; capability: string; op: string });
      expect(audit.filter((r) => r.plugin === 'checks-system' && r.capability === 'exec')).toEqual([]);
      expect(audit.some((r) => r.plugin === 'checks-system' && r.op === 'readSmallFiles')).toBe(true);
      const dry = parseReport(
        await h.run([...dirs, 'doctor', '--json', '--fix', '--dry-run', '--check', 'zombie_processes']),
      );
      expect(dry.fixes![0]!.actions).toContain(`kill -s CHLD ${parent.pid}`);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('hooks around fixes', () => {
  test('a pre_fix tap vetoes the fix; the result names the plugin and nothing changes', async () => {
    h = await doctorHost('stressed');
    const logs = await logsAndFullDisk(h);
    const dir = ['--plugin-dir', pluginFixture('vetoer')];
    expect((await h.run([...dir, 'plugins', 'enable', 'vetoer', '-y'])).exitCode).toBe(0);
    const run = await h.run([...dir, 'doctor', '--json', '--fix', '-y', '--check', 'disk_space']);
    expect(parseReport(run).fixes![0]).toMatchObject({
      fix_id: 'disk_cleanup',
      outcome: 'vetoed',
      vetoed_by: 'vetoer',
      message: "vetoed by plugin 'vetoer' (pre_fix)",
    });
    expect(existsSync(logs.old[0]!)).toBe(true);
  });
});
