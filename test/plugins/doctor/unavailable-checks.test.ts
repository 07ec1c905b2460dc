import { afterEach, describe, expect, test } from 'vitest';
import { doctorHost, statuses, type DoctorHost } from '../../helpers/doctor-host.js';

const SYSTEM_CHECKS = [
  'disk_space',
  'memory',
  'swap_usage',
  'cpu_load',
  'zombie_processes',
  'file_descriptors',
  'time_sync',
  'systemd_failed',
];

let h: DoctorHost | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('doctor never goes green when it could not look', () => {
  test("a typo in checks-system's config section: its 8 checks are ERROR by id (from the last load), in every format, exit 3", async () => {
    h = await doctorHost('healthy');
    expect((await h.json()).run.exitCode).toBe(0); // the shape cache now knows checks-system's ids
    await h.config({ checks: { memory: { warn_pct: 80 } } });

    const { run, report } = await h.json();
    expect(run.exitCode).toBe(3);
    expect(report.status).toBe('ERROR');
    expect(report.summary).toEqual({ total: 12, PASS: 0, WARN: 0, FAIL: 0, SKIP: 4, ERROR: 8 });
    const byId = Object.fromEntries(report.results.map((r) => [r.check_id, r]));
    for (const id of SYSTEM_CHECKS) {
      expect(byId[id]!.status).toBe('ERROR');
      expect(byId[id]!.message).toMatch(
        /^not run: plugin 'checks-system' failed to load: .*'checks\.memory\.warn_pct' is not allowed here/,
      );
      expect(byId[id]!.details).toMatchObject({ plugin: 'checks-system', code: 'CX_ERR_CONFIG_INVALID' });
      expect(report.checks[id]!.plugin).toBe('checks-system');
    }
    expect(byId.memory!.name).toBe('Memory');
    expect(report.checks.disk_space!.category).toBe('disk');

    const nagios = await h.run(['doctor', '--format', 'nagios']);
    expect(nagios.exitCode).toBe(3);
    expect(nagios.stdout.split('\n')[0]).toMatch(
      /^CX-OPS UNKNOWN - disk_space: not run: plugin 'checks-system' failed to load: .* \(12 checks: 8 unknown, 4 skipped\) \| /,
    );
    expect(nagios.stdout).toContain('[ERROR] memory: not run: ');

    const junit = await h.run(['doctor', '--format', 'junit']);
    expect(junit.exitCode).toBe(3);
    expect(junit.stdout).toContain('errors="8"');
    const md = await h.run(['doctor', '--format', 'markdown']);
    expect(md.stdout).toContain('🛑 ERROR | Memory (`memory`) | not run: plugin');
    const prom = await h.run(['doctor', '--format', 'prometheus']);
    expect(prom.stdout).toContain('cx_ops_check_status{check="memory",category="memory",status="error"} 1');
    expect(prom.stdout).toContain('cx_ops_doctor_exit_code 3');
    const text = await h.run(['doctor']);
    expect(text.exitCode).toBe(3);
    expect(text.stdout).toMatch(/\nERROR: 12 checks — 0 passed, 0 warnings, 0 failed, 4 skipped, 8 errors/);
  });

  test('--category disk memory with the broken plugin: ERROR for its three checks, not PASS: 0 checks', async () => {
    h = await doctorHost('healthy');
    await h.json();
    await h.config({ checks: { memory: { warn_pct: 80 } } });
    const { run, report } = await h.json(['--category', 'disk', 'memory']);
    expect(run.exitCode).toBe(3);
    expect(statuses(report)).toEqual({ disk_space: 'ERROR', memory: 'ERROR', swap_usage: 'ERROR' });
    const one = await h.json(['--check', 'memory']);
    expect(statuses(one.report)).toEqual({ memory: 'ERROR' });
  });

  test('no earlier load to tell the ids: one ERROR for the plugin, naming cause and fix', async () => {
    h = await doctorHost('healthy');
    await h.config({ checks: { memory: { warn_pct: 80 } } });
    const { run, report } = await h.json();
    expect(run.exitCode).toBe(3);
    const r = report.results.find((x) => x.check_id === 'plugin:checks-system')!;
    expect(r).toMatchObject({
      status: 'ERROR',
      name: 'Checks of plugin checks-system',
      details: { plugin: 'checks-system', code: 'CX_ERR_CONFIG_INVALID' },
    });
    expect(r.message).toMatch(
      /^the checks of plugin 'checks-system' did not run: it failed to load: .*warn_pct.*\nFix that value in /s,
    );
    expect(report.results.filter((x) => x.status === 'ERROR')).toHaveLength(1);
    // It may hold any category's checks, so a category selection takes it too.
    expect(statuses((await h.json(['--category', 'disk'])).report)).toEqual({ 'plugin:checks-system': 'ERROR' });
  });

  test('a selection that takes no checks is an error (UNKNOWN, exit 3), not PASS: 0 checks', async () => {
    h = await doctorHost('healthy');
    const run = await h.run(['doctor', '--check', 'memory', '--category', 'disk']);
    expect(run.exitCode).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('error[CX_ERR_USAGE]: --check memory --category disk selects no checks to run');
  });

  test('Nagios: bad usage is UNKNOWN on stdout with exit 3; the status line counts what happened', async () => {
    h = await doctorHost('healthy');
    const bad = await h.run(['doctor', '--format', 'nagios', '--check', 'nope']);
    expect(bad.exitCode).toBe(3);
    expect(bad.stdout).toBe("CX-OPS UNKNOWN - error[CX_ERR_CONTRIBUTION_UNKNOWN]: no check 'nope' is registered.");
    const ok = await h.run(['doctor', '--format', 'nagios']);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout.split('\n')[0]).toMatch(/^CX-OPS OK - 12 checks: 6 passed, 6 skipped \| pass=6;/);
    const dry = await h.run(['doctor', '--dry-run']);
    expect(dry.exitCode).toBe(3);
    expect(dry.stderr).toContain('--dry-run previews fixes and needs --fix');
  });

  test('doctor --list has a header and lists the checks of a failed plugin as unavailable (exit 3)', async () => {
    h = await doctorHost('healthy');
    const list = await h.run(['doctor', '--list']);
    expect(list.exitCode).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^CHECK\s+CATEGORY\s+SEVERITY\s+PLUGIN$/);
    await h.config({ checks: { memory: { warn_pct: 80 } } });
    const broken = await h.run(['doctor', '--list']);
    expect(broken.exitCode).toBe(3);
    expect(broken.stdout).toMatch(/\nmemory +memory +high +checks-system {2}UNAVAILABLE: the plugin failed to load/);
  });
});
