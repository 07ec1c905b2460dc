import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { doctorHost, parseReport, statuses, type DoctorHost } from '../../helpers/doctor-host.js';

/** A plugin directory under this directory's fixtures/. */
const pluginFixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const SEED_CHECKS = {
  disk_space: 'disk',
  memory: 'memory',
  cpu_load: 'performance',
  apt_status: 'packages',
  systemd_failed: 'services',
  network_connectivity: 'network',
  dns_resolution: 'network',
  time_sync: 'system',
  swap_usage: 'memory',
  security_updates: 'security',
  zombie_processes: 'performance',
  file_descriptors: 'system',
};

let h: DoctorHost | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('doctor on fixture hosts', () => {
  test("a healthy host: the seed's 12 checks with their categories, exit 0, JSON valid against the schema", async () => {
    h = await doctorHost('healthy');
    const { run, report } = await h.json();
    expect(run.exitCode).toBe(0);
    expect(Object.fromEntries(Object.entries(report.checks).map(([id, c]) => [id, c.category]))).toEqual(SEED_CHECKS);
    expect(statuses(report)).toEqual({
      disk_space: 'PASS',
      memory: 'PASS',
      swap_usage: 'PASS',
      cpu_load: 'PASS',
      zombie_processes: 'PASS',
      file_descriptors: 'PASS',
      time_sync: 'SKIP',
      systemd_failed: 'SKIP',
      apt_status: 'SKIP',
      security_updates: 'SKIP',
      network_connectivity: 'SKIP',
      dns_resolution: 'SKIP',
    });
    const by = Object.fromEntries(report.results.map((r) => [r.check_id, r]));
    expect(by.memory).toMatchObject({
      name: 'Memory',
      message: '25% of 7.6 GiB in use (5.7 GiB available)',
      fix_id: null,
    });
    expect(by.swap_usage).toMatchObject({ status: 'PASS', message: 'no swap configured' });
    expect(by.cpu_load).toMatchObject({
      message: 'load 0.5 over 5 min on 4 CPUs (0.13 per core)',
      details: { cpus: 4, load5: 0.5 },
    });
    expect(by.systemd_failed!.message).toMatch(
      /^systemd is not running on this host \(no \/run\/systemd\/system\); supervisord: no supervisord configuration at /,
    );
    expect(by.time_sync!.message).toBe('no NTP client found (no chrony, ntpd or systemd-timesyncd)');
    expect(by.apt_status!.message).toBe('no dpkg on this host (no /var/lib/dpkg/status)');
    expect(by.network_connectivity!.message).toContain('no targets: the host has no network package sources');
    expect(report.summary).toEqual({ total: 12, PASS: 6, WARN: 0, FAIL: 0, SKIP: 6, ERROR: 0 });
    expect(run.stderr).toBe('');
  });

  test('a stressed host: thresholds grade memory, swap, load per core, file handles and zombies; exit 2; text grouped by category', async () => {
    h = await doctorHost('stressed');
    const { run, report } = await h.json();
    expect(run.exitCode).toBe(2);
    expect(statuses(report)).toMatchObject({
      memory: 'FAIL',
      swap_usage: 'FAIL',
      cpu_load: 'FAIL',
      file_descriptors: 'FAIL',
      zombie_processes: 'WARN',
    });
    const zombies = report.results.find((r) => r.check_id === 'zombie_processes')!;
    expect(zombies).toMatchObject({
      message: '6 zombie processes (parent: 42)',
      fix_id: 'zombie_reap',
      details: { count: 6, parents: [42] },
    });
    expect(report.results.find((r) => r.check_id === 'memory')!.fix_id).toBeNull();

    const text = await h.run(['doctor']);
    expect(text.exitCode).toBe(2);
    expect(text.stdout).not.toMatch(/\x1b\[/);
    const headings = text.stdout.split('\n').filter((l) => /^[A-Z]/.test(l));
    expect(headings.slice(0, 8)).toEqual([
      'Disk',
      'Memory',
      'Performance',
      'Packages',
      'Services',
      'Network',
      'System',
      'Security',
    ]);
    expect(text.stdout).toContain('  [FAIL]  Memory                 98% of 7.6 GiB in use (0.2 GiB available)\n');
    expect(text.stdout).toMatch(
      /\nFAIL: 12 checks — 1 passed, 1 warning, 4 failed, 6 skipped, 0 errors \(\d+\.\d\d s\)\n/,
    );
    expect(text.stdout).toContain(
      `1 fix available (zombie_reap): run ${h.cx} doctor --fix (preview with --fix --dry-run)`,
    );
  });

  test('a host with 1,500 processes: the /proc walk stays within the per-plugin call limits', async () => {
    h = await doctorHost('healthy');
    for (let pid = 1000; pid < 2500; pid++) {
      await mkdir(join(h.root, `proc/${pid}`), { recursive: true });
      await writeFile(
        join(h.root, `proc/${pid}/stat`),
        `${pid} (w ${pid}) ${pid % 100 === 0 ? 'Z' : 'S'} 7 ${pid} ${pid} 0 -1 0 0 0`,
      );
    }
    const { report } = await h.json(['--check', 'zombie_processes']);
    expect(report.results[0]).toMatchObject({
      status: 'WARN',
      message: '15 zombie processes (parent: 7)',
      details: { count: 15 },
    });
  });

  test('--verbose adds details, timings and the plugin', async () => {
    h = await doctorHost('stressed');
    const r = await h.run(['doctor', '--check', 'zombie_processes', '--verbose']);
    expect(r.stdout).toMatch(/zombie_processes · [\d.]+ ms · plugin checks-system · severity low · fix zombie_reap/);
    expect(r.stdout).toContain('          parents: [42]');
  });

  test('--check (repeatable) and --category select; a WARN alone exits 1', async () => {
    h = await doctorHost('stressed');
    const two = await h.json(['--check', 'zombie_processes', '--check', 'disk_space']);
    expect(two.report.results.map((r) => r.check_id).sort()).toEqual(['disk_space', 'zombie_processes']);
    expect(two.run.exitCode).toBe(1);
    const mem = await h.json(['--category', 'memory']);
    expect(mem.report.results.map((r) => r.check_id).sort()).toEqual(['memory', 'swap_usage']);
  });

  test('an unknown check id suggests the nearest ids; an unknown category lists the valid ones; exit 3 (UNKNOWN), no stack', async () => {
    h = await doctorHost('healthy');
    const r = await h.run(['doctor', '--check', 'disk_spce']);
    expect(r).toMatchObject({ exitCode: 3, stdout: '' });
    expect(r.stderr).toBe(
      `error[CX_ERR_CONTRIBUTION_UNKNOWN]: no check 'disk_spce' is registered. Did you mean: disk_space?\nList the checks with: ${h.cx} doctor --list`,
    );
    const c = await h.run(['doctor', '--category', 'netwrk']);
    expect(c.exitCode).toBe(3);
    expect(c.stderr).toBe(
      "error[CX_ERR_USAGE]: unknown category 'netwrk'; valid categories: disk, memory, performance, packages, services, network, system, security",
    );
    const f = await h.run(['doctor', '--format', 'yml']);
    expect(f.exitCode).toBe(3);
    expect(f.stderr).toContain("unknown format 'yml'; valid formats: text, json, markdown, junit, nagios, prometheus");
  });

  test('--list shows every check with its category and plugin', async () => {
    h = await doctorHost('healthy');
    const r = await h.run(['doctor', '--list']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^disk_space\s+disk\s+high\s+checks-system\s+fix: disk_cleanup$/m);
    expect(r.stdout.trim().split('\n')).toHaveLength(13); // a header and 12 checks
    const j = await h.run(['doctor', '--list', '--json']);
    expect(j.exitCode).toBe(0);
    const { checks } = JSON.parse(j.stdout) as { checks: Array<Record<string, unknown>> };
    expect(checks).toHaveLength(12);
    expect(checks.find((c) => c.check_id === 'disk_space')).toEqual({
      check_id: 'disk_space',
      name: 'Disk Space',
      category: 'disk',
      severity: 'high',
      plugin: 'checks-system',
      tier: 'trusted',
      fix_id: 'disk_cleanup',
    });
  });
});

describe('thresholds from config', () => {
  test('per-mount disk thresholds; warn beyond fail is an ERROR naming the field; a wrong type is a config error with file and line', async () => {
    h = await doctorHost('healthy');
    await h.config({ checks: { disk_space: { per_mount: { '/': { warn_percent: 0.001, fail_percent: 0.002 } } } } });
    const disk = await h.json(['--check', 'disk_space']);
    expect(disk.run.exitCode).toBe(2);
    expect(disk.report.results[0]).toMatchObject({
      status: 'FAIL',
      fix_id: 'disk_cleanup',
      details: { mounts: [{ mount: '/', status: 'FAIL', warn_percent: 0.001, fail_percent: 0.002 }] },
    });

    await h.config({ checks: { memory: { warn_percent: 95, fail_percent: 90 } } });
    const inverted = await h.json(['--check', 'memory']);
    expect(inverted.run.exitCode).toBe(3);
    expect(inverted.report.results[0]).toMatchObject({
      status: 'ERROR',
      message: `config checks.memory: warn_percent (95) must be below fail_percent (90); fix it in ${h.root}/etc/cx/config.yaml`,
      fix_id: null,
    });

    await h.config({ checks: { cpu_load: { warn_per_core: 'high' } } });
    const typed = await h.run(['doctor', '--check', 'cpu_load']);
    expect(typed.exitCode).not.toBe(0);
    expect(typed.stderr).toMatch(
      /config\.yaml:\d+: 'checks\.cpu_load\.warn_per_core' must be of type number \(found: "high"\)/,
    );
    expect(typed.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('disk_space mounts', () => {
  test('real file systems from /proc/mounts, one per device; network file systems only with include_remote; missing mount points reported', async () => {
    h = await doctorHost('healthy');
    await writeFile(
      join(h.root, 'proc/mounts'),
      [
        '/dev/vda1 / ext4 rw 0 0',
        '/dev/vdb1 /data xfs rw 0 0',
        '/dev/vdb1 /srv/bind xfs rw 0 0',
        'server:/export /mnt/nfs nfs4 rw 0 0',
        'proc /proc proc rw 0 0',
        'tmpfs /run tmpfs rw 0 0',
        '/dev/vdc1 /gone ext4 rw 0 0',
      ].join('\n'),
    );
    for (const d of ['data', 'srv/bind', 'mnt/nfs']) await mkdir(join(h.root, d), { recursive: true });
    const local = await h.json(['--check', 'disk_space']);
    expect((local.report.results[0]!.details.mounts as Array<{ mount: string }>).map((m) => m.mount)).toEqual([
      '/',
      '/data',
    ]);
    expect(local.report.results[0]!.details.not_found).toEqual(['/gone']);
    await h.config({ checks: { disk_space: { include_remote: true, exclude_mounts: ['/data'] } } });
    const remote = await h.json(['--check', 'disk_space']);
    expect((remote.report.results[0]!.details.mounts as Array<{ mount: string }>).map((m) => m.mount)).toEqual([
      '/',
      '/mnt/nfs',
      '/srv/bind',
    ]);
  });
});

describe('output formats', () => {
  test('markdown, junit, nagios and prometheus render the same result', async () => {
    h = await doctorHost('stressed');
    const md = await h.run(['doctor', '--format', 'markdown']);
    expect(md.exitCode).toBe(2);
    expect(md.stdout).toMatch(
      /^# cx-ops doctor report\n\n\*\*FAIL\*\* \(exit 2\) — 12 checks: 1 passed, 1 warning, 4 failed, 6 skipped, 0 errors/,
    );
    expect(md.stdout).toContain('| ❌ FAIL | Memory (`memory`) | 98% of 7.6 GiB in use (0.2 GiB available) |  |');

    const junit = await h.run(['doctor', '--format', 'junit']);
    expect(junit.stdout).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="cx-ops doctor" tests="12" failures="4" errors="0" skipped="6"/,
    );
    expect(junit.stdout).toContain('<testcase classname="cx-ops.doctor.memory" name="memory"');
    expect(junit.stdout.match(/<failure /g)).toHaveLength(4);

    const nagios = await h.run(['doctor', '--format', 'nagios']);
    expect(nagios.exitCode).toBe(2);
    expect(nagios.stdout.split('\n')[0]).toMatch(
      /^CX-OPS CRITICAL - memory: .* \| pass=1;;;0;12 warn=1;;;0;12 fail=4;;;0;12 error=0;;;0;12 skip=6;;;0;12 duration=[\d.]+s$/,
    );

    const prom = await h.run(['doctor', '--format', 'prometheus']);
    expect(prom.stdout).toContain('cx_ops_check_status{check="memory",category="memory",status="fail"} 1\n');
    expect(prom.stdout).toContain('cx_ops_check_status{check="memory",category="memory",status="pass"} 0\n');
    expect(prom.stdout).toContain('cx_ops_checks{status="fail"} 4\n');
    expect(prom.stdout).toContain('cx_ops_doctor_exit_code 2\n');
    expect(prom.stdout).toMatch(/^cx_ops_check_duration_seconds\{check="zombie_processes"\} \d+\.\d{6}$/m);
  });
});

describe('third-party checks run like built-ins, under their sandbox', () => {
  test('one that throws, hangs or returns garbage is an ERROR naming the plugin; the run goes on', async () => {
    h = await doctorHost('healthy');
    const dir = ['--plugin-dir', pluginFixture('odd-checks')];
    expect((await h.run([...dir, 'plugins', 'enable', 'odd-checks', '-y'])).exitCode).toBe(0);
    await h.config({ doctor: { timeout_seconds: 1 } });
    const run = await h.run([...dir, 'doctor', '--json', '--category', 'services']);
    const report = parseReport(run);
    expect(run.exitCode).toBe(3);
    const by = Object.fromEntries(report.results.map((r) => [r.check_id, r]));
    expect(by.third_party_ok).toMatchObject({ status: 'PASS', message: 'all fine', details: { answer: 42 } });
    expect(report.checks.third_party_ok).toEqual({
      category: 'services',
      severity: 'medium',
      plugin: 'odd-checks',
      tier: 'sandboxed',
    });
    expect(by.third_party_throws).toMatchObject({
      status: 'ERROR',
      message: expect.stringMatching(
        /^plugin 'odd-checks' failed in check 'third_party_throws': .*database unreachable/,
      ),
    });
    expect(by.third_party_hangs).toMatchObject({
      status: 'ERROR',
      message: "timed out after 1s (plugin 'odd-checks')",
    });
    expect(by.third_party_garbage).toMatchObject({
      status: 'ERROR',
      message:
        "plugin 'odd-checks' returned a malformed result for check 'third_party_garbage': expected { status: PASS|WARN|FAIL|SKIP|ERROR, message: string }",
    });
    expect(by.systemd_failed).toMatchObject({ status: 'SKIP' });
  });

  test("a plugin's own sandbox limit, shorter than doctor's timeout, is named in the ERROR", async () => {
    h = await doctorHost('healthy');
    const dir = ['--plugin-dir', pluginFixture('short-limit')];
    expect((await h.run([...dir, 'plugins', 'enable', 'short-limit', '-y'])).exitCode).toBe(0);
    const { run, report } = await h.json([...dir, '--check', 'short_limit_hangs']);
    expect(run.exitCode).toBe(3);
    expect(report.results[0]).toMatchObject({
      status: 'ERROR',
      message:
        "timed out after 0.3s (the sandbox limit of plugin 'short-limit'; raise limits.call_timeout_ms in its plugin.yaml)",
    });
  });

  test('a pre_check tap can veto a check (SKIP naming the plugin)', async () => {
    h = await doctorHost('healthy');
    const dir = ['--plugin-dir', pluginFixture('vetoer')];
    expect((await h.run([...dir, 'plugins', 'enable', 'vetoer', '-y'])).exitCode).toBe(0);
    const { report } = await h.json([...dir, '--category', 'system']);
    expect(report.results.find((r) => r.check_id === 'file_descriptors')).toMatchObject({
      status: 'SKIP',
      message: "skipped: vetoed by plugin 'vetoer' (pre_check)",
    });
  });
});
