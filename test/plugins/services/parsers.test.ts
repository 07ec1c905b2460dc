// The services plugin's parsers of the real service managers' output, on captured output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSupervisorStatus, unixSocketOf } from '../../../plugins-builtin/services/supervisord-manager.js';
import { parseSystemctlUnits } from '../../../plugins-builtin/services/systemd-manager.js';

describe('service manager output', () => {
  it('systemctl list-units: failed, running, stopped and starting units', () => {
    const units = parseSystemctlUnits(
      readFileSync(join(__dirname, 'fixtures/systemctl-list-units/output.txt'), 'utf8'),
    );
    expect(units.map((u) => [u.name, u.state])).toEqual([
      ['cron', 'running'],
      ['dbus', 'running'],
      ['nginx', 'failed'],
      ['postgresql', 'stopped'],
      ['systemd-journald', 'running'],
      ['apt-daily', 'starting'],
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
    const conf = (ctl: string) =>
      `[unix_http_server]\nfile=/run/a.sock ; comment\n\n[supervisorctl]\n${ctl}\n[include]\nfiles = /etc/supervisor/conf.d/*.conf\n`;
    expect(unixSocketOf(conf('serverurl=unix:///var/run/supervisor.sock ; use a unix:// URL'))).toBe(
      '/var/run/supervisor.sock',
    );
    expect(unixSocketOf(conf('serverurl=http://127.0.0.1:9001'))).toBeUndefined();
    expect(unixSocketOf(conf(''))).toBeUndefined();
    expect(unixSocketOf('[program:x]\nserverurl=unix:///nope.sock\n')).toBeUndefined();
  });
});
