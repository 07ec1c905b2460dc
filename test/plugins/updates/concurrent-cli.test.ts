// Two cx-ops processes at once, and a rollback killed midway — with the real launcher and real
// dpkg. cx-slow's postinst waits while <root>/tmp/cx-hold exists, which keeps the first run busy
// inside dpkg for as long as the test wants.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAptWorld, type AptWorld } from '../../helpers/apt-root.js';

const LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops.js', import.meta.url));
let world: AptWorld;
const hold = () => join(world.root, 'tmp/cx-hold');

/** cx-ops as the hints of these runs name it: with every directory option cx() gives. */
const prefix = () =>
  `cx-ops --root ${world.root} --config-dir ${join(world.root, 'etc/cx')} --data-dir ${join(world.root, 'var/lib/cx')} --log-dir ${join(world.root, 'var/log/cx')} --cache-dir ${join(world.root, 'var/cache/cx')}`;

function cx(args: string[]): ResultPromise {
  return execa(
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
}

async function until(what: string, test: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether some process holds the dpkg lock of the world's root. */
const dpkgBusy = () =>
  spawnSync('lslocks', ['-n', '-o', 'PATH'], { encoding: 'utf8' }).stdout.includes(
    join(world.root, 'var/lib/dpkg/lock'),
  );

beforeAll(() => {
  world = createAptWorld();
  mkdirSync(join(world.root, 'etc/cx'), { recursive: true });
  writeFileSync(join(world.root, 'etc/cx/config.yaml'), 'updates:\n  backup_before_update: true\n');
  world.aptGet(['install', '-y', '-q', 'cx-demo=1.0', 'cx-slow=1.0']);
});
afterAll(() => {
  rmSync(hold(), { force: true });
  rmSync(world.base, { recursive: true, force: true });
});

describe('one update run at a time; an interrupted rollback is finished by the next', () => {
  let snapshot = '';

  it('while one apply is busy in dpkg, a second apply and a rollback refuse, naming its pid', async () => {
    writeFileSync(hold(), '');
    const first = cx(['update', 'apply', '--packages', '--only', 'cx-slow', '-y', '--json']);
    await until(
      'the first apply to be inside dpkg',
      () => world.statuses()['cx-slow']?.endsWith('half-configured') === true,
    );
    const second = await cx(['update', 'apply', '--packages', '-y']);
    expect(second.exitCode).toBe(5);
    expect(second.stderr).toContain(`(pid ${first.pid}, ${prefix()} update apply --packages)`);
    const rollback = await cx(['update', 'rollback', '-y']);
    expect(rollback.exitCode).toBe(5);
    expect(rollback.stderr).toContain(`pid ${first.pid}`);
    rmSync(hold());
    const done = await first;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    const report = JSON.parse(String(done.stdout));
    expect(report.results[0].applied).toEqual([{ name: 'cx-slow', from: '1.0', to: '1.1' }]);
    snapshot = report.snapshot;
    expect(world.installed()).toMatchObject({ 'cx-slow': '1.1', 'cx-demo': '1.0' });
  });

  it('a rollback killed while it reinstalls packages is finished by running it again', async () => {
    writeFileSync(join(world.root, 'etc/cx/config.yaml'), 'updates:\n  check_interval_hours: 2\n');
    writeFileSync(hold(), '');
    const killed = cx(['update', 'rollback', snapshot, '-y']);
    let exited = false;
    void killed.then(() => {
      exited = true;
    });
    await until(
      'the rollback to be inside dpkg',
      () => exited || world.statuses()['cx-slow']?.endsWith('half-configured') === true,
    );
    expect(exited ? `rollback ended early: ${String((await killed).stdout)}${String((await killed).stderr)}` : '').toBe(
      '',
    );
    // Files were restored and journaled before the package step began.
    expect(readFileSync(join(world.root, 'etc/cx/config.yaml'), 'utf8')).toBe(
      'updates:\n  backup_before_update: true\n',
    );
    killed.kill('SIGKILL');
    expect((await killed).signal).toBe('SIGKILL');
    const journal = JSON.parse(
      readFileSync(join(world.root, 'var/lib/cx/plugin-state/updates/rollback-journal.json'), 'utf8'),
    );
    expect(journal).toMatchObject({ id: snapshot, done: ['config', 'data'] });
    // apt and dpkg, children of the killed run, are killed with it (no orphans), leaving dpkg
    // interrupted: the next rollback finishes it (dpkg --configure -a) before it goes on.
    rmSync(hold());
    await until('dpkg to finish', () => !dpkgBusy());

    const again = await cx(['update', 'rollback', '-y']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(String(again.stdout)).toContain(`Rollback to ${snapshot} (finishing an interrupted rollback)`);
    expect(String(again.stdout)).toContain('OK: rollback complete');
    expect(world.installed()['cx-slow']).toBe('1.0');
    expect(world.statuses()['cx-slow']).toBe('install ok installed');
  });
});
