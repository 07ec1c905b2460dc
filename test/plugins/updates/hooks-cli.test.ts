// pre_update / post_update through the real kernel, tapped by a sandboxed third-party plugin.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAptWorld, type AptWorld } from '../../helpers/apt-root.js';

const LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops.js', import.meta.url));
const WATCHER = fileURLToPath(new URL('./fixtures/update-watcher', import.meta.url));
let world: AptWorld;

async function cx(args: string[]) {
  const r = await execa(
    process.execPath,
    ['--no-node-snapshot', LAUNCHER, '--root', world.root, '--plugin-dir', WATCHER, ...args],
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

const payloads = () => {
  const f = join(world.root, 'tmp/update-watcher.jsonl');
  return existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
};

beforeAll(async () => {
  world = createAptWorld();
  mkdirSync(join(world.root, 'etc/cx'), { recursive: true });
  world.aptGet(['install', '-y', '-q', 'cx-demo=1.0']);
  const enabled = await cx(['plugins', 'enable', 'update-watcher', '-y']);
  expect(enabled.code, enabled.stderr).toBe(0);
});
afterAll(() => rmSync(world.base, { recursive: true, force: true }));

describe('update hooks, tapped by a sandboxed plugin', () => {
  it('a pre_update tap resolving false vetoes the update; nothing is installed and no snapshot taken', async () => {
    writeFileSync(join(world.root, 'tmp/veto-updates'), '');
    const r = await cx(['update', 'apply', '--packages', '-y', '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      status: 'vetoed',
      message: "not applied: the pre_update hook of plugin 'update-watcher' vetoed it",
      snapshot: null,
    });
    expect(world.installed()['cx-demo']).toBe('1.0');
    expect(payloads().map((p) => p.hook)).toEqual(['pre_update']);
  });

  it('without the veto the update runs, and both hooks see what was updated', async () => {
    rmSync(join(world.root, 'tmp/veto-updates'));
    rmSync(join(world.root, 'tmp/update-watcher.jsonl'));
    const r = await cx(['update', 'apply', '--packages', '-y', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(world.installed()['cx-demo']).toBe('2.0');
    const [pre, post] = payloads();
    expect(pre).toEqual({
      hook: 'pre_update',
      payload: {
        packages: [{ name: 'cx-demo', from: '1.0', to: '2.0', security: true }],
        security: false,
        system: false,
      },
    });
    expect(post).toMatchObject({
      hook: 'post_update',
      payload: {
        ok: true,
        snapshot: report.snapshot,
        results: [{ updater: 'apt', ok: true, applied: [{ name: 'cx-demo', from: '1.0', to: '2.0' }] }],
      },
    });
  });
});
