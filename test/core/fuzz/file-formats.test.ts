/**
 * Property-based fuzzing of every file format cx-ops reads (#14, "make it stay fixed"): for each
 * format, generated variants of a valid sample (test/helpers/fuzz.ts: byte and shape mutations,
 * YAML hazards, at most 64 KiB each) go through the reader cx-ops itself uses, and special files
 * (a FIFO, a symlink to /dev/zero, a directory) take the place of the file. The oracle: the reader
 * returns, or throws a catalogue CxError that names the file; never another error (a TypeError is
 * a crash), never a hang (each case is timed), and the sample itself still reads. The number of
 * cases per format is CX_FUZZ_CASES (default 60; a nightly-style run sets thousands).
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCxError } from 'cx-ops/sdk';
import { parseStateFile, shippedSchemaValidator } from 'cx-ops/sdk/host';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { readManifest } from '../../../core/loader/manifest.js';
import { readShapeCache } from '../../../core/loader/shape-cache.js';
import { readState } from '../../../core/state.js';
import { parseRules } from '../../../plugins-builtin/alerts/rules-file.js';
import { parseChecksFile } from '../../../plugins-builtin/checks-declarative/checks-file.js';
import { lastRun, pendingChanges, readRuns } from '../../../plugins-builtin/deploy/deploy-journal.js';
import { readManifest as readDeployManifest } from '../../../plugins-builtin/deploy/read-manifest.js';
import { readModule } from '../../../plugins-builtin/hotfix/module-file.js';
import { readRun } from '../../../plugins-builtin/hotfix/run-journal.js';
import { readApplied } from '../../../plugins-builtin/hotfix/run-store.js';
import { parsePolicy } from '../../../plugins-builtin/permissions/permissions-policy.js';
import { readLock } from '../../../plugins-builtin/registry/lock-file.js';
import { readPluginArchive } from '../../../plugins-builtin/registry/plugin-archive.js';
import { parseIndex } from '../../../plugins-builtin/registry/registry-index.js';
import { readRegistries } from '../../../plugins-builtin/registry/registry-sources.js';
import { readSignatureFile, readTrustedKeys } from '../../../plugins-builtin/registry/signing.js';
import { caps } from '../capabilities/helpers.js';
import { fuzzCases, FUZZ_CASES, type Syntax } from '../../helpers/fuzz.js';
import { testContext } from '../../helpers/test-context.js';
import { CHECKS, TYPES } from '../../plugins/alerts/alert-fixtures.js';
import { rawTarGz } from '../../plugins/registry/harness.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const fs = caps('registry').localFs;
/** Far above any case's time here; a reader that waits on a FIFO or /dev/zero would hit it. */
const CASE_MS = 3_000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-fuzz-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** How one format is read: from the file at `file` (written by the suite), as cx-ops reads it. */
interface Format {
  name: string;
  syntax: Syntax;
  sample: () => Promise<string | Buffer>;
  /** The file the reader reads (inside `home`). */
  file: (home: string) => string;
  read: (home: string, file: string) => Promise<unknown>;
}

const pub = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as { x: string };
const archiveBytes = rawTarGz([
  { path: 'plugin.yaml', type: '0', data: 'name: hello\nversion: 1.0.0\n' },
  { path: 'index.js', type: '0', data: 'export default {}' },
]);
const signature = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  return JSON.stringify({
    algorithm: 'ed25519',
    key_id: createHash('sha256').update(raw).digest('hex').slice(0, 16),
    public_key: raw.toString('base64'),
    signature: sign(null, archiveBytes, privateKey).toString('base64'),
  });
};
const sha = '0'.repeat(64);
const stateKinds = {
  'permissions journal': 'permissions-journal.schema.json',
  'rollback journal': 'rollback-journal.schema.json',
  'snapshot manifest': 'snapshot-manifest.schema.json',
} as const;
const readStateKind = (what: keyof typeof stateKinds) => async (_home: string, file: string) =>
  parseStateFile(await fs.readBytes(file), file, {
    what,
    schema: `schemas/${stateKinds[what]}`,
    validate: shippedSchemaValidator(stateKinds[what]),
  });

