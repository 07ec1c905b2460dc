import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failedSources } from '../../../plugins-builtin/apt/apt-updater.js';
import { createAptWorld, type AptWorld } from '../../helpers/apt-root.js';
import { bootKernel, builtinPlugin, type KernelHost } from '../../helpers/kernel-host.js';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

let world: AptWorld;
beforeEach(() => {
  world = createAptWorld();
  cleanup.push(world.base);
  mkdirSync(join(world.root, 'etc/cx'), { recursive: true });
  world.aptGet(['install', '-y', '-q', 'cx-demo=1.0']);
});

const hosts: KernelHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

/** The kernel with the updates and apt plugins, laid out under the root as the CLI does. */
async function host(): Promise<KernelHost> {
  const h = await bootKernel({
    plugins: [builtinPlugin('updates'), builtinPlugin('apt')],
    root: world.root,
    configDir: join(world.root, 'etc/cx'),
    dataDir: join(world.root, 'var/lib/cx'),
  });
  hosts.push(h);
  return h;
}

/** The `apt-get update` runs in the audit log. */
const aptGetUpdates = async (h: KernelHost) =>
  (await h.audit()).filter(
    (r) => r.capability === 'exec' && r.target === 'apt-get' && (r.args as string[]).includes('update'),
  );

/** name -> mtime of every file under apt's lists directory. */
const lists = () =>
  Object.fromEntries(
    readdirSync(join(world.root, 'var/lib/apt/lists')).map((f) => [
      f,
      statSync(join(world.root, 'var/lib/apt/lists', f)).mtimeMs,
    ]),
  );

async function json(h: KernelHost, options: Record<string, unknown> = {}) {
  const code = await h.command('update check', { json: true, ...options });
  const { stdout, stderr } = h.take();
  const out = JSON.parse(stdout);
  assertMatchesSchema('update-check', out);
  return { code, out, stderr };
}

/** A port on 127.0.0.1 that refuses connections. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('update check reads what apt knows; --refresh fetches', () => {
  it('without --refresh: no apt-get update, nothing under the lists written, nothing recorded', async () => {
    const before = lists();
    const h = await host();
    const r = await json(h);
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ refreshed: false, total: 1, sources_failed: [] });
    expect(lists()).toEqual(before);
    expect(await aptGetUpdates(h)).toEqual([]);
    await h.command('update check', {});
    expect(h.take().stdout).toContain(
      'From the package lists apt already has; refresh them first with: cx-ops update check --refresh',
    );
  });

  it('--refresh --dry-run says what it would run and fetches nothing; --refresh runs apt-get update', async () => {
    const before = lists();
    const h = await host();
    await h.command('update check', { refresh: true, dryRun: true });
    const dry = h.take().stdout;
    expect(dry).toMatch(/would run: apt-get update -q \(root /);
    expect(lists()).toEqual(before);
    const r = await json(h, { refresh: true });
    expect(r.out).toMatchObject({
      refreshed: true,
      updaters: [{ check: { actions: [expect.stringMatching(/^apt-get update -q/)] } }],
    });
    expect(lists()).not.toEqual(before);
    expect(await aptGetUpdates(h)).not.toEqual([]);
  });

  it('one unreachable source: reported with the next step, the others used, exit 1', async () => {
    const port = await closedPort();
    writeFileSync(
      join(world.root, 'etc/apt/sources.list.d/dead.list'),
      `deb [trusted=yes] http://127.0.0.1:${port}/debian ./\n`,
    );
    const h = await host();
    const r = await json(h, { force: true });
    expect(r.code).toBe(1);
    expect(r.out.total).toBe(1);
    expect(r.out.sources_failed).toEqual([
      {
        updater: 'apt',
        source: `http://127.0.0.1:${port}/debian`,
        error: expect.stringContaining('Connection refused'),
      },
    ]);
    expect(r.stderr).toContain(`Next step: check that http://127.0.0.1:${port}/debian can be reached from this host`);
    await h.command('update check', { refresh: true });
    expect(h.take().stdout).toContain(`WARN apt: source http://127.0.0.1:${port}/debian could not be fetched`);
  });

  it("parses apt-get update's Err and Failed to fetch lines", () => {
    expect(
      failedSources(
        'Hit:1 file:/r ./ InRelease\nErr:2 http://10.0.0.9/debian ./ InRelease\n  Could not connect to 10.0.0.9:80 - connect (111: Connection refused)\n',
        'W: Failed to fetch http://10.0.0.9/debian/./InRelease  Could not connect\nW: Failed to fetch http://other.example/x/InRelease  404  Not Found\n',
      ),
    ).toEqual([
      {
        source: 'http://10.0.0.9/debian',
        error: 'Could not connect to 10.0.0.9:80 - connect (111: Connection refused)',
      },
      { source: 'http://other.example/x/InRelease', error: '404  Not Found' },
    ]);
  });
});
