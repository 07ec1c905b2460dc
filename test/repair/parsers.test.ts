// The parsers between the real tools' output and cx-ops' data, on captured output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aptRootOptions, dpkgRootOptions } from '../../plugins-builtin/apt/apt-tools.js';
import { parseSimulation } from '../../plugins-builtin/apt/apt-updater.js';
import { parseSupervisorStatus, unixSocketOf } from '../../plugins-builtin/services/supervisord-manager.js';
import { parseSystemctlUnits } from '../../plugins-builtin/services/systemd-manager.js';

describe('dpkg/apt command lines', () => {
  it('on a real host (root /) they are the plain commands', () => {
    expect(aptRootOptions('/')).toEqual([]);
    expect(dpkgRootOptions('/')).toEqual([]);
  });

  it('for another root every tool is pointed at it', () => {
    expect(dpkgRootOptions('/tmp/r')).toEqual(['--root=/tmp/r', '--admindir=/tmp/r/var/lib/dpkg', '--force-script-chrootless']);
    expect(aptRootOptions('/tmp/r')).toEqual(expect.arrayContaining(['Dir=/tmp/r', 'Dir::State::status=/tmp/r/var/lib/dpkg/status', 'DPkg::Options::=--root=/tmp/r']));
  });
});

describe('apt-get -s output', () => {
  it('reads upgrades and new packages; security from the archive label/suite', () => {
    const text = [
      'Inst libc6 [2.36-9+deb12u3] (2.36-9+deb12u4 Debian-Security:12/stable-security [amd64])',
      'Inst tzdata [2024a-0+deb12u1] (2024b-0+deb12u1 Debian:12.7/stable [all])',
      'Inst linux-image-6.1.0-26-amd64 (6.1.112-1 Debian:12.7/stable [amd64])',
      'Conf libc6 (2.36-9+deb12u4 Debian-Security:12/stable-security [amd64])',
    ].join('\n');
    expect(parseSimulation(text)).toEqual([
      { name: 'libc6', current: '2.36-9+deb12u3', candidate: '2.36-9+deb12u4', origin: 'Debian-Security:12/stable-security', security: true },
      { name: 'tzdata', current: '2024a-0+deb12u1', candidate: '2024b-0+deb12u1', origin: 'Debian:12.7/stable', security: false },
      { name: 'linux-image-6.1.0-26-amd64', current: '', candidate: '6.1.112-1', origin: 'Debian:12.7/stable', security: false },
    ]);
  });
});

describe('service manager output', () => {
  it('systemctl list-units: failed, running, stopped and starting units', () => {
    const units = parseSystemctlUnits(readFileSync(join(__dirname, 'fixtures/systemctl-list-units/output.txt'), 'utf8'));
    expect(units.map((u) => [u.name, u.state])).toEqual([
      ['cron', 'running'], ['dbus', 'running'], ['nginx', 'failed'], ['postgresql', 'stopped'], ['systemd-journald', 'running'], ['apt-daily', 'starting'],
    ]);
    expect(units[2]!.detail).toBe('failed (failed)');
  });

  it('supervisorctl status: states, pid and the reason a program died', () => {
    const text = [
      'flaky                            FATAL     Exited too quickly (process log may have details)',
      'steady                           RUNNING   pid 4242, uptime 0:01:02',
      'idle                             STOPPED   Not started',
      'retrying                         BACKOFF   Exited too quickly (process log may have details)',
    ].join('\n');
    expect(parseSupervisorStatus(text)).toEqual([
      { name: 'flaky', state: 'failed', detail: 'FATAL Exited too quickly (process log may have details)' },
      { name: 'steady', state: 'running', detail: 'RUNNING pid 4242, uptime 0:01:02', pid: 4242 },
      { name: 'idle', state: 'stopped', detail: 'STOPPED Not started' },
      { name: 'retrying', state: 'failed', detail: 'BACKOFF Exited too quickly (process log may have details)' },
    ]);
  });

  it('unixSocketOf: the socket of [supervisorctl] serverurl=unix://, none for an HTTP server or no serverurl', () => {
    const conf = (ctl: string) => `[unix_http_server]\nfile=/run/a.sock ; comment\n\n[supervisorctl]\n${ctl}\n[include]\nfiles = /etc/supervisor/conf.d/*.conf\n`;
    expect(unixSocketOf(conf('serverurl=unix:///var/run/supervisor.sock ; use a unix:// URL'))).toBe('/var/run/supervisor.sock');
    expect(unixSocketOf(conf('serverurl=http://127.0.0.1:9001'))).toBeUndefined();
    expect(unixSocketOf(conf(''))).toBeUndefined();
    expect(unixSocketOf('[program:x]\nserverurl=unix:///nope.sock\n')).toBeUndefined();
  });
});
