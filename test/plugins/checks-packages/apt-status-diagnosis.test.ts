// apt_status and `repair apt` share one diagnosis: what the repair would fix, doctor sees, and
// `doctor --fix` offers. Real dpkg/apt in a temp root, the real launcher.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { LAUNCHER } from '../../helpers/run-cli.js';
import { parseReport } from '../../helpers/doctor-host.js';
import { createAptWorld } from '../../helpers/apt-root.js';

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

async function cx(root: string, args: string[]) {
  const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, '--root', root, ...args], {
    reject: false,
    input: '',
    env: { PATH: process.env.PATH!, HOME: join(root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
    extendEnv: false,
    timeout: 120_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('apt_status sees what repair apt would fix', () => {
  it('a broken dependency: FAIL with repair_apt; repair apt --dry-run exits 1 naming the packages it would install; without a terminal it needs -y', async () => {
    const world = createAptWorld();
    cleanup.push(world.base);
    world.dpkg(['--force-depends', '-i', world.debs.app1!]);
    const doctor = await cx(world.root, ['doctor', '--json', '--check', 'apt_status']);
    const r = parseReport(doctor).results[0]!;
    expect(doctor.exitCode, doctor.stderr).toBe(2);
    expect(r).toMatchObject({
      status: 'FAIL',
      fix_id: 'repair_apt',
      message: expect.stringMatching(/^broken dependencies: .*cx-lib/),
    });
    expect(r.details.diagnosis).toEqual([expect.objectContaining({ id: 'broken-dependencies' })]);

    const dry = await cx(world.root, ['repair', 'apt', '--dry-run']);
    expect(dry.exitCode).toBe(1);
    expect(dry.stdout).toMatch(/would: apt-get -f install -y/);
    expect(dry.stdout).toContain('would:   installs: cx-lib 1.0');
    expect(dry.stdout).toContain('would:   removes: nothing');

    const before = readFileSync(join(world.root, 'var/lib/dpkg/status'), 'utf8');
    const refused = await cx(world.root, ['repair', 'apt']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('repair apt will:\n  - broken-dependencies: ');
    expect(refused.stderr).toContain('not changing anything: no terminal to ask. Run again with -y');
    expect(refused.stdout).toContain('DECLINED: not repaired');
    expect(readFileSync(join(world.root, 'var/lib/dpkg/status'), 'utf8')).toBe(before);

    const fixed = await cx(world.root, ['-y', 'repair', 'apt']);
    expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
    expect(world.installed()).toMatchObject({ 'cx-app': '1.0', 'cx-lib': '1.0' });
    const again = await cx(world.root, ['doctor', '--json', '--check', 'apt_status']);
    expect(parseReport(again).results[0]!.status).toBe('PASS');
  }, 300_000);

  it('corrupt package lists: FAIL, where apt_status used to pass', async () => {
    const world = createAptWorld();
    cleanup.push(world.base);
    const lists = join(world.root, 'var/lib/apt/lists');
    const listed = (await import('node:fs'))
      .readdirSync(lists)
      .find((f) => f.includes('repo_main') && f.includes('_Packages'))!;
    rmSync(join(lists, listed));
    writeFileSync(join(lists, listed.replace(/\.(lz4|gz|xz)$/, '')), 'Package: x\ngarbage without a colon\n');
    const doctor = await cx(world.root, ['doctor', '--json', '--check', 'apt_status']);
    const r = parseReport(doctor).results[0]!;
    expect(r).toMatchObject({
      status: 'FAIL',
      fix_id: 'repair_apt',
      message: expect.stringMatching(/^corrupted package lists: /),
    });
  }, 300_000);
});
