// Declarative checks (Goss-like) on a temp root: a YAML file of assertions, each a doctor check.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { afterEach, describe, expect, test } from 'vitest';
import { listeningPorts, versionSatisfies } from '../../../plugins-builtin/checks-declarative/assertions.js';
import { parseChecksFile } from '../../../plugins-builtin/checks-declarative/checks-file.js';
import { doctorHost, statuses, type DoctorHost } from '../../helpers/doctor-host.js';
import { dnsServer, httpServer, type Running } from '../../helpers/local-servers.js';

const schema = JSON.parse(readFileSync(join(__dirname, '../../../schemas/declarative-checks.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

let h: DoctorHost | undefined;
const servers: Running[] = [];
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A temp root with a little of everything the assertions read. */
async function host(): Promise<DoctorHost> {
  const d = await doctorHost('healthy');
  const w = (p: string, text: string) => {
    mkdirSync(join(d.root, p, '..'), { recursive: true });
    writeFileSync(join(d.root, p), text);
  };
  w('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n');
  w('etc/group', 'root:x:0:\nwww-data:x:33:\n');
  w('etc/nginx/nginx.conf', 'user www-data;\nworker_processes auto;\n');
  chmodSync(join(d.root, 'etc/nginx/nginx.conf'), 0o644);
  w(
    'var/lib/dpkg/status',
    'Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n',
  );
  w('proc/sys/net/ipv4/ip_forward', '0\n');
  w(
    'proc/net/tcp',
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0\n',
  );
  w('proc/4242/stat', '4242 (sshd) S 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n');
  return d;
}

describe('declarative checks', () => {
  test('every assertion type runs as a doctor check with the usual result shape; failures say what differs', async () => {
    const http = await httpServer();
    const dns = await dnsServer({ 'db.example.test': '127.0.0.1' });
    servers.push(http, dns);
    h = await host();
    const file = join(h.root, 'checks.yaml');
    writeFileSync(
      file,
      [
        'checks:',
        '  - { id: nginx_conf, file: /etc/nginx/nginx.conf, exists: true, mode: "0644", owner: root, contains: [worker_processes] }',
        '  - { id: nginx_owner, file: /etc/nginx/nginx.conf, owner: www-data }',
        '  - { id: ssh_port, port: 22, listening: true }',
        '  - { id: app_port, port: 8080, address: 127.0.0.1 }',
        '  - { id: no_telnet, port: 23, listening: false }',
        '  - { id: sshd, process: sshd, running: true, category: services, severity: high }',
        '  - { id: openssl, package: openssl, installed: true, version: ">= 3.0, < 4" }',
        '  - { id: openssl_new, package: openssl, version: ">= 3.1" }',
        '  - { id: gone_pkg, package: gone, installed: false }',
        `  - { id: health, http: "http://127.0.0.1:${http.port}/", status: 204 }`,
        `  - { id: health_200, http: "http://127.0.0.1:${http.port}/", status: 200 }`,
        '  - { id: true_cmd, command: [/bin/sh, -c, "echo ready"], exit_status: 0, stdout: [ready] }',
        `  - { id: db_name, dns: db.example.test, server: "127.0.0.1:${dns.port}", addresses: [127.0.0.1] }`,
        `  - { id: no_name, dns: nowhere.example.test, server: "127.0.0.1:${dns.port}", resolvable: false, timeout_ms: 1000 }`,
        '  - { id: forwarding_off, kernel_param: net.ipv4.ip_forward, value: "0" }',
        '  - { id: root_ext4, mount: /, filesystem: ext4, options: [rw] }',
        '  - { id: no_srv, mount: /srv }',
        '',
      ].join('\n'),
    );
    expect(validate(parse(readFileSync(file, 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
    const { run, report } = await h.json(['--checks-file', file, '--category', 'system', 'services', 'packages']);
    expect(run.exitCode, run.stderr).toBe(2);
    const s = statuses(report);
    expect(s).toMatchObject({
      nginx_conf: 'PASS',
      nginx_owner: 'FAIL',
      ssh_port: 'PASS',
      app_port: 'PASS',
      no_telnet: 'PASS',
      sshd: 'PASS',
      openssl: 'PASS',
      openssl_new: 'FAIL',
      gone_pkg: 'PASS',
      health: 'PASS',
      health_200: 'FAIL',
      db_name: 'PASS',
      no_name: 'PASS',
      true_cmd: 'PASS',
      forwarding_off: 'PASS',
      root_ext4: 'PASS',
      no_srv: 'FAIL',
    });
    const by = Object.fromEntries(report.results.map((r) => [r.check_id, r]));
    expect(by.nginx_owner).toMatchObject({
      message: 'owner is uid 0, not www-data (33)',
      details: { declared_at: `${file}:3`, type: 'file', uid: 0 },
    });
    expect(by.openssl_new!.message).toBe('version 3.0.11-1~deb12u2 is not >= 3.1');
    expect(by.no_srv!.message).toBe('nothing is mounted on /srv');
    expect(by.health_200!.message).toBe('status 204, not 200');
    expect(report.checks.sshd).toEqual({
      category: 'services',
      severity: 'high',
      plugin: 'checks-declarative',
      tier: 'trusted',
    });
  });

  test('a config entry runs the file on every doctor run; a mistake names file, line and field and is ERROR, not green', async () => {
    h = await host();
    mkdirSync(join(h.root, 'etc/cx'), { recursive: true });
    writeFileSync(
      join(h.root, 'etc/cx/checks.yaml'),
      'checks:\n  - id: ok_one\n    kernel_param: net.ipv4.ip_forward\n    value: "0"\n  - id: typo\n    file: /etc/hostname\n    exsits: true\n',
    );
    await h.config({ declarative: { files: ['/etc/cx/checks.yaml'] } });
    const { run, report } = await h.json(['--category', 'system']);
    expect(run.exitCode).toBe(3);
    const r = report.results.find((x) => x.check_id === 'check-set:declarative')!;
    expect(r.status).toBe('ERROR');
    expect(r.message).toContain(
      `${h.root}/etc/cx/checks.yaml:7: field 'checks[1].exsits' is not a field of a file check; its fields: exists, mode, owner, group, contains, type`,
    );
    expect(r.details).toMatchObject({ code: 'CX_ERR_CHECKS_FILE_INVALID' });
  });

  test('parser: one assertion type per check, ids unique, version ranges checked, YAML syntax positioned', () => {
    expect(() => parseChecksFile('checks:\n  - id: a\n    port: 22\n    process: x\n', 'f.yaml')).toThrow(
      "f.yaml:2: field 'checks[0]' has port and process: give each check exactly one of",
    );
    expect(() => parseChecksFile('checks:\n  - id: a\n    port: 22\n  - id: a\n    port: 23\n', 'f.yaml')).toThrow(
      "f.yaml:4: field 'checks[1].id' 'a' is already used at line 2",
    );
    expect(() => parseChecksFile('checks:\n  - id: a\n    package: x\n    version: "about 2"\n', 'f.yaml')).toThrow(
      "f.yaml:4: field 'checks[0].version' 'about 2' is not a version constraint",
    );
    expect(() => parseChecksFile('checks:\n  - id: a\n    port: [\n', 'f.yaml')).toThrow(/^f\.yaml:\d+:\d+: /);
    expect(() => parseChecksFile('chekcs: []\n', 'f.yaml')).toThrow(
      "f.yaml:1: field 'chekcs' is not allowed here: the only top-level key is 'checks'",
    );
    expect(versionSatisfies('1:2.0-1', '>= 1.9')).toBe(true);
    expect(versionSatisfies('2.0~rc1', '>= 2.0')).toBe(false);
    expect(listeningPorts('h\n 0: 0100007F:0050 00000000:0000 0A x\n 1: 0100007F:0051 00000000:0000 01 x\n')).toEqual([
      { address: '127.0.0.1', port: 80 },
    ]);
  });

  test('checks init writes a file from the host (mounts, ports, kernel parameters, --add) that doctor then passes', async () => {
    h = await host();
    const out = join(h.root, 'etc/cx/checks.yaml');
    const dry = await h.run([
      'checks',
      'init',
      '--dry-run',
      '--add',
      'openssl',
      '--add',
      'sshd',
      '--add',
      '/etc/nginx/nginx.conf',
    ]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const doc = parse(dry.stdout);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.checks).toEqual(
      expect.arrayContaining([
        { id: 'mount_root', mount: '/', filesystem: 'ext4', options: ['rw'] },
        { id: 'port_22', port: 22, listening: true },
        { id: 'port_8080', port: 8080, listening: true },
        { id: 'sysctl_net_ipv4_ip_forward', kernel_param: 'net.ipv4.ip_forward', value: '0' },
        { id: 'package_openssl', package: 'openssl', installed: true, version: '>= 3.0.11-1~deb12u2' },
        { id: 'process_sshd', process: 'sshd', running: true },
        { id: 'file_etc_nginx_nginx_conf', file: '/etc/nginx/nginx.conf', exists: true, mode: '0644' },
      ]),
    );
    const wrote = await h.run(['checks', 'init', '--output', out, '--add', 'openssl']);
    expect(wrote.exitCode, wrote.stderr).toBe(0);
    expect((await h.run(['checks', 'init', '--output', out])).stderr).toContain(
      `checks init: ${out} exists; nothing was written.`,
    );
    const { run, report } = await h.json(['--checks-file', out, '--category', 'system']);
    expect(
      report.results
        .filter((r) => r.check_id.startsWith('port_') || r.check_id.startsWith('package_'))
        .every((r) => r.status === 'PASS'),
    ).toBe(true);
    expect(run.stderr).toBe('');
  });
});