/** A trusted plugin's context whose state directory is `home` (the hotfix and deploy readers take one). */
const pluginCtx = (name: string, home: string) => {
  const { ctx } = testContext(name, 'all');
  return { ...ctx, env: { ...ctx.env, stateDir: home } };
};
const run = '20240101-000000-abcd';
const stamp = { v: 1, ts: '2024-01-01T00:00:00.000Z' };
const hotfixJournal = [
  {
    ...stamp,
    t: 'begin',
    run,
    module_dir: '/m',
    module_file: '/m/index.json',
    schema_version: '1.0.0',
    root: '/',
    backup_dir: '/b',
    steps: [{ step: 1, op: 'one', type: 'copy' }],
    resumable: true,
  },
  {
    ...stamp,
    t: 'intent',
    step: 1,
    op: 'one',
    type: 'copy',
    prior: [
      { path: '/etc/app.conf', kind: 'file', mode: 420, uid: 0, gid: 0, size: 3, sha256: sha, backup: 'files/0' },
    ],
    undo: [{ do: 'restore' }],
    summary: 'copy',
  },
  { ...stamp, t: 'done', step: 1, op: 'one' },
  { ...stamp, t: 'commit', schema_version: '1.0.0' },
]
  .map((r) => `${JSON.stringify(r)}\n`)
  .join('');
const deployJournal = [
  { ev: 'begin', run, file: '/s.yaml', at: stamp.ts, only: null },
  { ev: 'deploying', run, service: 'db', wave: 0, driver: 'command', before: { running: false } },
  { ev: 'deployed', run, service: 'db', ok: true, changed: true, detail: 'started' },
  { ev: 'end', run, outcome: 'deployed', at: stamp.ts },
]
  .map((r) => `${JSON.stringify(r)}\n`)
  .join('');

