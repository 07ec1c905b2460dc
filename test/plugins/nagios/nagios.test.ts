import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { doctorHost, statuses, type DoctorHost } from '../../helpers/doctor-host.js';

const PLUGINS = '/usr/lib/nagios/plugins';
let h: DoctorHost | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('Nagios plugins declared in config.yaml are checks', () => {
  test('real check_load / check_disk / check_procs, plus a missing, a non-executable and a garbage-printing plugin', async () => {
    h = await doctorHost('healthy');
    const notExec = join(h.root, 'check_not_exec');
    await writeFile(notExec, '#!/bin/sh\necho OK\n');
    await chmod(notExec, 0o644);
    const garbage = join(h.root, 'check_garbage');
    await writeFile(garbage, '#!/bin/sh\nprintf "\\001\\002\\003"\nexit 0\n');
    await chmod(garbage, 0o755);
    const weird = join(h.root, 'check_weird_exit');
    await writeFile(weird, '#!/bin/sh\necho "WEIRD - exit 9 | \'a b\'=1;2;3"\nexit 9\n');
    await chmod(weird, 0o755);
    await h.config({
      nagios: {
        checks: [
          {
            id: 'nagios_load',
            name: 'Load (check_load)',
            command: [`${PLUGINS}/check_load`, '-w', '1000,1000,1000', '-c', '2000,2000,2000'],
            category: 'performance',
            severity: 'medium',
          },
          {
            id: 'nagios_disk',
            command: [`${PLUGINS}/check_disk`, '-w', '100%', '-c', '100%', '-p', '/'],
            category: 'disk',
            severity: 'high',
          },
          { id: 'nagios_procs', command: [`${PLUGINS}/check_procs`, '-w', '100000', '-c', '200000'] },
          { id: 'nagios_missing', command: [`${PLUGINS}/check_does_not_exist`] },
          { id: 'nagios_not_exec', command: [notExec] },
          { id: 'nagios_garbage', command: [garbage] },
          { id: 'nagios_weird', command: [weird] },
        ],
      },
    });
    const ids = [
      'nagios_load',
      'nagios_disk',
      'nagios_procs',
      'nagios_missing',
      'nagios_not_exec',
      'nagios_garbage',
      'nagios_weird',
    ];
    const { run, report } = await h.json(ids.flatMap((id) => ['--check', id]));
    expect(run.exitCode).toBe(3);
    expect(statuses(report)).toEqual({
      nagios_load: 'PASS',
      nagios_disk: 'FAIL',
      nagios_procs: 'PASS',
      nagios_missing: 'ERROR',
      nagios_not_exec: 'ERROR',
      nagios_garbage: 'ERROR',
      nagios_weird: 'ERROR',
    });
    const by = Object.fromEntries(report.results.map((r) => [r.check_id, r]));
    expect(by.nagios_load).toMatchObject({
      name: 'Load (check_load)',
      message: expect.stringMatching(/^LOAD OK/),
      details: { exit_code: 0, perfdata: [{ label: 'load1' }, { label: 'load5' }, { label: 'load15' }] },
    });
    expect(report.checks.nagios_load).toEqual({
      category: 'performance',
      severity: 'medium',
      plugin: 'nagios',
      tier: 'trusted',
    });
    expect(report.checks.nagios_procs).toMatchObject({ category: 'system', severity: 'medium' });
    expect(by.nagios_disk!.message).toMatch(/^DISK CRITICAL/);
    expect(by.nagios_missing!.message).toBe(
      `UNKNOWN: ${PLUGINS}/check_does_not_exist does not exist; install it or fix nagios.checks (id nagios_missing) in ${h.root}/etc/cx/config.yaml`,
    );
    expect(by.nagios_not_exec!.message).toBe(
      `UNKNOWN: ${notExec} is not executable (mode 644); make it executable with: chmod +x ${notExec}`,
    );
    expect(by.nagios_garbage!.message).toBe(`UNKNOWN: ${garbage} printed no readable status line (exit 0)`);
    expect(by.nagios_weird).toMatchObject({
      message: `UNKNOWN: ${weird} exited with 9, outside the plugin API (0-3): WEIRD - exit 9`,
      details: { perfdata: [{ label: 'a b', value: 1, warn: '2', crit: '3' }] },
    });
  });

  test('a declared fix_id nobody contributes is reported as unavailable by --fix', async () => {
    h = await doctorHost('healthy');
    await h.config({
      nagios: {
        checks: [
          {
            id: 'nagios_disk_full',
            command: [`${PLUGINS}/check_disk`, '-w', '100%', '-c', '100%', '-p', '/'],
            category: 'disk',
            fix_id: 'no_such_fix',
          },
        ],
      },
    });
    const { report } = await h.json(['--check', 'nagios_disk_full', '--fix', '-y']);
    expect(report.results[0]).toMatchObject({ status: 'FAIL', fix_id: 'no_such_fix' });
    expect(report.fixes).toEqual([
      expect.objectContaining({
        fix_id: 'no_such_fix',
        outcome: 'unavailable',
        message: `no plugin contributes fix 'no_such_fix'; install or enable the plugin that provides it (see: ${h.cx} plugins list --available)`,
      }),
    ]);
  });

  test('a timeout is UNKNOWN with the limit; a duplicate id fails the plugin, not the run; a bad declaration is a config error with the line', async () => {
    h = await doctorHost('healthy');
    const slow = join(h.root, 'check_slow');
    await writeFile(slow, '#!/bin/sh\nsleep 5\necho OK\n');
    await chmod(slow, 0o755);
    await h.config({ nagios: { checks: [{ id: 'nagios_slow', command: [slow], timeout_seconds: 0.3 }] } });
    const { report } = await h.json(['--check', 'nagios_slow']);
    expect(report.results[0]).toMatchObject({ status: 'ERROR', message: `UNKNOWN: ${slow} timed out after 0.3s` });

    await h.config({
      nagios: {
        checks: [
          { id: 'nagios_twice', command: ['/bin/true'] },
          { id: 'nagios_twice', command: ['/bin/false'] },
        ],
      },
    });
    const twice = await h.run(['doctor', '--check', 'memory']);
    expect(twice.exitCode).toBe(0); // the other plugins still run
    expect(twice.stderr).toContain(
      `error[CX_ERR_ACTIVATE_FAILED]: plugin 'nagios' failed to activate: ${h.root}/etc/cx/config.yaml nagios.checks[1].id: 'nagios_twice' is used twice; give each check its own id`,
    );

    // An id that a built-in check already has: the fix is renaming it in config.yaml, not disabling a plugin.
    await h.config({ nagios: { checks: [{ id: 'memory', command: ['/bin/true'] }] } });
    const clash = await h.run(['doctor', '--list']);
    expect(clash.stderr).toContain(`check 'memory' is contributed by both `);
    expect(clash.stderr).toContain(`Rename it: change nagios.checks[0].id in ${h.root}/etc/cx/config.yaml.`);

    await h.config({ nagios: { checks: [{ id: 'Bad Id', command: [] }] } });
    const bad = await h.run(['doctor', '--list']);
    expect(bad.stderr).toMatch(/config\.yaml:\d+: 'nagios\.checks\[0\]\.id' must match the pattern/);
  });
});
