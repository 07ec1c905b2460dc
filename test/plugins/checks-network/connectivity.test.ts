import { afterEach, describe, expect, test } from 'vitest';
import { isIpLiteral, parseTarget, targetHost } from '../../../plugins-builtin/checks-network/connectivity.js';
import { doctorHost, statuses, type DoctorHost } from '../../helpers/doctor-host.js';
import { dnsServer, httpServer, tcpServer, type Running } from '../../helpers/local-servers.js';

let h: DoctorHost | undefined;
const servers: Running[] = [];
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const started = <T extends Running>(s: T): T => (servers.push(s), s);

describe('network_connectivity needs DNS only for targets that are names', () => {
  test('DNS fails: IP targets (tcp and http) are still probed and judged', async () => {
    const dns = started(await dnsServer({}));
    const tcp = started(await tcpServer());
    const http = started(await httpServer());
    h = await doctorHost('healthy');
    await h.config({
      checks: {
        dns_resolution: { names: ['nowhere.example.test'], servers: [`127.0.0.1:${dns.port}`], timeout_ms: 500 },
        network_connectivity: { targets: [`127.0.0.1:${tcp.port}`, `http://127.0.0.1:${http.port}/`] },
      },
    });
    const { run, report } = await h.json(['--category', 'network']);
    expect(run.exitCode).toBe(2);
    expect(statuses(report)).toEqual({ dns_resolution: 'FAIL', network_connectivity: 'PASS' });
    expect(report.results.find((r) => r.check_id === 'network_connectivity')).toMatchObject({
      message: '2 targets reachable',
      details: {
        source: 'config',
        probes: [
          { target: `127.0.0.1:${tcp.port}`, ok: true },
          { target: `http://127.0.0.1:${http.port}/`, ok: true },
        ],
      },
    });
    expect(report.checks.network_connectivity).toBeDefined();
  });

  test('which targets need a name', () => {
    expect(
      [
        '127.0.0.1:80',
        '[::1]:443',
        'http://10.0.0.1/',
        'https://[::1]:8443/x',
        'mirror.example:80',
        'http://deb.example/',
      ].map((t) => isIpLiteral(targetHost(parseTarget(t)))),
    ).toEqual([true, true, true, true, false, false]);
  });
});
