/**
 * systemd integration without systemd: the test binds a real NOTIFY_SOCKET datagram socket
 * (python3: Node has no unix datagram sockets) and reads what the daemon sends — READY=1 only
 * once it listens and the first cycle is done, WATCHDOG=1 pings at half WATCHDOG_USEC,
 * STOPPING=1 on SIGTERM. The shipped unit passes `systemd-analyze verify`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, test } from 'vitest';
import { LAUNCHER } from '../../helpers/run-cli.js';
import { HAVE_SYSTEMD_ANALYZE, verifyUnit } from '../../helpers/systemd-verify.js';
import { daemonRoot, eventually, type DaemonRoot } from './daemon-process.js';

const UNIT = fileURLToPath(new URL('../../../plugins-builtin/daemon/cx-ops.service', import.meta.url));
const RECEIVER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    data = s.recv(65536).decode()
    print(repr(time.time()) + " " + data.replace("\\n", "|"), flush=True)
`;

let host: DaemonRoot | undefined;
afterEach(async () => {
  await host?.cleanup();
  host = undefined;
});

describe('systemd notification', () => {
  test('READY=1 after the listener is up and the first cycle ended; WATCHDOG=1 pings; STOPPING=1 on SIGTERM', async () => {
    host = await daemonRoot('healthy');
    await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
    const sock = join(host.root, 'notify.sock');
    const receiver = execa('python3', ['-c', RECEIVER, sock], { reject: false, buffer: false, stdout: 'pipe' });
    let got = '';
    receiver.stdout!.on('data', (b: Buffer) => (got += b.toString()));
    try {
      await eventually(async () => got.includes('bound'), 'the notify socket is bound');
      const d = await host.start({ env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' } });
      await eventually(
        async () => /READY=1/.test(got) && (got.match(/WATCHDOG=1/g) ?? []).length >= 2,
        'READY=1 and two watchdog pings',
        30_000,
      );
      const ready = got.split('\n').find((l) => l.includes('READY=1'))!;
      expect(ready).toContain(`MAINPID=${d.pid}`);
      expect(ready).toMatch(/STATUS=cycle 1: (healthy|unhealthy)/);
      const readyAt = Number(ready.split(' ')[0]) * 1000;
      const listening = Date.parse(d.lines.find((l) => l.type === 'listening')!.ts);
      const firstCycle = Date.parse(d.lines.find((l) => l.type === 'cycle_end')!.ts);
      expect(readyAt).toBeGreaterThanOrEqual(listening);
      expect(readyAt).toBeGreaterThanOrEqual(firstCycle);
      d.kill('SIGTERM');
      expect((await d.exited).exitCode).toBe(0);
      await eventually(async () => got.includes('STOPPING=1'), 'STOPPING=1');
    } finally {
      receiver.kill('SIGKILL');
      await receiver;
    }
  });

  test('without NOTIFY_SOCKET nothing is sent and nothing is required', async () => {
    host = await daemonRoot('healthy');
    await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
    const d = await host.start();
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'a cycle');
    expect(d.lines.filter((l) => l.level !== 'info')).toEqual([]);
    expect((await d.stop()).exitCode).toBe(0);
  });

  test.skipIf(!HAVE_SYSTEMD_ANALYZE)(
    'the shipped unit passes systemd-analyze verify (ExecStart pointed at this checkout)',
    async () => {
      const unit = (await readFile(UNIT, 'utf8')).replace(
        /^ExecStart=.*$/m,
        `ExecStart=${process.execPath} ${LAUNCHER} daemon --log-format json`,
      );
      expect(unit).toMatch(/^Type=notify$/m);
      expect(unit).toMatch(/^WatchdogSec=\d+$/m);
      expect(unit).toMatch(/^ProtectSystem=strict$/m);
      expect(unit).toMatch(/^PrivateTmp=true$/m);
      expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/cx \/var\/log\/cx \/var\/cache\/cx$/m);
      expect(await verifyUnit('cx-ops.service', unit)).toEqual({ said: [], exitCode: 0 });
    },
  );
});
