import { appendFile, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { LIST_PASS_SCRIPT } from '../../../plugins-builtin/apt/list-pass.js';
import { doctorHost, statuses, type DoctorHost } from '../../helpers/doctor-host.js';

let h: DoctorHost | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

/** exec calls of apt/dpkg recorded in the audit log so far. */
async function aptCalls(root: string): Promise<string[]> {
  const text = await readFile(join(root, 'var/log/cx/audit.jsonl'), 'utf8').catch(() => '');
  // A list is read as `sh -c LIST_PASS_SCRIPT apt-helper <list>` (apt's helper, cut by grep), once
  // for both security_updates' scan and the apt plugin's diagnosis.
  const shown = (r: { target: string; args: string[] }) =>
    r.target === 'sh' && r.args[1] === LIST_PASS_SCRIPT
      ? `sh -c <list pass> ${r.args.slice(2).join(' ')}`
      : `${r.target} ${r.args.join(' ')}`;
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.capability === 'exec' && ['apt', 'dpkg', 'sh'].includes(r.target))
    .map(shown);
}

const pkgChecks = ['--check', 'apt_status', '--check', 'security_updates'];

describe('apt_status and security_updates with real apt and dpkg in a temp root', () => {
  test('a pending security update is WARN; the answers are cached until the lists or the dpkg status change', async () => {
    h = await doctorHost('apt');
    // The sources were written before the lists were fetched (the copy gives both fresh times).
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(h.root, 'etc/apt/sources.list'), hourAgo, hourAgo);
    const cold = await h.json(pkgChecks);
    expect(cold.run.exitCode).toBe(1);
    const by = Object.fromEntries(cold.report.results.map((r) => [r.check_id, r]));
    expect(by.security_updates).toMatchObject({
      status: 'WARN',
      message: `1 security update(s) pending (2 update(s) in all): bar; apply with: ${h.cx} update apply --packages --security`,
      details: {
        security: 1,
        total: 2,
        cached: false,
        packages: [
          { name: 'bar', suites: ['stable-security'], candidate: '2.0-1+deb12u1', current: '2.0-1', security: true },
        ],
      },
    });
    expect(by.apt_status).toMatchObject({
      status: 'PASS',
      message: 'dpkg is consistent; 4 package list file(s), updated today',
      details: { cached: false },
    });
    // The upgradable packages come from the lists themselves (apt is not started), read with apt's own helper.
    expect(by.security_updates.details.source).toBe('package lists');
    const lists = `${h.root}/var/lib/apt/lists`;
    const main = `${lists}/deb.example.invalid_debian_dists_bookworm_main_binary-amd64_Packages`;
    const security = `${lists}/security.example.invalid_debian-security_dists_bookworm-security_main_binary-amd64_Packages`;
    expect((await aptCalls(h.root)).sort()).toEqual([
      `dpkg --admindir=${h.root}/var/lib/dpkg --audit`,
      'dpkg --print-architecture',
      // The apt plugin's diagnosis (shared with repair apt): dpkg usable, its audit, the lists read
      // whole (apt-get check, not listed here, runs only when the in-process look finds something).
      `dpkg --root=${h.root} --admindir=${h.root}/var/lib/dpkg --force-script-chrootless --audit`,
      'dpkg --version',
      // Each list decompressed once, for the scan and the diagnosis together.
      `sh -c <list pass> /usr/lib/apt/apt-helper ${main}`,
      `sh -c <list pass> /usr/lib/apt/apt-helper ${security}`,
    ]);

    const warm = await h.json(pkgChecks);
    expect(warm.report.results.map((r) => r.details.cached)).toEqual([true, true]);
    expect(await aptCalls(h.root)).toHaveLength(6); // apt's helper and dpkg were not started again

    // A package left unpacked: the status file changed, so both answers are recomputed.
    await appendFile(
      join(h.root, 'var/lib/dpkg/status'),
      '\nPackage: baz\nStatus: install ok unpacked\nPriority: optional\nSection: misc\nMaintainer: X <x@example.invalid>\nArchitecture: all\nVersion: 1.0\nDescription: baz\n',
    );
    const changed = await h.json(pkgChecks);
    expect(changed.run.exitCode).toBe(2);
    expect(changed.report.results.find((r) => r.check_id === 'apt_status')).toMatchObject({
      status: 'FAIL',
      message: '1 package(s) not fully installed: baz (unpacked)',
      fix_id: 'repair_apt',
      details: {
        cached: false,
        unfinished: [{ name: 'baz', state: 'unpacked', flag: 'ok' }],
        audit: expect.stringContaining('baz'),
      },
    });
    // dpkg is asked again; the lists, unchanged, come from the per-list cache (size and mtime).
    expect((await aptCalls(h.root)).slice(6).filter((c) => c.startsWith('sh '))).toEqual([]);
    expect(await aptCalls(h.root)).toHaveLength(10);

    // One list changed (apt update rewrote it): only that one is read again.
    const rewritten = new Date(hourAgo.getTime() + 60_000);
    await utimes(security, rewritten, rewritten);
    await h.json(pkgChecks);
    expect((await aptCalls(h.root)).slice(10).filter((c) => c.startsWith('sh '))).toEqual([
      `sh -c <list pass> /usr/lib/apt/apt-helper ${security}`,
    ]);

    // Dropping the security source changes apt's answer without touching the lists.
    await writeFile(
      join(h.root, 'etc/apt/sources.list'),
      'deb [trusted=yes] http://deb.example.invalid/debian bookworm main\n',
    );
    const noSecurity = await h.json(['--check', 'security_updates']);
    // The lists still hold the dropped archive until apt update runs: apt itself tells which it reads.
    expect(noSecurity.report.results[0]).toMatchObject({
      status: 'PASS',
      message: 'no security updates pending (1 other update(s))',
      details: {
        cached: false,
        source: 'apt list --upgradable',
        why_apt: `${h.root}/etc/apt/sources.list changed after the last apt update`,
      },
    });
    expect((await aptCalls(h.root)).at(-1)).toBe(`apt list --upgradable -o Dir=${h.root}`);
  });

  test('an interrupted dpkg run is FAIL; stale package lists are WARN with the command to run', async () => {
    h = await doctorHost('apt');
    await writeFile(join(h.root, 'var/lib/dpkg/updates/0001'), 'Package: foo\nStatus: install ok half-configured\n');
    const interrupted = await h.json(['--check', 'apt_status']);
    expect(interrupted.report.results[0]).toMatchObject({
      status: 'FAIL',
      message: 'dpkg was interrupted (1 pending update file(s)); run: dpkg --configure -a',
      fix_id: 'repair_apt',
    });

    await h.cleanup();
    h = await doctorHost('apt');
    const old = new Date(Date.now() - 30 * 86_400_000);
    for (const f of [
      'deb.example.invalid_debian_dists_bookworm_Release',
      'deb.example.invalid_debian_dists_bookworm_main_binary-amd64_Packages',
      'security.example.invalid_debian-security_dists_bookworm-security_Release',
      'security.example.invalid_debian-security_dists_bookworm-security_main_binary-amd64_Packages',
    ]) {
      await utimes(join(h.root, 'var/lib/apt/lists', f), old, old);
    }
    const stale = await h.json(['--check', 'apt_status']);
    expect(stale.report.results[0]).toMatchObject({
      status: 'WARN',
      message: 'package lists are 30 days old (more than 14): run apt-get update',
      fix_id: null,
    });
  });

  test('thresholds: warn_count not below fail_count is an ERROR naming the field; a valid pair grades again', async () => {
    h = await doctorHost('apt');
    await h.config({ checks: { security_updates: { warn_count: 1, fail_count: 1 } } });
    const bad = await h.json(['--check', 'security_updates']);
    expect(bad.report.results[0]).toMatchObject({
      status: 'ERROR',
      message: `config checks.security_updates: warn_count (1) must be below fail_count (1); fix it in ${h.root}/etc/cx/config.yaml`,
    });
    await h.config({ checks: { security_updates: { warn_count: 1, fail_count: 2 } } });
    expect(statuses((await h.json(['--check', 'security_updates'])).report)).toEqual({ security_updates: 'WARN' });
  });
});
