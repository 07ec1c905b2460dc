// The updates and apt plugins under the real kernel, built, over a temp root with real apt and
// dpkg; a sandboxed third-party plugin (fixtures/update-watcher) taps the updates hooks.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CapabilityFakes } from '../../../core/capabilities/index.js';
import { FIXED_PATH } from '../../../core/permissions/command-path.js';
import { rollbackTo } from '../../../plugins-builtin/updates/rollback.js';
import {
  createSnapshot,
  listSnapshots,
  pruneSnapshots,
  readSnapshot,
} from '../../../plugins-builtin/updates/snapshot-store.js';
import { createAptWorld, type AptWorld } from '../../helpers/apt-root.js';
import { bootKernel, builtinPlugin, type KernelHost } from '../../helpers/kernel-host.js';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';

const cleanup: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children)
    if (c.exitCode === null)
      try {
        process.kill(c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

let world: AptWorld;
let configDir: string;
let dataDir: string;
const hosts: KernelHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

/** A third plugin tapping the updates plugin's hooks, as any plugin would: it logs each payload and vetoes while
 * <root>/tmp/veto-updates exists. */
const WATCHER = fileURLToPath(new URL('./fixtures/update-watcher', import.meta.url));
/** The payloads the watcher saw. */
const seen = (): Array<{ hook: string; payload: any }> => {
  const f = join(world.root, 'tmp/update-watcher.jsonl');
  return existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
};
const veto = () => writeFileSync(join(world.root, 'tmp/veto-updates'), '');

/** The config.yaml the tests start from (rollback must put it back as it was). */
const CONFIG = 'updates:\n  backup_before_update: true\n';

/** The kernel with the updates, apt and watcher plugins; `config` (YAML) replaces config.yaml first. */
async function host(o: { config?: string; fakes?: CapabilityFakes } = {}): Promise<KernelHost> {
  if (o.config !== undefined) writeFileSync(join(configDir, 'config.yaml'), o.config);
  const h = await bootKernel({
    plugins: [builtinPlugin('updates'), builtinPlugin('apt'), WATCHER],
    root: world.root,
    configDir,
    dataDir,
    fakes: o.fakes,
  });
  hosts.push(h);
  return h;
}

/** Runs the real programs, but apt-get is not installed. */
const withoutAptGet: CapabilityFakes['exec'] = async (command, args, options) => {
  if (basename(command) === 'apt-get') return { exitCode: 127, stdout: '', stderr: `${command}: not found\n` };
  const r = await execa(command, args, {
    cwd: options.cwd,
    input: options.input ?? '',
    timeout: options.timeoutMs,
    reject: false,
    extendEnv: false,
    env: { PATH: FIXED_PATH, LANG: 'C', LC_ALL: 'C', ...options.env },
  });
  return {
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? null,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: r.timedOut,
  };
};

async function json(
  h: KernelHost,
  name: string,
  options: Record<string, unknown> = {},
  args: Record<string, unknown> = {},
) {
  const code = await h.command(name, { json: true, ...options }, args);
  const { stdout, stderr } = h.take();
  const out = stdout ? JSON.parse(stdout) : null;
  const schema = {
    'update check': 'update-check',
    'update apply': 'update-apply-report',
    'update rollback': 'update-rollback-report',
  }[name];
  if (out && schema) assertMatchesSchema(schema, out);
  return { code, out, stderr };
}

beforeEach(() => {
  world = createAptWorld();
  cleanup.push(world.base);
  configDir = join(world.root, 'etc/cx');
  dataDir = join(world.root, 'var/lib/cx');
  mkdirSync(join(configDir, 'conf.d'), { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(configDir, 'config.yaml'), CONFIG);
  writeFileSync(join(configDir, 'conf.d', 'secret.yaml'), 'token: abc\n', { mode: 0o600 });
  chownSync(join(configDir, 'conf.d', 'secret.yaml'), 1234, 4321);
  symlinkSync('config.yaml', join(configDir, 'current.yaml'));
  writeFileSync(join(dataDir, 'blob.bin'), Buffer.from([0, 255, 1, 254, 10, 13, 0]));
  world.aptGet(['install', '-y', '-q', 'cx-demo=1.0', 'cx-tool=1.1']);
  world.dpkg(['-i', world.debs.local09!]);
});

describe('update check', () => {
  it('counts pending and security updates from the archive label/suite; --force refreshes first', async () => {
    const h = await host();
    const first = await json(h, 'update check');
    expect(first.code).toBe(0);
    expect(first.out).toMatchObject({ cached: false, refreshed: false, total: 2, security: 1, reboot_required: false });
    const validate = new Ajv({ allErrors: true, strict: true, validateFormats: false }).compile(
      JSON.parse(readFileSync(join(__dirname, '../../../schemas/update-check.schema.json'), 'utf8')),
    );
    expect(validate(first.out), JSON.stringify(validate.errors)).toBe(true);
    expect(first.out.updaters[0].check.updates).toEqual([
      { name: 'cx-demo', current: '1.0', candidate: '2.0', origin: 'Debian-Security:stable-security', security: true },
      { name: 'cx-local', current: '0.9', candidate: '1.0', origin: 'cx-test:stable', security: false },
    ]);
    writeFileSync(join(world.root, 'var/run/reboot-required'), '*** System restart required ***\n');
    expect((await json(h, 'update check')).out).toMatchObject({
      cached: false,
      refreshed: false,
      reboot_required: true,
    });
    expect((await json(h, 'update check', { force: true })).out).toMatchObject({
      cached: false,
      refreshed: true,
      reboot_required: true,
    });
    await h.command('update check', { force: true });
    const text = h.take().stdout;
    expect(text).toMatch(/^╭─+╮\n│ +System Update +│\n├─+┤\n/);
    expect(text).toContain('Reboot required: Yes');
    expect(text).toContain('2 package update(s) available\n1 security update(s)');
  });

  it('SKIPs with the reason when apt is not installed', async () => {
    const h = await host({ fakes: { exec: withoutAptGet } });
    const r = await json(h, 'update check');
    expect(r.out.updaters[0].check).toEqual({
      available: false,
      reason: 'apt-get is not installed (not found on the PATH)',
      updates: [],
      rebootRequired: false,
    });
    await h.command('update check', { force: true });
    expect(h.take().stdout).toContain('SKIP apt: apt-get is not installed');
  });

  it('SKIPs with the reason when there is no dpkg database', async () => {
    rmSync(join(world.root, 'var/lib/dpkg/status'));
    const h = await host();
    await h.command('update check', {});
    expect(h.take().stdout).toContain(`SKIP apt: no dpkg database at ${world.root}/var/lib/dpkg/status`);
  });
});

describe('update apply', () => {
  it('--dry-run plans and changes nothing; no snapshot is taken', async () => {
    const h = await host();
    const r = await json(h, 'update apply', { packages: true, security: true, dryRun: true });
    expect(r.code).toBe(0);
    expect(r.out.status).toBe('planned');
    expect(r.out.results[0].applied).toEqual([{ name: 'cx-demo', from: '1.0', to: '2.0' }]);
    expect(world.installed()['cx-demo']).toBe('1.0');
    expect(await listSnapshots(h.ctx('updates'))).toEqual([]);
    expect(seen()).toEqual([]);
  });

  it('--security upgrades only the security update, after a snapshot and the hooks', async () => {
    const h = await host();
    const r = await json(h, 'update apply', { packages: true, security: true });
    expect(r.code).toBe(0);
    expect(r.out.status).toBe('applied');
    expect(world.installed()).toMatchObject({ 'cx-demo': '2.0', 'cx-local': '0.9' });
    expect(r.out.snapshot).toMatch(/^\d{8}-\d{6}(-\d+)?$/);
    const m = (await readSnapshot(h.ctx('updates'), r.out.snapshot))!;
    const validate = new Ajv({ allErrors: true, strict: true, validateFormats: false }).compile(
      JSON.parse(readFileSync(join(__dirname, '../../../schemas/snapshot-manifest.schema.json'), 'utf8')),
    );
    expect(validate(m), JSON.stringify(validate.errors)).toBe(true);
    expect(m.packages.list).toEqual(
      expect.arrayContaining([
        { name: 'cx-demo', version: '1.0' },
        { name: 'cx-local', version: '0.9' },
      ]),
    );
    expect(seen().map((s) => s.hook)).toEqual(['pre_update', 'post_update']);
    const journal = readFileSync(join(dataDir, 'plugin-state/updates/journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(journal).toEqual([
      expect.objectContaining({
        plugin: 'updates',
        run: 'update apply',
        ok: true,
        snapshot: r.out.snapshot,
        applied: ['cx-demo 1.0 -> 2.0'],
      }),
    ]);
    expect(seen()[0]!.payload).toMatchObject({
      security: true,
      packages: [{ name: 'cx-demo', from: '1.0', to: '2.0', security: true }],
    });
    expect(seen()[1]!.payload).toMatchObject({ ok: true, snapshot: r.out.snapshot });
  });

  it('--system plans a full dist-upgrade', async () => {
    const r = await json(await host(), 'update apply', { system: true, dryRun: true });
    expect(r.code).toBe(0);
    expect(r.out.results[0].actions).toEqual([`apt-get dist-upgrade -y -q (root ${world.root})`]);
    expect(world.installed()['cx-demo']).toBe('1.0');
  });

  it('with backup_before_update off no snapshot is taken', async () => {
    const h = await host({ config: 'updates:\n  backup_before_update: false\n' });
    const r = await json(h, 'update apply', { packages: true, security: true });
    expect(r.out).toMatchObject({ status: 'applied', snapshot: null });
    expect(world.installed()['cx-demo']).toBe('2.0');
    expect(await listSnapshots(h.ctx('updates'))).toEqual([]);
  });

  it('a pre_update tap can veto: nothing is applied', async () => {
    veto();
    const r = await json(await host(), 'update apply', { packages: true });
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({
      status: 'vetoed',
      message: "not applied: the pre_update hook of plugin 'update-watcher' vetoed it",
    });
    expect(world.installed()['cx-demo']).toBe('1.0');
  });

  it('refuses while another live run holds the lock, naming its pid; a lock of a dead run is taken over', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(sleeper);
    const locks = join(dataDir, 'locks');
    mkdirSync(locks, { recursive: true });
    writeFileSync(
      join(locks, 'update.lock'),
      JSON.stringify({ pid: sleeper.pid, start: 0, command: 'cx-ops update rollback', token: 'held-by-the-sleeper' }),
    );
    const h = await host();
    // The one lock error: the kernel prints it and exits 5.
    await expect(json(h, 'update apply', { packages: true })).rejects.toMatchObject({
      code: 'CX_ERR_STATE_LOCKED',
      exitCode: 5,
      message: `lock 'update' is locked by another cx-ops run (pid ${sleeper.pid}, cx-ops update rollback).\nWait for it to finish, then run the command again.`,
    });
    expect(world.installed()['cx-demo']).toBe('1.0');
    sleeper.kill('SIGKILL');
    await new Promise((res) => sleeper.once('exit', res));
    const again = await json(h, 'update apply', { packages: true });
    expect(again.code).toBe(0);
    expect(existsSync(join(locks, 'update.lock'))).toBe(false);
  });

  it('--only names an installed package without a pending update: nothing to do, and it says which, with its version', async () => {
    const r = await json(await host(), 'update apply', { packages: true, only: ['cx-tool'] });
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({
      status: 'nothing',
      message: 'no updates pending: no pending update for: cx-tool (installed: 1.1)',
      snapshot: null,
    });
  });

  it('--only names a package that is not installed: a usage error with close names; nothing is applied', async () => {
    const h = await host();
    const usage = {
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message:
        "update apply --only: 'cx-demoo', 'nosuchpkg' are not installed packages; nothing was changed. For 'cx-demoo', did you mean: cx-demo?\n" +
        'Try: cx-ops update check   (lists the packages with pending updates)',
    };
    await expect(
      h.command('update apply', { packages: true, only: ['cx-demo', 'cx-demoo', 'nosuchpkg'] }),
    ).rejects.toMatchObject(usage);
    await expect(
      h.command('update apply', { packages: true, only: ['cx-demoo', 'nosuchpkg'], dryRun: true }),
    ).rejects.toMatchObject(usage);
    expect(world.installed()['cx-demo']).toBe('1.0');
    expect(existsSync(join(dataDir, 'locks/update.lock'))).toBe(false);
  });

  it('usage errors are catalogue errors (error[CX_ERR_USAGE], exit 2): neither or both of --packages and --system; --system limited by --security', async () => {
    const h = await host();
    await expect(h.command('update apply', {})).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message:
        'update apply: say what to update: --packages (installed packages) or --system (full distribution upgrade).\nTry: cx-ops update apply --packages --dry-run',
    });
    await expect(h.command('update apply', { packages: true, system: true })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message: expect.stringMatching(
        /^update apply: --packages and --system contradict each other: .* Pick one\.\nTry: cx-ops update apply --packages --dry-run {3}or {3}cx-ops update apply --system --dry-run$/,
      ),
    });
    await expect(h.command('update apply', { system: true, security: true })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message:
        'update apply: --system is a full distribution upgrade of everything; it cannot be limited with --security or --only.\nTry: cx-ops update apply --packages --security',
    });
    expect(h.take()).toEqual({ stdout: '', stderr: '' });
    expect(world.installed()['cx-demo']).toBe('1.0');
  });
});

