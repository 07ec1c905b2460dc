// depends_on conditions enforced by deploy apply, through the real launcher and a real
// supervisord: a dependent waits for service_completed_successfully (a run-once migration that
// must exit 0 first; exit 1 stops the rollout; the command driver's start that runs to its end)
// and only for service_started (the dependency's health check passes only once the dependent
// runs, so waiting for its health would never end).
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
    timeout: 240_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const journalOf = (file: string) =>
  readFileSync(
    join(
      host.root,
      'var/lib/cx/plugin-state/deploy/runs',
      `${file.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '')}.jsonl`,
    ),
    'utf8',
  )
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ev: string; service?: string; reason?: string })
    .map((e) => `${e.ev}${e.service ? ` ${e.service}` : ''}`);

const programs = () =>
  host
    .ctl('status')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/).slice(0, 2).join(' '))
    .sort();

const timing = '{ interval: 0.2s, timeout: 2s, retries: 3, start_period: 60s, start_interval: 0.2s }';

/** migrate runs once (after a pause, so a dependent that did not wait would start first) and exits `code`; api
 * refuses to start without its mark. */
function migration(code: number): string {
  const mark = join(host.root, `migrated-${code}`);
  return `network: { network_cidr: 127.0.0.0/8 }
update: { max_parallel: 2, healthy_deadline: 120s }
services:
  migrate:
    enable: true
    ip: ${host.net}.31
    hostname: migrate.test
    restart_policy: never
    driver: { type: supervisord, command: "/bin/sh -c 'sleep 1; touch ${mark}; exit ${code}'" }
  api:
    enable: true
    ip: ${host.net}.32
    hostname: api.test
    depends_on: { migrate: { condition: service_completed_successfully } }
    ports: [8080]
    environment: { PORT: 8080 }
    health_check: { test: "http://${host.net}.32:8080/health", ${timing.slice(2)}
    restart_policy: never
    driver: { type: supervisord, command: "/bin/sh -c 'test -f ${mark} || exit 3; exec ${host.http}'" }
`;
}

beforeAll(async () => {
  host = await startSupervisorHost();
});
afterAll(() => host?.stop());
// Each test starts with no program; a failed one leaves none to the next.
afterEach(() => host?.reset());

