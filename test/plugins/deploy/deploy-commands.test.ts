// The deploy commands as a user meets them, through the real launcher with the command driver
// (marker files show what ran): --json on every command, errors included, in the kernel's one
// error shape; the plan shown and the question asked on a real terminal (a pty from util-linux
// `script`); the lock that keeps a second apply out while one runs; rollback --dry-run; a driver
// this host lacks; max_parallel; --help.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';

const LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops.js', import.meta.url));
let root: string;
const env = () => ({ PATH: process.env.PATH!, HOME: join(root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' });
const argv = (args: string[]) => ['--no-node-snapshot', LAUNCHER, '--root', root, ...args];

async function cx(args: string[]) {
  const r = await execa(process.execPath, argv(args), {
    reject: false,
    input: '',
    env: env(),
    extendEnv: false,
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs cx-ops on a pty (util-linux script), typing `answer` at its question. */
async function onTerminal(args: string[], answer: string) {
  const line = argv(args)
    .map((a) => `'${a}'`)
    .join(' ');
  const r = await execa('script', ['-qec', `'${process.execPath}' ${line}`, '/dev/null'], {
    input: `${answer}\n`,
    reject: false,
    env: env(),
    extendEnv: false,
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout };
}

/** A manifest of command-driver services: `start` leaves <root>/<marker>.started (after `delay` seconds). */
function manifest(name: string, marker: string, delay = 0): string {
  const f = join(root, `${name}.yaml`);
  writeFileSync(
    f,
    [
      'services:',
      '  one:',
      '    enable: true',
      '    ip: 127.0.0.21',
      '    hostname: one.test',
      '    health_check: "true"',
      `    driver: { type: command, start: "sleep ${delay}; touch ${root}/${marker}.started", stop: "rm -f ${root}/${marker}.started" }`,
      '',
    ].join('\n'),
  );
  return f;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cx-deploy-commands-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('deploy commands: --json, the terminal, the lock', { timeout: 300_000 }, () => {
  it('--json on every command prints one JSON document, errors in the kernel shape (exit, docs) with every problem', async () => {
    const good = manifest('json-good', 'json');
    const bad = join(root, 'json-bad.yaml');
    writeFileSync(
      bad,
      'services:\n  a:\n    enable: true\n    ip: 127.0.0.30\n    hostname: a.test\n    depends_on: [ghost]\n',
    );
    const problem = {
      file: bad,
      line: 6,
      column: 18,
      field: 'services.a.depends_on.0',
      message: 'Error: Missing service dependencies: ghost',
      detail: 'needed by a. Define services.ghost, or remove it from depends_on.',
    };
    for (const cmd of ['plan', 'apply', 'rollback', 'status']) {
      const r = await cx(['deploy', cmd, bad, '--json', '-y']);
      expect({ cmd, code: r.code, out: JSON.parse(r.stdout) }).toEqual({
        cmd,
        code: 2,
        out: {
          error: {
            code: 'CX_ERR_DEPLOY_MANIFEST_INVALID',
            message: expect.stringContaining(`${bad}:6:18: Error: Missing service dependencies: ghost`),
            exit: 2,
            plugin: 'deploy',
            docs: 'docs/errors.md#cx_err_deploy_manifest_invalid',
            problems: [problem],
          },
        },
      });
    }
    const deps = await cx(['deploy', 'deps', bad, 'a', '--json']);
    expect(deps.code).toBe(2);
    expect(JSON.parse(deps.stdout).error).toMatchObject({ code: 'CX_ERR_DEPLOY_MANIFEST_INVALID', exit: 2 });
    const v = await cx(['deploy', 'validate', bad, '--json']);
    expect(v.code).toBe(2);
    expect(JSON.parse(v.stdout)).toEqual({ file: bad, valid: false, services: 1, problems: [problem] });

    // A usage error of the plugin's own (an unknown service) in the same shape, with the fix.
    const unknown = await cx(['deploy', 'deps', good, 'onw', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toEqual({
      error: {
        code: 'CX_ERR_USAGE',
        message: expect.stringContaining(`${good} has no service 'onw'. Did you mean: one?`),
        exit: 2,
        plugin: 'deploy',
        // The hint runs on the same --root.
        hint: `cx-ops --root ${root} deploy plan ${good}`,
        docs: 'docs/errors.md#cx_err_usage',
      },
    });
    const missing = await cx(['deploy', 'status', join(root, 'nope.yaml'), '--json']);
    expect(missing.code).toBe(JSON.parse(missing.stdout).error.exit);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'CX_ERR_IO', docs: 'docs/errors.md#cx_err_io' });

    // And the successful runs: each one JSON document.
    expect(JSON.parse((await cx(['deploy', 'plan', good, '--json'])).stdout).waves[0].services[0].name).toBe('one');
    expect(JSON.parse((await cx(['deploy', 'deps', good, 'one', '--json'])).stdout)).toEqual({
      service: 'one',
      dependencies: [],
    });
    const dry = await cx(['deploy', 'apply', good, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ status: 'planned', dry_run: true });
    expect(existsSync(join(root, 'json.started'))).toBe(false);
    const status = await cx(['deploy', 'status', good, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'healthy', services: [{ name: 'one' }] });
    const rb = await cx(['deploy', 'rollback', good, '--json']);
    expect(JSON.parse(rb.stdout)).toMatchObject({ status: 'nothing', reverted: [] });
  });

  it('every --json output matches its schema (schemas/deploy-<command>.schema.json): real runs, each outcome', async () => {
    const good = manifest('schema-good', 'schema');
    const bad = join(root, 'schema-bad.yaml');
    writeFileSync(
      bad,
      'services:\n  a:\n    enable: true\n    ip: 127.0.0.31\n    hostname: a.test\n    depends_on: [b]\n',
    );
    const out = async (args: string[]) => JSON.parse((await cx([...args, '--json'])).stdout) as unknown;
    const matches: Array<[string, string[]]> = [
      ['deploy-validate', ['deploy', 'validate', good]],
      ['deploy-validate', ['deploy', 'validate', bad]],
      ['deploy-plan', ['deploy', 'plan', good]],
      ['deploy-deps', ['deploy', 'deps', good, 'one']],
      ['deploy-deps', ['deploy', 'deps', good, 'one', '--reverse']],
      ['deploy-apply', ['deploy', 'apply', good, '--dry-run']],
      ['deploy-apply', ['deploy', 'apply', good]], // not confirmed: declined
      ['deploy-rollback', ['deploy', 'rollback', good]], // nothing to roll back
      ['deploy-apply', ['deploy', 'apply', good, '-y']], // deployed, its gate passed
      ['deploy-status', ['deploy', 'status', good]],
      ['deploy-status', ['deploy', 'status', good, '--count', '1']],
      ['deploy-rollback', ['deploy', 'rollback', good, '--dry-run']],
      ['deploy-rollback', ['deploy', 'rollback', good]], // not confirmed: declined
      ['deploy-rollback', ['deploy', 'rollback', good, '-y']], // rolled back
    ];
    const statuses: unknown[] = [];
    for (const [schema, args] of matches) {
      const o = await out(args);
      statuses.push((o as { status?: unknown; valid?: unknown }).status ?? (o as { valid?: unknown }).valid ?? null);
      expect(() => assertMatchesSchema(schema, o), args.join(' ')).not.toThrow();
    }
    // Each outcome was met (so each branch of the schemas was checked against a real document).
    expect(statuses).toEqual([
      true,
      false,
      null,
      null,
      null,
      'planned',
      'declined',
      'nothing',
      'deployed',
      'healthy',
      'healthy',
      'planned',
      'declined',
      'rolled-back',
    ]);
    // The schemas are strict: a field the command does not print is refused.
    const plan = (await out(['deploy', 'plan', good])) as Record<string, unknown>;
    expect(() => assertMatchesSchema('deploy-plan', { ...plan, extra: 1 })).toThrow(/additionalProperties/);
  });

  it('apply on a terminal shows the plan and asks: no changes nothing, yes deploys', async () => {
    const f = manifest('tty', 'tty');
    const no = await onTerminal(['deploy', 'apply', f], 'n');
    expect(no.code).toBe(1);
    expect(no.stdout).toMatch(
      /Wave 1 \(1 service\):\r?\n {2}one {2}127\.0\.0\.21 {2}one\.test {2}\[command\] - no dependencies\r?\n[^]*Deploy 1 service from .*tty\.yaml\? \[y\/N\]/,
    );
    expect(no.stdout).toContain('not applied: not confirmed (answer yes, or pass -y)');
    expect(existsSync(join(root, 'tty.started'))).toBe(false);

    const yes = await onTerminal(['deploy', 'apply', f], 'y');
    expect(yes.code, yes.stdout).toBe(0);
    expect(yes.stdout).toContain('Deploy 1 service from');
    expect(yes.stdout).toContain('DEPLOYED: deployed 1 service, all healthy');
    expect(existsSync(join(root, 'tty.started'))).toBe(true);
  });

  it('a second apply while one runs is refused with the holder named (exit 5, text and --json) and starts nothing', async () => {
    const slow = manifest('slow', 'slow', 20);
    const other = manifest('other', 'other');
    const first = execa(process.execPath, argv(['deploy', 'apply', slow, '-y']), {
      reject: false,
      input: '',
      env: env(),
      extendEnv: false,
      timeout: 120_000,
    });
    const lock = join(root, 'var/lib/cx/locks/deploy.lock');
    for (let i = 0; i < 600 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(lock), 'the first apply holds the lock').toBe(true);

    const [text, json] = await Promise.all([
      cx(['deploy', 'apply', other, '-y']),
      cx(['deploy', 'apply', other, '-y', '--json']),
    ]);
    expect(existsSync(join(root, 'slow.started')), 'the first apply was still running').toBe(false);
    const done = await first;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(text.code).toBe(5);
    expect(text.stderr.replace(/pid \d+/, 'pid N')).toBe(
      `error[CX_ERR_STATE_LOCKED]: lock 'deploy' is locked by another cx-ops run (pid N, cx-ops --root ${root} deploy apply ${slow}).\nWait for it to finish, then run the command again.`,
    );
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: {
        code: 'CX_ERR_STATE_LOCKED',
        message: expect.stringContaining("lock 'deploy' is locked by another cx-ops run"),
        exit: 5,
        docs: 'docs/errors.md#cx_err_state_locked',
      },
    });
    expect(existsSync(join(root, 'other.started'))).toBe(false);
    expect(existsSync(join(root, 'slow.started'))).toBe(true);
    expect(existsSync(lock)).toBe(false);
    // Free again: the other manifest deploys now; rollback --dry-run says what it would revert
    // and changes nothing; rollback reverts.
    expect((await cx(['deploy', 'apply', other, '-y'])).code).toBe(0);
    expect(existsSync(join(root, 'other.started'))).toBe(true);
    const dry = await cx(['deploy', 'rollback', other, '--dry-run']);
    expect([dry.code, dry.stdout]).toEqual([0, 'would revert one (command)\ndry run: would revert one']);
    expect(existsSync(join(root, 'other.started'))).toBe(true);
    const rb = await cx(['deploy', 'rollback', other, '-y']);
    expect([rb.code, rb.stdout]).toEqual([0, '  revert one: ok - stop: exit 0\nreverted one']);
    expect(existsSync(join(root, 'other.started'))).toBe(false);
  });

  it('a driver this host lacks: refused before anything starts (also dry-run), with the reason, text and --json', async () => {
    const f = join(root, 'mixed.yaml');
    writeFileSync(
      f,
      [
        'services:',
        '  first:',
        '    enable: true',
        '    ip: 127.0.0.51',
        '    hostname: first.test',
        `    driver: { type: command, start: "touch ${root}/mixed.started" }`,
        '  unit:',
        '    enable: true',
        '    ip: 127.0.0.52',
        '    hostname: unit.test',
        '    depends_on: [first]',
        '    driver: { type: systemd, command: /bin/sleep 60 }',
        '',
      ].join('\n'),
    );
    const noSystemd = `systemd is not running here (${root}/run/systemd/system does not exist: a container or CI?); nothing to do`;
    const message = (reason: string) =>
      `unit uses driver 'systemd', which is not available here: ${reason}.\nNothing was started. Use another driver for it in ${f}, or run on a host where systemd runs.`;
    const text = await cx(['deploy', 'apply', f, '-y']);
    expect({ code: text.code, stderr: text.stderr, stdout: text.stdout }).toEqual({
      code: 5,
      stderr: `error[CX_ERR_DEPLOY_DRIVER_UNAVAILABLE]: ${message(noSystemd)}`,
      stdout: '',
    });
    const dry = await cx(['deploy', 'apply', f, '--dry-run']);
    expect(dry.code).toBe(5);
    expect(dry.stderr).toContain('Nothing was started.');
    const json = await cx(['deploy', 'apply', f, '-y', '--json']);
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'CX_ERR_DEPLOY_DRIVER_UNAVAILABLE',
        message: message(noSystemd),
        exit: 5,
        plugin: 'deploy',
        docs: 'docs/errors.md#cx_err_deploy_driver_unavailable',
      },
    });
    // systemd "running" under --root is still not this host's systemd.
    mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    const rooted = await cx(['deploy', 'apply', f, '-y']);
    expect(rooted.code).toBe(5);
    expect(rooted.stderr).toBe(
      `error[CX_ERR_DEPLOY_DRIVER_UNAVAILABLE]: ${message(`systemd services are managed on the live host only (--root is ${root})`)}`,
    );
    rmSync(join(root, 'run'), { recursive: true, force: true });
    // Nothing started, no unit written, no run journaled.
    expect(existsSync(join(root, 'mixed.started'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/unit.service'))).toBe(false);
    const runs = join(root, 'var/lib/cx/plugin-state/deploy/runs');
    expect(existsSync(runs) ? readdirSync(runs).filter((n) => n.includes('mixed')) : []).toEqual([]);
  });

  it('services of one wave run concurrently, never more than max_parallel at once', async () => {
    const log = join(root, 'parallel.log');
    const service = (n: number) => [
      `  p${n}:`,
      '    enable: true',
      `    ip: 127.0.0.6${n}`,
      `    hostname: p${n}.test`,
      `    driver: { type: command, start: "echo + $(date +%s%N) >> ${log}; sleep 1.5; echo - $(date +%s%N) >> ${log}" }`,
    ];
    const f = join(root, 'parallel.yaml');
    writeFileSync(f, ['update: { max_parallel: 2 }', 'services:', ...[1, 2, 3, 4].flatMap(service), ''].join('\n'));
    const r = await cx(['deploy', 'apply', f, '-y']);
    expect(r.code, r.stderr).toBe(0);
    const events = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([sign, ns]) => ({ d: sign === '+' ? 1 : -1, t: BigInt(ns!) }))
      .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.d - b.d));
    let now = 0;
    let most = 0;
    for (const e of events) most = Math.max(most, (now += e.d));
    expect({ starts: events.filter((e) => e.d === 1).length, most }).toEqual({ starts: 4, most: 2 });
  });

  it('--help of each command names its arguments and options, and exits 0', async () => {
    const wanted: Record<string, string[]> = {
      validate: ['<file>', '--json'],
      plan: ['<file>', '--format <format>', '--json'],
      deps: ['<file> <service>', '--reverse', '--json'],
      apply: ['<file>', '--only <service...>', '--dry-run', '--json', '-y, --yes', 'Shows the plan and asks first'],
      rollback: ['<file> [service]', '--script', '--dry-run', '--json'],
      status: ['<file> [service]', '--watch', '--interval <seconds>', '--count <rounds>', '--script', '--json'],
    };
    const top = await cx(['deploy', '--help']);
    expect(top.code).toBe(0);
    for (const [cmd, parts] of Object.entries(wanted)) {
      expect(top.stdout).toContain(`  ${cmd} [options] <file>`);
      const r = await cx(['deploy', cmd, '--help']);
      expect({ cmd, code: r.code, usage: r.stdout.split('\n')[0] }).toEqual({
        cmd,
        code: 0,
        usage: `Usage: cx-ops deploy ${cmd} [options] ${parts[0]}`,
      });
      for (const part of parts.slice(1)) expect(r.stdout, `${cmd} --help`).toContain(part);
    }
  });
});
