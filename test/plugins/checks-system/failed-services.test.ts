// systemd_failed judges failed services through every service manager: a real supervisord with
// a program that crashes into FATAL, on a host where systemd is not running.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '../../helpers/doctor-host.js';
import { startSupervisor, type Supervisor } from '../../helpers/supervisor.js';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

let sup: Supervisor;
let t: TempRoot;

beforeAll(async () => {
  sup = await startSupervisor();
  t = await tempRoot('cx-failed-services-');
  mkdirSync(join(t.root, 'etc/cx'), { recursive: true });
  writeFileSync(join(t.root, 'etc/cx/config.yaml'), `services:\n  supervisor_config: ${sup.conf}\n`);
});
afterAll(async () => {
  await sup?.stop();
  await t?.cleanup();
});

describe('failed services through every service manager', () => {
  it('a supervisord program in FATAL is FAIL (systemd not running is named, not a SKIP of everything)', async () => {
    for (let i = 0; i < 100 && !/FATAL|BACKOFF|EXITED/.test(sup.ctl('status', 'flaky').stdout); i++)
      await new Promise((r) => setTimeout(r, 100));
    const run = await t.run(['doctor', '--json', '--check', 'systemd_failed'], { env: { PATH: process.env.PATH! } });
    const report = parseReport(run);
    expect(run.exitCode, run.stderr).toBe(2);
    const r = report.results[0]!;
    expect(r).toMatchObject({
      check_id: 'systemd_failed',
      status: 'FAIL',
      message: '1 failed service: supervisord:flaky',
      fix_id: 'restart_failed_services',
    });
    expect(r.details).toMatchObject({
      managers: ['supervisord'],
      not_running: ['systemd is not running on this host (no /run/systemd/system)'],
      failed: [
        {
          manager: 'supervisord',
          unit: 'supervisord:flaky',
          name: 'flaky',
          state: 'failed',
          detail: expect.stringMatching(/^(FATAL|BACKOFF|EXITED)/),
        },
      ],
    });
  });

  it('once the program runs: PASS naming the managers asked', async () => {
    sup.crash(false);
    sup.ctl('start', 'flaky');
    for (let i = 0; i < 100 && !/RUNNING/.test(sup.ctl('status', 'flaky').stdout); i++)
      await new Promise((r) => setTimeout(r, 100));
    const run = await t.run(['doctor', '--json', '--check', 'systemd_failed'], { env: { PATH: process.env.PATH! } });
    expect(parseReport(run).results[0]).toMatchObject({ status: 'PASS', message: 'no failed services (supervisord)' });
  });
});