describe('depends_on conditions in deploy apply', { timeout: 300_000 }, () => {
  it('service_completed_successfully: the dependent starts only after the run-once dependency exited 0', async () => {
    const f = join(host.root, 'migrate-ok.yaml');
    writeFileSync(f, migration(0));
    const r = await cx(['deploy', 'apply', f, '-y', '--json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.status).toBe('deployed');
    expect(
      report.services.map((s: { name: string; gate: { ok: boolean; reason: string } }) => [s.name, s.gate.ok]),
    ).toEqual([
      ['migrate', true],
      ['api', true],
    ]);
    expect(report.services[0].gate.reason).toMatch(/^completed successfully \(EXITED .*; exit 0\)$/);
    expect(journalOf(f)).toEqual([
      'begin',
      'deploying migrate',
      'deployed migrate',
      'healthy migrate',
      'deploying api',
      'deployed api',
      'healthy api',
      'end',
    ]);
    expect(programs()).toEqual(['api RUNNING', 'migrate EXITED']);
    const rb = await cx(['deploy', 'rollback', f, '-y', '--json']);
    expect(JSON.parse(rb.stdout)).toMatchObject({
      status: 'rolled-back',
      reverted: [
        { name: 'api', ok: true },
        { name: 'migrate', ok: true },
      ],
    });
    expect(programs()).toEqual([]);
  });

  it('service_completed_successfully: a dependency that exits 1 stops the rollout; the dependent is never started', async () => {
    const f = join(host.root, 'migrate-fails.yaml');
    writeFileSync(f, migration(1));
    const r = await cx(['deploy', 'apply', f, '-y', '--json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ status: 'reverted', reverted: [{ name: 'migrate', ok: true }] });
    expect(report.services[0].gate.reason).toMatch(/^did not complete successfully: exit 1 \(EXITED .*; exit 1\)$/);
    expect(report.services[1]).toEqual({
      name: 'api',
      wave: 2,
      driver: 'supervisord',
      deploy: null,
      gate: null,
      skipped: 'not started: migrate did not complete successfully (api needs it service_completed_successfully)',
    });
    expect(journalOf(f)).toEqual([
      'begin',
      'deploying migrate',
      'deployed migrate',
      'unhealthy migrate',
      'reverted migrate',
      'end',
    ]);
    expect(existsSync(join(host.root, 'etc/supervisor/conf.d/cx-deploy-api.conf'))).toBe(false);
    expect(programs()).toEqual([]);
  });

  it("the command driver: start runs to its end (service_completed_successfully), status and stop are the manifest's", async () => {
    const mark = (n: string) => join(host.root, `cmd-${n}`);
    const step = (n: string) =>
      `{ type: command, start: "touch ${mark(n)}", stop: "rm -f ${mark(n)}", status: "test -f ${mark(n)}" }`;
    const f = join(host.root, 'command.yaml');
    writeFileSync(
      f,
      `network: { network_cidr: 127.0.0.0/8 }
services:
  setup: { enable: true, ip: ${host.net}.61, hostname: setup.test, driver: ${step('setup')} }
  app:
    enable: true
    ip: ${host.net}.62
    hostname: app.test
    depends_on: { setup: { condition: service_completed_successfully } }
    health_check: "test -f ${mark('app')} || exit 2"
    driver: ${step('app')}
`,
    );
    const r = await cx(['deploy', 'apply', f, '-y', '--json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(
      report.services.map((s: { name: string; deploy: { detail: string }; gate: { ok: boolean; reason: string } }) => [
        s.name,
        s.deploy.detail,
        s.gate.ok,
      ]),
    ).toEqual([
      ['setup', 'start: exit 0', true],
      ['app', 'start: exit 0', true],
    ]);
    expect(report.services[0].gate.reason).toBe('completed successfully (start ran to its end with exit 0)');
    expect([existsSync(mark('setup')), existsSync(mark('app'))]).toEqual([true, true]);
    const status = JSON.parse((await cx(['deploy', 'status', f, '--json'])).stdout);
    expect(
      status.services.map((s: { name: string; driver_state: { state: string } }) => [s.name, s.driver_state.state]),
    ).toEqual([
      ['setup', 'running'],
      ['app', 'running'],
    ]);
    const rb = await cx(['deploy', 'rollback', f, '-y', '--json']);
    expect(JSON.parse(rb.stdout)).toMatchObject({
      status: 'rolled-back',
      reverted: [
        { name: 'app', ok: true, detail: 'stop: exit 0' },
        { name: 'setup', ok: true, detail: 'stop: exit 0' },
      ],
    });
    expect([existsSync(mark('setup')), existsSync(mark('app'))]).toEqual([false, false]);
  });

  it('service_started: the dependent starts once its dependency is deployed, before that one is healthy', async () => {
    // db is healthy only once app has run (app writes db's ready mark; exit 1 would be degraded,
    // which counts as up): waiting for db's health before starting app would never end.
    const ready = join(host.root, 'db-ready');
    const f = join(host.root, 'started.yaml');
    writeFileSync(
      f,
      `network: { network_cidr: 127.0.0.0/8 }
update: { max_parallel: 2, healthy_deadline: 120s }
services:
  db:
    enable: true
    ip: ${host.net}.41
    hostname: db.test
    ports: [7001]
    environment: { PORT: 7001 }
    health_check: { test: "test -f ${ready} || exit 2", ${timing.slice(2)}
    restart_policy: never
    driver: { type: supervisord, command: "${host.tcp}" }
  app:
    enable: true
    ip: ${host.net}.42
    hostname: app.test
    depends_on: { db: { condition: service_started } }
    ports: [7001]
    environment: { PORT: 7001 }
    health_check: { test: "tcp:7001", ${timing.slice(2)}
    restart_policy: never
    driver: { type: supervisord, command: "/bin/sh -c 'touch ${ready}; exec ${host.tcp}'" }
`,
    );
    const r = await cx(['deploy', 'apply', f, '-y', '--json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(
      JSON.parse(r.stdout).services.map((s: { name: string; wave: number; gate: { ok: boolean } }) => [
        s.name,
        s.wave,
        s.gate.ok,
      ]),
    ).toEqual([
      ['db', 1, true],
      ['app', 2, true],
    ]);
    const events = journalOf(f);
    expect(events.indexOf('deploying app'), `${events.join(', ')}\n${r.stdout}`).toBeLessThan(
      events.indexOf('healthy db'),
    );
    expect(programs()).toEqual(['app RUNNING', 'db RUNNING']);
    await cx(['deploy', 'rollback', f, '-y']);
    expect(programs()).toEqual([]);
  });
});
