import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';
import {
  countCpuinfoProcessors,
  parseCpuList,
  parseFileNr,
  parseLoadavg,
  parseMeminfo,
  parseMounts,
  parseProcStat,
} from '../../../plugins-builtin/checks-system/procfs.js';
import { memoryUsage, swapUsage } from '../../../plugins-builtin/checks-system/memory.js';
import { gradeMount, usageFromStatfs } from '../../../plugins-builtin/checks-system/disk-space.js';
import {
  parseChronyTracking,
  parseKeyValues,
  parseNtpqPeers,
} from '../../../plugins-builtin/checks-system/time-sync.js';
import { parseFailedUnits } from '../../../plugins-builtin/checks-system/systemd-failed.js';
import { ROTATED_LOG } from '../../../plugins-builtin/checks-system/disk-cleanup.js';
import {
  parseAptUpgradable,
  parseDpkgStatus,
  unfinishedPackages,
} from '../../../plugins-builtin/checks-packages/apt-parse.js';
import {
  defaultGateway,
  parseDeb822Sources,
  parseOneLineSources,
  parseResolvConf,
  sourceHosts,
} from '../../../plugins-builtin/checks-network/host-config.js';
import { parseTarget } from '../../../plugins-builtin/checks-network/connectivity.js';

const MEMINFO = `MemTotal:       16303456 kB
MemFree:          512000 kB
MemAvailable:    1630345 kB
Buffers:          100000 kB
Cached:          2000000 kB
SwapTotal:       2097148 kB
SwapFree:        1048574 kB
HugePages_Total:       0
`;

describe('/proc parsers', () => {
  test('meminfo: memory in use is what is not available; swap percent; no swap is null', () => {
    const m = parseMeminfo(MEMINFO);
    expect(m).toMatchObject({ MemTotal: 16303456, MemAvailable: 1630345, SwapTotal: 2097148, HugePages_Total: 0 });
    expect(memoryUsage(m)).toEqual({ total_mb: 15921.3, available_mb: 1592.1, used_percent: 90 });
    expect(swapUsage(m)).toEqual({ total_mb: 2048, used_mb: 1024, used_percent: 50 });
    expect(swapUsage(parseMeminfo('MemTotal: 100 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n'))).toBeNull();
    // Kernels before 3.14 have no MemAvailable: free + buffers + cache.
    expect(memoryUsage({ MemTotal: 1000, MemFree: 100, Buffers: 100, Cached: 300 })?.used_percent).toBe(50);
  });

  test('loadavg, cpu list, cpuinfo, file-nr', () => {
    expect(parseLoadavg('0.52 1.25 2.00 3/456 7890\n')).toEqual({ load1: 0.52, load5: 1.25, load15: 2 });
    expect(() => parseLoadavg('garbage')).toThrow(/unexpected \/proc\/loadavg content/);
    expect(parseCpuList('0-3,6,8-9\n')).toBe(7);
    expect(parseCpuList('0\n')).toBe(1);
    expect(countCpuinfoProcessors('processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\n')).toBe(2);
    expect(parseFileNr('1184\t0\t9223372036854775807\n')).toEqual({
      allocated: 1184,
      unused: 0,
      max: Number('9223372036854775807'),
    });
  });

  test('proc stat: command names with spaces and parentheses', () => {
    expect(parseProcStat('4242 (my (odd) proc) Z 17 4242 4242 0 -1 4194564 0 0')).toEqual({
      pid: 4242,
      comm: 'my (odd) proc',
      state: 'Z',
      ppid: 17,
    });
    expect(parseProcStat('not a stat line')).toBeNull();
  });

  test('mounts: octal escapes decoded', () => {
    expect(parseMounts('/dev/sda1 / ext4 rw,relatime 0 0\n/dev/sdb1 /mnt/my\\040disk xfs ro 0 0\n')).toEqual([
      { device: '/dev/sda1', mountpoint: '/', fstype: 'ext4', options: ['rw', 'relatime'] },
      { device: '/dev/sdb1', mountpoint: '/mnt/my disk', fstype: 'xfs', options: ['ro'] },
    ]);
  });
});