const FORMATS: Format[] = [
  {
    name: 'config.yaml',
    syntax: 'yaml',
    sample: async () =>
      'plugins:\n  enabled: true\n  trusted_sources: []\n  sandbox: { memory_mb: 64 }\naudit:\n  max_mb: 10\n',
    file: (h) => join(h, 'config.yaml'),
    read: (h) => loadConfig(h),
  },
  {
    name: 'config.yaml trusted_sources',
    syntax: 'yaml',
    sample: async () =>
      `plugins:\n  trusted_sources:\n    - name: acme\n      public_key: ${Buffer.from(pub.x, 'base64url').toString('base64')}\n`,
    file: (h) => join(h, 'config.yaml'),
    read: (h) => readTrustedKeys(fs, h),
  },
  {
    name: 'plugin.yaml',
    syntax: 'yaml',
    sample: () => readFile(join(REPO, 'test/plugins/registry/fixtures/hello/plugin.yaml'), 'utf8'),
    file: (h) => join(h, 'plugin.yaml'),
    read: (h) => readManifest(h),
  },
  {
    name: 'state.json',
    syntax: 'json',
    sample: async () =>
      JSON.stringify({ version: 1, plugins: { doctor: { enabled: true, tier: 'trusted', grants: ['read:/proc'] } } }),
    file: (h) => join(h, 'state.json'),
    read: (h) => readState(h),
  },
  {
    name: 'shape cache',
    syntax: 'json',
    sample: async () =>
      JSON.stringify({ version: 1, entries: { x: { stamp: '1:2:3', version: '1', main: 'i.js', shape: {} } } }),
    file: (h) => join(h, 'shapes.json'),
    read: (_h, f) => readShapeCache(f),
  },
  {
    name: 'registries.yaml',
    syntax: 'yaml',
    sample: async () => 'registries:\n  - name: team\n    url: /srv/reg\n    require_signatures: true\n',
    file: (h) => join(h, 'registries.yaml'),
    read: (h) => readRegistries(fs, h),
  },
  {
    name: 'registry index',
    syntax: 'yaml',
    sample: async () =>
      `api_version: 1\nplugins:\n  hello:\n    - version: 1.0.0\n      description: d\n      plugin_type: command\n      cx_version: ">=0.1.0"\n      permissions: []\n      archive: archives/hello-1.0.0.tgz\n      sha256: "${sha}"\n      size: 10\n`,
    file: (h) => join(h, 'index.yaml'),
    read: async (_h, f) => parseIndex(await fs.readBytes(f), f),
  },
  {
    name: 'plugins.lock.json',
    syntax: 'json',
    sample: async () =>
      JSON.stringify({
        lock_version: 1,
        plugins: {
          hello: {
            version: '1.0.0',
            registry: 'team',
            url: '/srv/reg/archives/hello-1.0.0.tgz',
            sha256: sha,
            signature: { status: 'unsigned' },
            tier: 'sandboxed',
            grants: [],
            files: { 'plugin.yaml': sha },
            installed_at: '2026-01-01T00:00:00.000Z',
          },
        },
      }),
    file: (h) => join(h, 'plugins.lock.json'),
    read: (_h, f) => readLock(fs, f),
  },
  {
    name: 'archive .sig',
    syntax: 'json',
    sample: async () => signature(),
    file: (h) => join(h, 'a.tgz.sig'),
    read: (_h, f) => readSignatureFile(fs, f),
  },
  {
    name: 'plugin archive (tar.gz)',
    syntax: 'bytes',
    sample: async () => archiveBytes,
    file: (h) => join(h, 'a.tgz'),
    read: async (_h, f) => readPluginArchive(await fs.readBytes(f), f),
  },
  {
    name: 'permissions policy',
    syntax: 'yaml',
    sample: () => readFile(join(REPO, 'plugins-builtin/permissions/default-policy.yaml'), 'utf8'),
    file: (h) => join(h, 'permissions-policy.yaml'),
    read: async (_h, f) => parsePolicy(await fs.readFile(f), f),
  },
  {
    name: 'permissions journal',
    syntax: 'json',
    sample: async () =>
      JSON.stringify({
        id: 'j1',
        created: 'now',
        undone: false,
        changes: [
          {
            path: '/x',
            reasons: ['mode'],
            before: { mode: 511, uid: 0, gid: 0 },
            after: { mode: 448, uid: 0, gid: 0 },
            rule: 'p:1',
          },
        ],
      }),
    file: (h) => join(h, 'j1.json'),
    read: readStateKind('permissions journal'),
  },
  {
    name: 'rollback journal',
    syntax: 'json',
    sample: async () => JSON.stringify({ id: '20240101-000000', started: 'now', done: ['config'] }),
    file: (h) => join(h, 'rollback-journal.json'),
    read: readStateKind('rollback journal'),
  },
  {
    name: 'snapshot manifest',
    syntax: 'json',
    sample: async () =>
      JSON.stringify({
        version: 1,
        id: '20240101-000000',
        created: '2024-01-01T00:00:00.000Z',
        reason: 'r',
        root: '/',
        complete: true,
        areas: [{ name: 'config', dir: '/etc/cx', present: true, archive: 'config.tar', exclude: [], entries: [] }],
        packages: { updater: null, available: false, list: [] },
      }),
    file: (h) => join(h, 'manifest.json'),
    read: readStateKind('snapshot manifest'),
  },
  {
    name: 'deploy manifest',
    syntax: 'yaml',
    sample: () => readFile(join(REPO, 'test/plugins/deploy/fixtures/basic.yaml'), 'utf8'),
    file: (h) => join(h, 'services.yaml'),
    read: async (_h, f) => readDeployManifest(await fs.readFile(f), f),
  },
  {
    name: 'hotfix module index',
    syntax: 'json',
    sample: () => readFile(join(REPO, 'test/plugins/hotfix/fixtures/security-patch/index.json'), 'utf8'),
    file: (h) => join(h, 'index.json'),
    read: (h) => readModule(pluginCtx('hotfix', h), h),
  },
  {
    name: 'hotfix run journal',
    syntax: 'jsonl',
    sample: async () => hotfixJournal,
    file: (h) => join(h, 'journal.jsonl'),
    read: (h) => readRun(pluginCtx('hotfix', h), h),
  },
  {
    name: 'hotfix applied.json',
    syntax: 'json',
    sample: async () => JSON.stringify({ modules: { '/m': { version: '1.0.0', run, at: stamp.ts } } }),
    file: (h) => join(h, 'applied.json'),
    read: (h) => readApplied(pluginCtx('hotfix', h)),
  },
  {
    name: 'deploy journal',
    syntax: 'jsonl',
    sample: async () => deployJournal,
    file: (h) => join(h, 'journal.jsonl'),
    read: async (h, f) => {
      const ctx = pluginCtx('deploy', h);
      await readRuns(ctx, f);
      return pendingChanges(await lastRun(ctx, f));
    },
  },
  {
    name: 'alerts.yaml',
    syntax: 'yaml',
    sample: async () =>
      'receivers:\n  pagerduty: { type: pagerduty, routing_key_file: /etc/cx/pd.key }\nalerts:\n  - name: disk-critical\n    check: disk_space\n    status: fail\n    actions:\n      - type: webhook\n        url: http://127.0.0.1:9/hook\n',
    file: (h) => join(h, 'alerts.yaml'),
    read: async (_h, f) => parseRules(await fs.readBytes(f), f, { checks: CHECKS, receiverTypes: TYPES }),
  },
  {
    name: 'declarative checks file',
    syntax: 'yaml',
    sample: async () =>
      'checks:\n  - id: hostname\n    file: /etc/hostname\n    exists: true\n  - id: fwd\n    kernel_param: net.ipv4.ip_forward\n    value: "0"\n',
    file: (h) => join(h, 'checks.yaml'),
    read: async (_h, f) => parseChecksFile(await fs.readFile(f), f),
  },
];

