// The repair and update commands end to end: the real cx-ops launcher, the real kernel, the
// built-in plugins, real dpkg/apt in a throwaway root.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAptWorld, type AptWorld } from '../../helpers/apt-root.js';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';

const LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops.js', import.meta.url));
let world: AptWorld;

/** cx-ops as the hints of these runs name it: with every directory option cx() gives. */
const prefix = () =>
  `cx-ops --root ${world.root} --config-dir ${join(world.root, 'etc/cx')} --data-dir ${join(world.root, 'var/lib/cx')} --log-dir ${join(world.root, 'var/log/cx')} --cache-dir ${join(world.root, 'var/cache/cx')}`;

async function cx(args: string[]) {
  const r = await execa(
    process.execPath,
    [
      '--no-node-snapshot',
      LAUNCHER,
      '--root',
      world.root,
      '--config-dir',
      join(world.root, 'etc/cx'),
      '--data-dir',
      join(world.root, 'var/lib/cx'),
      '--log-dir',
      join(world.root, 'var/log/cx'),
      '--cache-dir',
      join(world.root, 'var/cache/cx'),
      ...args,
    ],
    {
      reject: false,
      input: '',
      env: { PATH: process.env.PATH!, HOME: join(world.base, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
      extendEnv: false,
      timeout: 120_000,
    },
  );
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  world = createAptWorld();
  mkdirSync(join(world.root, 'etc/cx'), { recursive: true });
  writeFileSync(
    join(world.root, 'etc/cx/config.yaml'),
    'updates:\n  check_interval_hours: 1\n  backup_before_update: true\n',
  );
  world.aptGet(['install', '-y', '-q', 'cx-demo=1.0']);
  world.dpkg(['--unpack', world.debs.tool1!]);
});
afterAll(() => rmSync(world.base, { recursive: true, force: true }));

describe('cx-ops repair/update commands on a temp root', () => {
  it('repair apt --dry-run plans, repair apt repairs the interrupted dpkg run', async () => {
    const dry = await cx(['repair', 'apt', '--dry-run']);
    expect(dry.stdout).toContain('interrupted dpkg run: cx-tool (unpacked)');
    expect(dry.stdout).toContain('PLANNED: dry run');
    expect(dry.code).toBe(1); // problems found, like apt-get check
    expect(world.statuses()['cx-tool']).toBe('install ok unpacked');
    const real = await cx(['repair', 'apt', '--json', '-y']);
    expect(real.code, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ status: 'repaired', audit: '' });
    assertMatchesSchema('repair-apt-report', JSON.parse(real.stdout));
    expect(world.statuses()['cx-tool']).toBe('install ok installed');
  });

  it('update check, apply --security -y with a snapshot, rollback to it', async () => {
    const check = await cx(['update', 'check', '--json']);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ total: 2, security: 1, cached: false });
    assertMatchesSchema('update-check', JSON.parse(check.stdout));
    const box = await cx(['update', 'check']);
    expect(box.stdout).toContain('Package lists: as apt has them');
    expect(box.stdout).toContain('2 package update(s) available\n1 security update(s)');

    // --dev: what it says it would run is what it counts as recorded (one count, the true one).
    const dev = await cx(['--dev', 'update', 'apply', '--packages', '--security', '-y']);
    expect(dev.code, dev.stderr).toBe(0);
    const wouldRun = dev.stdout.split('\n').filter((l) => l.includes('would run: '));
    expect(wouldRun).toHaveLength(1);
    expect(wouldRun[0]).toContain('apt-get');
    expect(wouldRun[0]).toContain('install -y -q --only-upgrade cx-demo=2.0');
    const recorded = dev.stderr.match(/development mode: (\d+) side-effecting calls? recorded/);
    expect(recorded, dev.stderr).not.toBeNull();
    expect(dev.stderr).toMatch(/exec: apt-get .*install -y -q --only-upgrade cx-demo=2\.0/);
    expect(world.installed()['cx-demo']).toBe('1.0');

    const apply = await cx(['update', 'apply', '--packages', '--security', '-y', '--json']);
    expect(apply.code, apply.stderr).toBe(0);
    const report = JSON.parse(apply.stdout);
    assertMatchesSchema('update-apply-report', report);
    expect(report).toMatchObject({
      status: 'applied',
      results: [{ updater: 'apt', applied: [{ name: 'cx-demo', from: '1.0', to: '2.0' }] }],
    });
    expect(world.installed()).toMatchObject({ 'cx-demo': '2.0', 'cx-tool': '1.0' });

    writeFileSync(join(world.root, 'etc/cx/config.yaml'), 'updates:\n  check_interval_hours: 99\n');
    const list = await cx(['update', 'rollback', '--list']);
    expect(list.stdout).toMatch(new RegExp(`^ID +CREATED +FILES +PACKAGES +REASON\\n${report.snapshot} `));
    // A dry run changes neither files nor packages (the package step is another plugin's contribution).
    const dry = await cx(['update', 'rollback', report.snapshot, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would put back 1: cx-demo 1.0');
    expect(dry.stdout).toContain('PLANNED: dry run: nothing was changed');
    expect(world.installed()['cx-demo']).toBe('2.0');
    expect(readFileSync(join(world.root, 'etc/cx/config.yaml'), 'utf8')).toBe('updates:\n  check_interval_hours: 99\n');
    const back = await cx(['update', 'rollback', report.snapshot, '-y']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('put back 1: cx-demo 1.0');
    expect(readFileSync(join(world.root, 'etc/cx/config.yaml'), 'utf8')).toBe(
      'updates:\n  check_interval_hours: 1\n  backup_before_update: true\n',
    );
    expect(world.installed()['cx-demo']).toBe('1.0');
  });

  it('bad input: unknown snapshot id, unknown user — a clear message, exit 2, no stack trace', async () => {
    const id = await cx(['update', 'rollback', '20990101-000000', '-y']);
    expect(id.code).toBe(2);
    expect(id.stderr).toMatch(
      /^error\[CX_ERR_USAGE\]: update rollback: unknown snapshot '20990101-000000'\. Valid snapshots: \d{8}-\d{6}/,
    );
    const user = await cx(['repair', 'permissions', '--user', 'nosuch']);
    expect(user.code).toBe(2);
    expect(user.stderr).toContain("error[CX_ERR_USAGE]: repair permissions: no user 'nosuch' in");
    const undo = await cx(['repair', 'permissions', '--undo', 'nosuchid', '-y']);
    expect(undo.code).toBe(2);
    expect(undo.stderr).toMatch(
      /^error\[CX_ERR_USAGE\]: repair permissions --undo: 'nosuchid' is not the id of an undoable permissions change\. There are none/,
    );
    const wait = await cx(['repair', 'apt', '--lock-wait', 'abc']);
    expect(wait).toMatchObject({
      code: 2,
      stderr: `error[CX_ERR_USAGE]: repair apt: --lock-wait takes a number of seconds >= 0 (found: "abc").\nTry: ${prefix()} repair apt --lock-wait 60`,
    });
    const both = await cx(['update', 'apply', '--packages', '--system', '--dry-run']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(
      /^error\[CX_ERR_USAGE\]: update apply: --packages and --system contradict each other: /,
    );
    const none = await cx(['update', 'apply']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error\[CX_ERR_USAGE\]: update apply: say what to update/);
    const only = await cx(['update', 'apply', '--packages', '--only', 'nosuchpkg', '--dry-run']);
    expect(only).toMatchObject({ code: 2, stdout: '' });
    expect(only.stderr).toMatch(
      /^error\[CX_ERR_USAGE\]: update apply --only: 'nosuchpkg' is not an installed package; nothing was changed\./,
    );
    expect(`${id.stderr}${user.stderr}${undo.stderr}${both.stderr}${only.stderr}`).not.toMatch(/\n\s+at /);
  });
});