describe('update rollback', () => {
  it('restores files byte-identically (content, mode, owner, symlinks), removes files made since, and puts package versions back', async () => {
    const h = await host();
    const applied = await json(h, 'update apply', { packages: true });
    world.aptGet(['install', '-y', '-q', 'cx-lib']); // installed after the snapshot
    expect(applied.code).toBe(0);
    expect(world.installed()).toMatchObject({ 'cx-demo': '2.0', 'cx-local': '1.0' });
    const id = applied.out.snapshot as string;
    // Change everything the snapshot covers.
    writeFileSync(join(configDir, 'config.yaml'), 'changed: true\n');
    chmodSync(join(configDir, 'conf.d', 'secret.yaml'), 0o644);
    chownSync(join(configDir, 'conf.d', 'secret.yaml'), 0, 0);
    rmSync(join(configDir, 'current.yaml'));
    symlinkSync('/etc/passwd', join(configDir, 'current.yaml'));
    writeFileSync(join(configDir, 'new-since.yaml'), 'x\n');
    writeFileSync(join(dataDir, 'state.lock'), 'held by a run\n'); // lock files are never touched
    writeFileSync(join(dataDir, 'blob.bin'), 'text now');

    const dry = await json(h, 'update rollback', { dryRun: true }, { id });
    expect(dry.out).toMatchObject({ dryRun: true, packages: { restored: [{ name: 'cx-demo', version: '1.0' }] } });
    expect(world.installed()['cx-demo']).toBe('2.0');
    expect(readFileSync(join(configDir, 'config.yaml'), 'utf8')).toBe('changed: true\n');
    const listed = await json(h, 'update rollback', { list: true });
    expect(listed.out.map((s: { id: string }) => s.id)).toEqual([id]);
    const r = await json(h, 'update rollback', {}, { id });
    expect(r.out.areas.find((a: { name: string }) => a.name === 'config')).toMatchObject({
      removed: ['new-since.yaml'],
      mismatches: [],
    });
    expect(readFileSync(join(configDir, 'config.yaml'), 'utf8')).toBe(CONFIG);
    const secret = lstatSync(join(configDir, 'conf.d', 'secret.yaml'));
    expect([secret.mode & 0o777, secret.uid, secret.gid]).toEqual([0o600, 1234, 4321]);
    expect(readlinkSync(join(configDir, 'current.yaml'))).toBe('config.yaml');
    expect(existsSync(join(configDir, 'new-since.yaml'))).toBe(false);
    expect(readFileSync(join(dataDir, 'state.lock'), 'utf8')).toBe('held by a run\n');
    expect([...readFileSync(join(dataDir, 'blob.bin'))]).toEqual([0, 255, 1, 254, 10, 13, 0]);
    // The snapshot store itself survived the data directory's restore.
    expect(await listSnapshots(h.ctx('updates'))).toHaveLength(1);
    // cx-demo 1.0 is still in the archive; cx-local 0.9 never was.
    expect(world.installed()).toMatchObject({ 'cx-demo': '1.0', 'cx-local': '1.0' });
    expect(r.out.packages.restored).toEqual([{ name: 'cx-demo', version: '1.0' }]);
    expect(r.out.packages.added).toEqual([{ name: 'cx-lib', version: '1.0' }]);
    expect(world.installed()['cx-lib']).toBe('1.0');
    expect(r.out.packages.unavailable).toEqual([
      { name: 'cx-local', version: '0.9', reason: 'the archive no longer has cx-local 0.9 (it has: 1.0)' },
    ]);
    expect(r.code).toBe(1);
  });

  it('a rollback killed midway is finished by running it again', async () => {
    const h = await host();
    const ctx = h.ctx('updates');
    const m = await createSnapshot(ctx, {
      reason: 'test',
      packages: { updater: null, available: false, reason: 'not needed here', list: [] },
    });
    writeFileSync(join(configDir, 'config.yaml'), 'changed\n');
    writeFileSync(join(dataDir, 'blob.bin'), 'changed');
    await expect(
      rollbackTo(ctx, m, {
        restorePackages: null,
        onStep: (s) => {
          if (s === 'config') throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect(readFileSync(join(configDir, 'config.yaml'), 'utf8')).toContain('updates:');
    expect(readFileSync(join(dataDir, 'blob.bin'), 'utf8')).toBe('changed');
    // Another snapshot id cannot be started before the interrupted one is finished.
    const r = await json(h, 'update rollback', {}, {});
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ id: m.id, resumed: true, ok: true });
    expect(r.out.areas.map((a: { name: string }) => a.name)).toEqual(['data']);
    expect([...readFileSync(join(dataDir, 'blob.bin'))]).toEqual([0, 255, 1, 254, 10, 13, 0]);
    expect(existsSync(join(dataDir, 'plugin-state/updates/rollback-journal.json'))).toBe(false);
  });

  it('lists only complete snapshots; unknown id lists the valid ones; no snapshots is said plainly', async () => {
    const h = await host();
    await expect(json(h, 'update rollback', {})).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message:
        'update rollback: there are no snapshots to roll back to: `cx-ops update apply` takes one first when updates.backup_before_update is on.\nTry: cx-ops update apply --packages   (takes a snapshot, then updates)',
    });
    const ctx = h.ctx('updates');
    const m = await createSnapshot(ctx, { reason: 'test', packages: { updater: null, available: false, list: [] } });
    const store = join(dataDir, 'plugin-state/updates/snapshots');
    mkdirSync(join(store, '.partial-20240101-000000-999999'), { recursive: true });
    expect((await listSnapshots(ctx)).map((s) => s.id)).toEqual([m.id]);
    await expect(json(h, 'update rollback', {}, { id: '20240101-000000' })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message: `update rollback: unknown snapshot '20240101-000000'. Valid snapshots: ${m.id}.\nTry: cx-ops update rollback --list`,
    });
  });

  it('a damaged manifest is listed as damaged with the archives left, never vanishes; rollback to it names the file', async () => {
    const h = await host();
    const ctx = h.ctx('updates');
    const pk = { updater: null, available: false, list: [] };
    const old = await createSnapshot(ctx, { reason: 'old', packages: pk, now: new Date('2024-01-01T00:00:00Z') });
    const m = await createSnapshot(ctx, { reason: 'test', packages: pk, now: new Date('2024-01-02T00:00:00Z') });
    const store = join(dataDir, 'plugin-state/updates/snapshots');
    const manifest = join(store, m.id, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ ...m, areas: null }));
    mkdirSync(join(store, '20240103-000000')); // renamed into place without a manifest: damaged too
    expect((await listSnapshots(ctx)).map((s) => [s.id, s.damaged ?? null])).toEqual([
      ['20240103-000000', { problem: 'is missing', archives: [] }],
      [m.id, { problem: "field 'areas' must be of type array (found: null)", archives: ['config.tar', 'data.tar'] }],
      [old.id, null],
    ]);
    const listed = await h.command('update rollback', { list: true });
    expect(listed).toBe(0);
    expect(h.take().stdout).toMatch(
      new RegExp(
        `\\n${m.id} +\\? +\\? +\\? +DAMAGED: manifest\\.json field 'areas' must be of type array \\(found: null\\); restorable by hand from config\\.tar, data\\.tar\\n`,
      ),
    );
    await expect(json(h, 'update rollback', {}, { id: m.id })).rejects.toMatchObject({
      code: 'CX_ERR_STATE_INVALID',
      exitCode: 2,
      message: `${manifest}: field 'areas' must be of type array (found: null). It is not a valid snapshot manifest (schemas/snapshot-manifest.schema.json).\nMove it aside (mv ${manifest} ${manifest}.damaged); its archives are still there and can be unpacked by hand (tar -xpf ${join(store, m.id)}/ARCHIVE -C DIR): config.tar, data.tar, then run the command again.`,
    });
    // With no id, the newest intact snapshot.
    const r = await json(h, 'update rollback', { dryRun: true });
    expect(r.out).toMatchObject({ id: old.id });
  });

  it('prunes snapshots older than rollback_retention_days but keeps the newest', async () => {
    const ctx = (await host()).ctx('updates');
    const pk = { updater: null, available: false, list: [] };
    const old1 = await createSnapshot(ctx, { reason: 'old', packages: pk, now: new Date('2024-01-01T00:00:00Z') });
    const old2 = await createSnapshot(ctx, { reason: 'old', packages: pk, now: new Date('2024-01-05T00:00:00Z') });
    const recent = await createSnapshot(ctx, { reason: 'recent', packages: pk, now: new Date('2024-01-10T00:00:00Z') });
    expect([old1.id, old2.id, recent.id]).toEqual(['20240101-000000', '20240105-000000', '20240110-000000']);
    expect(await pruneSnapshots(ctx, 7, new Date('2024-01-11T00:00:00Z'))).toEqual(['20240101-000000']);
    expect(await pruneSnapshots(ctx, 0, new Date('2030-01-01T00:00:00Z'))).toEqual(['20240105-000000']);
    expect((await listSnapshots(ctx)).map((s) => s.id)).toEqual(['20240110-000000']);
  });
});
