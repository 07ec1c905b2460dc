import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { doctorHost, type DoctorHost } from '../../helpers/doctor-host.js';
import { closedPort, dnsServer, httpServer, tcpServer, type Running } from '../../helpers/local-servers.js';

let h: DoctorHost | undefined;
const servers: Running[] = [];
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const started = <T extends Running>(s: T): T => (servers.push(s), s);

describe('network_connectivity and dns_resolution against real servers on 127.0.0.1', () => {
  test('configured targets and resolvers: TCP and HTTP targets reachable, names resolved -> PASS', async () => {
    const tcp = started(await tcpServer());
    const http = started(await httpServer());
    const dns = started(await dnsServer({ 'mirror.example.test': '127.0.0.1' }));
    h = await doctorHost('healthy');
    await h.config({
      checks: {
        network_connectivity: { targets: [`127.0.0.1:${tcp.port}`, `http://127.0.0.1:${http.port}/`] },
        dns_resolution: { names: ['mirror.example.test'], servers: [`127.0.0.1:${dns.port}`] },
      },
    });
    const { run, report } = await h.json(['--category', 'network']);
    expect(run.exitCode).toBe(0);
    const by = Object.fromEntries(report.results.map((r) => [r.check_id, r]));
    expect(by.dns_resolution).toMatchObject({
      status: 'PASS',
      message: '1 name(s) resolved by 1 resolver(s)',
      details: {
        queries: [{ target: `mirror.example.test@127.0.0.1:${dns.port}`, ok: true, addresses: ['127.0.0.1'] }],
      },
    });
    expect(dns.queries).toContain('mirror.example.test');
    expect(by.network_connectivity).toMatchObject({
      status: 'PASS',
      message: '2 targets reachable',
      details: {
        gateway: '127.0.0.1',
        interface: 'eth0',
        source: 'config',
        probes: [
          { target: `127.0.0.1:${tcp.port}`, ok: true },
          { target: `http://127.0.0.1:${http.port}/`, ok: true, status: 204 },
        ],
      },
    });
  });

  test('one target of two down is WARN; all down is FAIL; the probes run at once with the short timeout', async () => {
    const tcp = started(await tcpServer());
    const closed = await closedPort();
    h = await doctorHost('healthy');
    await h.config({
      checks: { network_connectivity: { targets: [`127.0.0.1:${tcp.port}`, `127.0.0.1:${closed}`], timeout_ms: 500 } },
    });
    const some = await h.json(['--check', 'network_connectivity']);
    expect(some.run.exitCode).toBe(1);
    expect(some.report.results[0]).toMatchObject({
      status: 'WARN',
      message: expect.stringMatching(new RegExp(`^1 of 2 targets unreachable: 127\\.0\\.0\\.1:${closed} \\(`)),
    });
    await h.config({ checks: { network_connectivity: { targets: [`127.0.0.1:${closed}`], timeout_ms: 500 } } });
    const none = await h.json(['--check', 'network_connectivity']);
    expect(none.report.results[0]).toMatchObject({
      status: 'FAIL',
      message: expect.stringMatching(/^no target reachable: /),
    });
  });

  test("default targets come from the host's own package sources; no default route is FAIL", async () => {
    const tcp = started(await tcpServer());
    const dns = started(await dnsServer({ 'mirror.example.test': '127.0.0.1' }));
    h = await doctorHost('healthy');
    await mkdir(join(h.root, 'etc/apt/sources.list.d'), { recursive: true });
    await writeFile(join(h.root, 'etc/apt/sources.list'), `deb http://127.0.0.1:${tcp.port}/debian bookworm main\n`);
    await writeFile(
      join(h.root, 'etc/apt/sources.list.d/mirror.sources'),
      'Types: deb\nURIs: http://mirror.example.test/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n',
    );
    await h.config({ checks: { dns_resolution: { servers: [`127.0.0.1:${dns.port}`] } } });
    const { report } = await h.json(['--category', 'network']);
    expect(report.results.find((r) => r.check_id === 'network_connectivity')).toMatchObject({
      status: 'PASS',
      details: { source: 'package sources', probes: [{ target: `127.0.0.1:${tcp.port}`, ok: true }] },
    });
    // The only name is in a disabled stanza; the IP literal needs no lookup.
    expect(report.results.find((r) => r.check_id === 'dns_resolution')).toMatchObject({ status: 'SKIP' });

    await writeFile(
      join(h.root, 'etc/apt/sources.list.d/mirror.sources'),
      'Types: deb\nURIs: http://mirror.example.test/debian\nSuites: bookworm\nComponents: main\n',
    );
    const resolved = await h.json(['--check', 'dns_resolution']);
    expect(resolved.report.results[0]).toMatchObject({ status: 'PASS', details: { names: ['mirror.example.test'] } });

    await writeFile(
      join(h.root, 'proc/net/route'),
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n',
    );
    const noRoute = await h.json(['--check', 'network_connectivity']);
    expect(noRoute.report.results[0]).toMatchObject({
      status: 'FAIL',
      message: 'no default route (nothing in /proc/net/route for 0.0.0.0)',
    });
  });
});