describe('disk grading', () => {
  const cfg = {
    warn_percent: 80,
    fail_percent: 90,
    inode_warn_percent: 80,
    inode_fail_percent: 95,
    mounts: [],
    exclude_mounts: [],
    include_remote: false,
    per_mount: { '/var': { fail_percent: 99 } },
    cleanup: { log_max_age_days: 14, journal_max_size: '200M', apt_clean: true },
  };
  test('used percent like df (reserved blocks are not used space); per-mount thresholds; inodes count', () => {
    const u = usageFromStatfs('/', { total: 1000, free: 150, available: 100, files: 100, filesFree: 50 });
    expect(u).toEqual({
      mount: '/',
      used_percent: 89.5,
      inode_used_percent: 50,
      total_bytes: 1000,
      available_bytes: 100,
    });
    expect(gradeMount(u, cfg).status).toBe('WARN');
    expect(gradeMount({ ...u, mount: '/var', used_percent: 95 }, cfg)).toMatchObject({
      status: 'WARN',
      fail_percent: 99,
    });
    expect(gradeMount({ ...u, used_percent: 10, inode_used_percent: 96 }, cfg).status).toBe('FAIL');
  });
});

describe('threshold errors', () => {
  test('warn beyond fail names the config file this run reads (its config directory), not /etc/cx', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cx-thresholds-'));
    const host = await startPlugin(new URL('../../../dist/plugins-builtin/checks-system/', import.meta.url), {
      tier: 'trusted',
      root,
      config: { cpu_load: { warn_per_core: 3, fail_per_core: 2 }, zombie_processes: { warn_count: 9, fail_count: 9 } },
    });
    try {
      // The harness's config directory is its own (not under the root, as with --config-dir).
      const file = join(host.home, 'etc/config.yaml');
      expect(await host.check('cpu_load')).toMatchObject({
        status: 'ERROR',
        fix_id: null,
        message: `config checks.cpu_load: warn_per_core (3) must be below fail_per_core (2); fix it in ${file}`,
      });
      expect(await host.check('zombie_processes')).toMatchObject({
        status: 'ERROR',
        message: `config checks.zombie_processes: warn_count (9) must be below fail_count (9); fix it in ${file}`,
      });
    } finally {
      await host.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('time, systemd, logs', () => {
  test('chrony tracking, ntpq peers, timedatectl show', () => {
    const chrony =
      'Reference ID    : C0A80001 (192.168.0.1)\nStratum         : 3\nSystem time     : 0.000123456 seconds slow of NTP time\nLeap status     : Normal\n';
    expect(parseChronyTracking(chrony)).toEqual({
      leap: 'Normal',
      offset_ms: -0.123,
      reference: 'C0A80001 (192.168.0.1)',
    });
    const ntpq =
      '     remote           refid      st t when poll reach   delay   offset  jitter\n==============\n*192.0.2.10      .GPS.            1 u   33   64  377    0.512   -1.250   0.101\n+192.0.2.11      192.0.2.10       2 u   12   64  377    0.612    0.250   0.201\n';
    expect(parseNtpqPeers(ntpq)).toEqual({ peer: '192.0.2.10', offset_ms: -1.25 });
    expect(parseNtpqPeers('no peers')).toEqual({ peer: null, offset_ms: null });
    expect(parseKeyValues('NTP=yes\nNTPSynchronized=no\n')).toEqual({ NTP: 'yes', NTPSynchronized: 'no' });
  });

  test('failed units, with and without the bullet systemd prints', () => {
    expect(
      parseFailedUnits(
        '● nginx.service loaded failed failed A high performance web server\nfoo@1.service loaded failed failed Foo\n',
      ),
    ).toEqual([
      {
        unit: 'nginx.service',
        load: 'loaded',
        active: 'failed',
        sub: 'failed',
        description: 'A high performance web server',
      },
      { unit: 'foo@1.service', load: 'loaded', active: 'failed', sub: 'failed', description: 'Foo' },
    ]);
  });

  test('rotated log names', () => {
    for (const n of ['syslog.1', 'syslog.2.gz', 'kern.log.4.xz', 'app-20240101.gz']) expect(n).toMatch(ROTATED_LOG);
    for (const n of ['syslog', 'auth.log', 'dpkg.log']) expect(n).not.toMatch(ROTATED_LOG);
  });
});

describe('dpkg and apt output', () => {
  test('status file: unfinished and reinstreq packages', () => {
    const status =
      'Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: install ok unpacked\n\nPackage: c\nStatus: install reinstreq half-installed\n\nPackage: d\nStatus: deinstall ok config-files\n';
    expect(unfinishedPackages(parseDpkgStatus(status))).toEqual([
      { name: 'b', state: 'unpacked', flag: 'ok' },
      { name: 'c', state: 'half-installed', flag: 'reinstreq' },
    ]);
  });

  test('apt list --upgradable: security from the suite name', () => {
    const out =
      'Listing...\nbar/stable-security 2.0-1+deb12u1 all [upgradable from: 2.0-1]\nfoo/stable,now 1.1-1 amd64 [upgradable from: 1.0-1]\n';
    expect(parseAptUpgradable(out)).toEqual([
      {
        name: 'bar',
        suites: ['stable-security'],
        candidate: '2.0-1+deb12u1',
        arch: 'all',
        current: '2.0-1',
        security: true,
      },
      { name: 'foo', suites: ['stable', 'now'], candidate: '1.1-1', arch: 'amd64', current: '1.0-1', security: false },
    ]);
  });
});

describe("the host's own network configuration", () => {
  test('one-line and deb822 sources, disabled stanzas left out; hosts with ports by scheme', () => {
    const list = parseOneLineSources(
      '# comment\ndeb [arch=amd64 signed-by=/k.gpg] https://mirror.example.test/debian bookworm main\ndeb-src http://src.example.test/debian bookworm main\ndeb file:/srv/repo ./\n',
    );
    const d822 = parseDeb822Sources(
      'Types: deb\nURIs: http://deb.example.test/debian\n http://alt.example.test:8080/debian\nSuites: bookworm\n\nEnabled: no\nTypes: deb\nURIs: http://off.example.test/debian\n',
    );
    expect(list).toEqual(['https://mirror.example.test/debian', 'http://src.example.test/debian', 'file:/srv/repo']);
    expect(d822).toEqual(['http://deb.example.test/debian', 'http://alt.example.test:8080/debian']);
    expect(sourceHosts([...list, ...d822, 'http://[2001:db8::1]/debian'])).toEqual([
      { host: 'mirror.example.test', port: 443, scheme: 'https' },
      { host: 'src.example.test', port: 80, scheme: 'http' },
      { host: 'deb.example.test', port: 80, scheme: 'http' },
      { host: 'alt.example.test', port: 8080, scheme: 'http' },
      { host: '2001:db8::1', port: 80, scheme: 'http' },
    ]);
  });

  test('default gateway from /proc/net/route (little-endian hex), resolv.conf nameservers', () => {
    const route =
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
    expect(defaultGateway(route)).toEqual({ iface: 'eth0', gateway: '192.0.2.1' });
    expect(
      defaultGateway(
        route
          .split('\n')
          .filter((l) => !l.includes('\t00000000\t010200C0'))
          .join('\n'),
      ),
    ).toBeNull();
    expect(parseResolvConf('# x\nnameserver 127.0.0.53\nsearch example.test\nnameserver ::1\n')).toEqual([
      '127.0.0.53',
      '::1',
    ]);
  });

  test('targets: host:port, [v6]:port, URLs; anything else says what is expected', () => {
    expect(parseTarget('127.0.0.1:8080')).toEqual({
      kind: 'tcp',
      host: '127.0.0.1',
      port: 8080,
      label: '127.0.0.1:8080',
    });
    expect(parseTarget('[::1]:443')).toMatchObject({ kind: 'tcp', host: '::1', port: 443 });
    expect(parseTarget('http://127.0.0.1:9/x')).toMatchObject({ kind: 'http', url: 'http://127.0.0.1:9/x' });
    expect(() => parseTarget('just-a-host')).toThrow(
      "config checks.network_connectivity.targets: 'just-a-host' is not host:port or an http(s) URL",
    );
  });
});