/** Runs the reader within CASE_MS; returns what went wrong, or undefined when the oracle holds. */
async function oracle(f: Format, home: string, file: string, target?: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((r) => (timer = setTimeout(() => r('hang'), CASE_MS)));
  try {
    const out = await Promise.race([f.read(home, file).then(() => 'ok' as const), hang]);
    return out === 'hang' ? `no answer within ${CASE_MS} ms` : undefined;
  } catch (e) {
    if (!isCxError(e)) return `not a catalogue error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    const text = `${e.message} ${JSON.stringify(e.params)}`;
    // ctx.localFs names where a symlink leads (its target) rather than the link: accepted here, for now.
    const named = [file, home, ...(target ? [target] : [])].some((p) => text.includes(p));
    if (!named) return `${e.code} does not name the file: ${e.message}`;
    if (/\n\s+at /.test(e.message)) return `${e.code} carries a stack trace`;
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

describe.each(FORMATS.map((f, i) => [f.name, f, i] as const))('%s', (_, f, i) => {
  test(`the valid sample reads; ${FUZZ_CASES} generated variants and special files each answer or fail with a catalogue error naming the file`, async () => {
    const home = join(dir, `f${i}`);
    await mkdir(home, { recursive: true });
    const file = f.file(home);
    const sample = await f.sample();
    await writeFile(file, sample);
    await expect(f.read(home, file)).resolves.not.toThrow();
    const failures: string[] = [];
    for (const c of fuzzCases(sample, f.syntax, 1000 + i)) {
      await rm(file, { recursive: true, force: true });
      await writeFile(file, c.bytes);
      const bad = await oracle(f, home, file);
      if (bad) failures.push(`${c.how}: ${bad}\n  input: ${JSON.stringify(c.bytes.toString('utf8').slice(0, 160))}`);
    }
    const specials: Array<[string, () => Promise<void>]> = [
      ['a FIFO', async () => void execFileSync('mkfifo', [file])],
      ['a symlink to /dev/zero', () => symlink('/dev/zero', file)],
      ['a directory', () => mkdir(file)],
      ['a dangling symlink', () => symlink(join(home, 'nowhere'), file)],
    ];
    for (const [what, make] of specials) {
      await rm(file, { recursive: true, force: true });
      await make();
      const bad = await oracle(f, home, file, what.includes('/dev/zero') ? '/dev/zero' : undefined);
      if (bad) failures.push(`${what} in its place: ${bad}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

test('a record of the wrong shape in a hotfix or deploy journal is CX_ERR_STATE_INVALID naming its line, never undone from guesses', async () => {
  const home = join(dir, 'shapes');
  await mkdir(home, { recursive: true });
  const lines = hotfixJournal.split('\n');
  // A well-formed intent whose prior state is not a list: rollback would have nothing sound to restore.
  lines[1] = JSON.stringify({ ...JSON.parse(lines[1]!), prior: 'all of /etc' });
  await writeFile(join(home, 'journal.jsonl'), lines.join('\n'));
  await expect(readRun(pluginCtx('hotfix', home), home)).rejects.toMatchObject({
    code: 'CX_ERR_STATE_INVALID',
    message: expect.stringContaining(`${join(home, 'journal.jsonl')}: line 2: field 'prior' must be of type array`),
  });
  // A torn last line is not damage: the step it would have announced had not begun.
  await writeFile(join(home, 'journal.jsonl'), hotfixJournal + '{"v":1,"ts":"2024');
  await expect(readRun(pluginCtx('hotfix', home), home)).resolves.toMatchObject({ state: 'applied' });
  const deploy = join(home, 'deploy.jsonl');
  await writeFile(deploy, deployJournal.replace('"wave":0', '"wave":"first"'));
  await expect(readRuns(pluginCtx('deploy', home), deploy)).rejects.toMatchObject({
    code: 'CX_ERR_STATE_INVALID',
    message: expect.stringContaining(`${deploy}: line 2: field 'wave' of a 'deploying' event must be a number`),
  });
});
