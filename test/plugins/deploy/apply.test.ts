// deploy apply / status / rollback end to end: the real launcher and kernel, a real supervisord
// in a temp root, and small HTTP and TCP servers as the manifest's services, each on its own
// 127.A.B.x address (A.B random per run: concurrent runs of these tests do not meet). One manifest rolls out; in
// another the last wave fails its health check,
// so the rollout stops and everything it changed is reverted.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSupervisorHost, type SupervisorHost } from './supervisor-host.js';

const LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops.js', import.meta.url));
let host: SupervisorHost;

async function cx(args: string[]) {
  const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, '--root', host.root, ...args], {
    reject: false,
    input: '',
    env: { PATH: process.env.PATH!, HOME: join(host.root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
    extendEnv: false,
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function manifest(webFails: boolean, autoRevert = true): string {
  // Generous start periods: under load a server may take long to listen, and failures before it
  // does do not count. web's is short, so its failing check fails the rollout soon.
  const timing = (start: string) =>
    `{ interval: 0.2s, timeout: 2s, retries: 3, start_period: ${start}, start_interval: 0.2s }`;
  return `network:
  network_cidr: 127.0.0.0/8
update:
  max_parallel: 2
  min_healthy_time: 0.3s
  healthy_deadline: 120s
${autoRevert ? '' : '  auto_revert: false\n'}services:
  store:
    enable: true
    ip: ${host.net}.11
    hostname: store.test
    ports: [7001]
    environment: { PORT: 7001 }
    health_check: { test: "tcp:7001", ${timing('60s').slice(2)}
    restart_policy: always
    restart: { backoff: 0.1s, backoff_max: 1s, max_failures: 3, window: 60s }
    driver: { type: supervisord, command: "${host.tcp}" }
  api:
    enable: true
    ip: ${host.net}.12
    hostname: api.test
    depends_on: [store]
    ports: [8080]
    environment: { PORT: 8080 }
    health_check: { test: "http://${host.net}.12:8080/health", expect_body: "ok api", ${timing('60s').slice(2)}
    restart_policy: never
    driver: { type: supervisord, command: "${host.http}" }
  web:
    enable: true
    ip: ${host.net}.13
    hostname: web.test
    depends_on: { api: { condition: service_healthy } }
    ports: [8080]
    environment: { PORT: 8080, FAIL: "${webFails ? 1 : 0}" }
    health_check: { test: "http://${host.net}.13:8080/health", ${timing(webFails ? '5s' : '60s').slice(2)}
    restart_policy: never
    driver: { type: supervisord, command: "${host.http}" }
`;
}

let good: string;
let bad: string;
beforeAll(async () => {
  host = await startSupervisorHost();
  good = join(host.root, 'good.yaml');
  bad = join(host.root, 'bad.yaml');
  writeFileSync(good, manifest(false));
  writeFileSync(bad, manifest(true));
});
afterAll(() => host?.stop());
// Each test starts with no program; a failed one leaves none to the next.
afterEach(() => host?.reset());

const programs = () =>
  host
    .ctl('status')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/).slice(0, 2).join(' '))
    .sort();

describe('deploy apply through a real supervisord', () => {
  it('--dry-run shows the plan and changes nothing', { timeout: 300_000 }, async () => {
    const r = await cx(['deploy', 'apply', good, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `Wave 1 (1 service):\n  store  ${host.net}.11  store.test  [supervisord] - no dependencies\n`,
    );
    expect(r.stdout).toContain(`  store: would deploy (supervisord)`);
    expect(r.stdout).toContain(
      `  web: would wait for 'http://${host.net}.13:8080/health' to be healthy for 0.3s (deadline 120s)`,
    );
    expect(r.stdout).toMatch(/PLANNED: dry run: would deploy 3 services in 3 wave\(s\); nothing was changed/);
    expect(existsSync(join(host.root, 'etc/supervisor/conf.d/cx-deploy-store.conf'))).toBe(false);
    expect(programs()).toEqual([]);
  });

  it(
    'without a terminal and without -y it asks, is not answered, and changes nothing',
    { timeout: 300_000 },
    async () => {
      const r = await cx(['deploy', 'apply', good]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('not applied: not confirmed (answer yes, or pass -y)');
      expect(programs()).toEqual([]);
    },
  );

  it(
    'a failing health check in the last wave stops the rollout and reverts everything it changed',
    { timeout: 300_000 },
    async () => {
      const r = await cx(['deploy', 'apply', bad, '-y', '--json']);
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report.status).toBe('reverted');
      expect(
        report.services.map((s: { name: string }) => s.name),
        JSON.stringify(report.services, null, 1) + host.ctl('tail', 'store', 'stderr'),
      ).toEqual(['store', 'api', 'web']);
      expect(
        report.services.map((s: { name: string; wave: number; gate: { ok: boolean } }) => [s.name, s.wave, s.gate.ok]),
      ).toEqual([
        ['store', 1, true],
        ['api', 2, true],
        ['web', 3, false],
      ]);
      expect(report.services[2].gate.reason).toMatch(
        new RegExp(
          `^unhealthy: 3 failed probes in a row \\(retries 3\\); last: GET http://${host.net.replace(/\./g, '\\.')}\\.13:8080/health: (HTTP 503|ECONNREFUSED)$`,
        ),
      );
      expect(report.reverted.map((x: { name: string; ok: boolean }) => [x.name, x.ok])).toEqual([
        ['web', true],
        ['api', true],
        ['store', true],
      ]);
      expect(report.message).toContain('every change of this run was reverted');
      expect(programs()).toEqual([]);
      expect(existsSync(join(host.root, 'etc/supervisor/conf.d/cx-deploy-api.conf'))).toBe(false);
      // The journal says what happened, in order.
      const runs = join(host.root, 'var/lib/cx/plugin-state/deploy/runs');
      const events = readFileSync(
        join(runs, `${bad.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '')}.jsonl`),
        'utf8',
      )
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.map((e: { ev: string; service?: string }) => `${e.ev}${e.service ? ` ${e.service}` : ''}`)).toEqual(
        [
          'begin',
          'deploying store',
          'deployed store',
          'healthy store',
          'deploying api',
          'deployed api',
          'healthy api',
          'deploying web',
          'deployed web',
          'unhealthy web',
          'reverted web',
          'reverted api',
          'reverted store',
          'end',
        ],
      );
    },
  );

  it(
    'auto_revert off: a failed gate reverts its wave (and later ones); earlier waves stay until deploy rollback',
    { timeout: 300_000 },
    async () => {
      const f = join(host.root, 'no-revert.yaml');
      writeFileSync(f, manifest(true, false));
      const r = await cx(['deploy', 'apply', f, '-y', '--json']);
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ status: 'failed', reverted: [{ name: 'web', ok: true }] });
      expect(report.message).toMatch(
        /^web: unhealthy: .*; wave 3 and later were reverted; earlier waves stay \(auto_revert is off; deploy rollback reverts them\)$/,
      );
      expect(programs()).toEqual(['api RUNNING', 'store RUNNING']);
      const rb = await cx(['deploy', 'rollback', f, '-y', '--json']);
      expect(JSON.parse(rb.stdout)).toMatchObject({
        status: 'rolled-back',
        reverted: [
          { name: 'api', ok: true },
          { name: 'store', ok: true },
        ],
      });
      expect(programs()).toEqual([]);
    },
  );

  it(
    'a healthy manifest rolls out wave by wave; status reports each service; rollback reverts in reverse order',
    { timeout: 300_000 },
    async () => {
      const r = await cx(['deploy', 'apply', good, '-y']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('DEPLOYED: deployed 3 services, all healthy');
      expect(programs(), `${r.stdout}\n${host.ctl('tail', 'store', 'stderr')}`).toEqual([
        'api RUNNING',
        'store RUNNING',
        'web RUNNING',
      ]);
      // Each server listens on its own manifest IP.
      const body = await (await fetch(`http://${host.net}.12:8080/health`)).text();
      expect(body).toBe('ok api');
      const conf = readFileSync(join(host.root, 'etc/supervisor/conf.d/cx-deploy-store.conf'), 'utf8');
      expect(conf).toContain(`command=/bin/sh ${host.root}/var/lib/cx/plugin-state/deploy/programs/store.sh`);
      expect(conf).toContain(
        `environment=CX_DEPLOY_SERVICE="store",CX_DEPLOY_IP="${host.net}.11",CX_DEPLOY_HOSTNAME="store.test",PORT="7001"`,
      );

      const status = await cx(['deploy', 'status', good, '--json']);
      expect(status.code, status.stderr).toBe(0);
      const s = JSON.parse(status.stdout);
      expect(s.status).toBe('healthy');
      expect(
        s.services.map((x: { name: string; health: { state: string }; driver_state: { state: string } }) => [
          x.name,
          x.health.state,
          x.driver_state.state,
        ]),
      ).toEqual([
        ['store', 'healthy', 'running'],
        ['api', 'healthy', 'running'],
        ['web', 'healthy', 'running'],
      ]);

      // Applying again changes nothing and is still healthy.
      const again = await cx(['deploy', 'apply', good, '-y', '--json']);
      expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
      expect(JSON.parse(again.stdout).services.map((x: { deploy: { changed: boolean } }) => x.deploy.changed)).toEqual([
        false,
        false,
        false,
      ]);

      // Not confirmed (no terminal, no -y): nothing is reverted; --json says so as JSON.
      const asked = await cx(['deploy', 'rollback', good, 'api', '--json']);
      expect(asked.code).toBe(1);
      expect(JSON.parse(asked.stdout)).toMatchObject({
        file: good,
        status: 'declined',
        reverted: [],
        message: 'not rolled back: not confirmed (answer yes, or pass -y)',
      });
      expect(programs()).toEqual(['api RUNNING', 'store RUNNING', 'web RUNNING']);

      const rb = await cx(['deploy', 'rollback', good, 'api', '-y']);
      expect(rb.code, rb.stderr).toBe(0);
      expect(rb.stdout).toMatch(/revert web: ok[^\n]*\n {2}revert api: ok/);
      expect(programs()).toEqual(['store RUNNING']);
      const rest = await cx(['deploy', 'rollback', good, '-y', '--json']);
      expect(JSON.parse(rest.stdout)).toMatchObject({ status: 'rolled-back', reverted: [{ name: 'store', ok: true }] });
      expect(programs()).toEqual([]);
      const none = await cx(['deploy', 'rollback', good, '--json']);
      expect(JSON.parse(none.stdout)).toMatchObject({ status: 'nothing' });
    },
  );

  it('a run killed midway is resumed by apply, or reverted by rollback', { timeout: 300_000 }, async () => {
    const f = join(host.root, 'killed.yaml');
    const journalFile = join(
      host.root,
      'var/lib/cx/plugin-state/deploy/runs',
      `${f.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '')}.jsonl`,
    );
    const killDuringWeb = async () => {
      // web fails its check (in its start period or soon after): the run is killed once web is deployed.
      writeFileSync(f, manifest(true));
      const child = execa(
        process.execPath,
        ['--no-node-snapshot', LAUNCHER, '--root', host.root, 'deploy', 'apply', f, '-y'],
        {
          reject: false,
          input: '',
          env: { PATH: process.env.PATH!, HOME: join(host.root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
          extendEnv: false,
        },
      );
      const webDeployed = () =>
        existsSync(journalFile)
          ? (readFileSync(journalFile, 'utf8').match(/"ev":"deployed","run":"[^"]+","service":"web"/g)?.length ?? 0)
          : 0;
      const before = webDeployed();
      for (let i = 0; i < 1200 && webDeployed() === before; i++) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGKILL');
      await child;
    };
    await killDuringWeb();
    expect(programs()).toEqual(['api RUNNING', 'store RUNNING', 'web RUNNING']);
    // Resume: web is fixed in the manifest; store and api were healthy in the killed run.
    writeFileSync(f, manifest(false));
    const resumed = await cx(['deploy', 'apply', f, '-y', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const report = JSON.parse(resumed.stdout);
    expect(report).toMatchObject({ status: 'deployed', resumed: true });
    expect(
      report.services.map((s: { name: string; skipped?: string; gate: { ok: boolean } | null }) => [
        s.name,
        s.skipped ?? s.gate?.ok,
      ]),
    ).toEqual([
      ['store', 'deployed and healthy in the run being resumed'],
      ['api', 'deployed and healthy in the run being resumed'],
      ['web', true],
    ]);
    // That run (begun before the kill) is what rollback reverts: all three, newest first.
    const rb = await cx(['deploy', 'rollback', f, '-y', '--json']);
    expect(JSON.parse(rb.stdout)).toMatchObject({
      status: 'rolled-back',
      reverted: [
        { name: 'web', ok: true },
        { name: 'api', ok: true },
        { name: 'store', ok: true },
      ],
    });
    expect(programs()).toEqual([]);

    // Killed again; this time rolled back instead of resumed.
    await killDuringWeb();
    expect(programs()).toEqual(['api RUNNING', 'store RUNNING', 'web RUNNING']);
    const rb2 = await cx(['deploy', 'rollback', f, '-y']);
    expect(rb2.code, rb2.stderr).toBe(0);
    expect(rb2.stdout).toMatch(/ {2}revert web: ok.*\n {2}revert api: ok.*\n {2}revert store: ok/);
    expect(programs()).toEqual([]);
  });

  it('a driver that is not available here is refused before anything starts', { timeout: 300_000 }, async () => {
    const f = join(host.root, 'systemd.yaml');
    writeFileSync(
      f,
      `services:\n  a:\n    enable: true\n    ip: ${host.net}.21\n    hostname: a.test\n    driver: { type: systemd, command: /bin/sleep 60 }\n  b:\n    enable: true\n    ip: ${host.net}.22\n    hostname: b.test\n    driver: { type: supervisord, command: /bin/sleep 60 }\n`,
    );
    const r = await cx(['deploy', 'apply', f, '-y']);
    expect(r.code).toBe(5);
    expect(r.stderr).toBe(
      `error[CX_ERR_DEPLOY_DRIVER_UNAVAILABLE]: a uses driver 'systemd', which is not available here: systemd is not running here (${host.root}/run/systemd/system does not exist: a container or CI?); nothing to do.\nNothing was started. Use another driver for it in ${f}, or run on a host where systemd runs.`,
    );
    expect(programs()).toEqual([]);
    const j = await cx(['deploy', 'apply', f, '-y', '--json']);
    expect(j.code).toBe(5);
    expect(JSON.parse(j.stdout).error).toMatchObject({
      code: 'CX_ERR_DEPLOY_DRIVER_UNAVAILABLE',
      plugin: 'deploy',
      message: expect.stringContaining("a uses driver 'systemd', which is not available here"),
    });
    expect(programs()).toEqual([]);
  });
});
