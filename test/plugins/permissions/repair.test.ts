import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPlugin, type StartedPlugin } from 'cx-ops/sdk/testing';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

let root: string;
// The built plugin under the real kernel (the SDK's harness); its config and data directories are
// the harness's own (host.home/etc, host.home/data).
const PERMISSIONS_PLUGIN = new URL('../../../dist/plugins-builtin/permissions/', import.meta.url);
let host: StartedPlugin;
afterEach(() => host?.close());
const modeOf = (p: string) => statSync(join(root, p)).mode & 0o7777;
const ownerOf = (p: string) => {
  const s = statSync(join(root, p));
  return `${s.uid}:${s.gid}`;
};

function file(p: string, mode: number, uid = 1000, gid = 1000): void {
  writeFileSync(join(root, p), `${p}\n`);
  chmodSync(join(root, p), mode);
  chownSync(join(root, p), uid, gid);
}
function dir(p: string, mode: number, uid = 1000, gid = 1000): void {
  mkdirSync(join(root, p), { recursive: true });
  chmodSync(join(root, p), mode);
  chownSync(join(root, p), uid, gid);
}

async function run(options: Record<string, unknown>) {
  const {
    exitCode: code,
    stdout,
    stderr,
  } = await host.command('repair permissions', { options: { json: true, ...options } as never });
  const out = stdout ? JSON.parse(stdout) : null;
  if (out) assertMatchesSchema('repair-permissions-report', out);
  return { code, out, stderr };
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'cx-perm-'));
  cleanup.push(root);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000:Dev:/home/dev:/bin/bash\nops:x:1001:1001::/home/ops:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\ndev:x:1000:\nops:x:1001:\n');
  dir('home/dev', 0o755);
  dir('home/dev/.ssh', 0o777, 0, 0);
  file('home/dev/.ssh/id_ed25519', 0o644);
  file('home/dev/.ssh/id_ed25519.pub', 0o644);
  file('home/dev/.ssh/authorized_keys', 0o666);
  file('home/dev/.ssh/known_hosts', 0o646);
  host = await startPlugin(PERMISSIONS_PLUGIN, { tier: 'trusted', root });
});

describe('repair permissions', () => {
  it('--user: dry run lists every change and makes none; the repair makes them; --undo puts them back', async () => {
    const dry = await run({ user: 'dev', dryRun: true });
    expect(dry.code).toBe(1); // differences found, like apt-get check
    expect(dry.out.status).toBe('planned');
    const byPath = Object.fromEntries(
      dry.out.changes.map((c: { path: string; reasons: string[] }) => [c.path.slice(root.length), c.reasons]),
    );
    expect(byPath).toEqual({
      '/home/dev/.ssh': ['owner 0 (root) -> 1000 (dev)', 'group 0 -> 1000', 'mode 0777 -> 0700'],
      '/home/dev/.ssh/authorized_keys': ['mode 0666 -> 0600'],
      '/home/dev/.ssh/id_ed25519': ['mode 0644 -> 0600'],
      '/home/dev/.ssh/known_hosts': ['world-writable (0646) -> 0644'],
    });
    expect(modeOf('home/dev/.ssh')).toBe(0o777);

    const fixed = await run({ user: 'dev' });
    expect(fixed.out.status).toBe('repaired');
    expect([modeOf('home/dev/.ssh'), ownerOf('home/dev/.ssh')]).toEqual([0o700, '1000:1000']);
    expect(modeOf('home/dev/.ssh/id_ed25519')).toBe(0o600);
    expect(modeOf('home/dev/.ssh/id_ed25519.pub')).toBe(0o644);
    expect(modeOf('home/dev/.ssh/authorized_keys')).toBe(0o600);
    expect(modeOf('home/dev/.ssh/known_hosts')).toBe(0o644);
    expect((await run({ user: 'dev' })).out.status).toBe('ok');

    const undone = await run({ undo: true });
    expect(undone.code).toBe(0);
    expect(undone.out).toMatchObject({ journal: fixed.out.journal, skipped: [] });
    expect([modeOf('home/dev/.ssh'), ownerOf('home/dev/.ssh')]).toEqual([0o777, '0:0']);
    expect(modeOf('home/dev/.ssh/authorized_keys')).toBe(0o666);
    expect(modeOf('home/dev/.ssh/known_hosts')).toBe(0o646);
    await expect(run({ undo: true })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message:
        'repair permissions --undo: nothing to undo: repair permissions has made no changes (or they were all undone).\nTry: cx-ops repair permissions --dry-run   (shows what a repair would change)',
    });
    // An id that was undone already is not undoable: it is named, with what is (nothing).
    await expect(run({ undo: fixed.out.journal })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message: `repair permissions --undo: '${fixed.out.journal}' is not the id of an undoable permissions change. There are none: repair permissions has made no changes (or they were all undone).\nTry: cx-ops repair permissions --dry-run   (shows what a repair would change)`,
    });
  });

  it('a damaged journal is CX_ERR_STATE_INVALID naming the file, not "nothing to undo" or a bare JSON error', async () => {
    const fixed = await run({ user: 'dev' });
    const journal = join(host.home, 'data/plugin-state/permissions/journal', `${fixed.out.journal}.json`);
    const good = readFileSync(journal, 'utf8');
    const cases: Array<[string, string]> = [
      ['{"id":', 'is not JSON (Unexpected end of JSON input)'],
      [
        good.replace('"changes": [', '"was": 1, "changes": ['),
        "field 'was' is not allowed here (unknown field) (found: 1)",
      ],
      [JSON.stringify({ ...JSON.parse(good), changes: 'x' }), `field 'changes' must be of type array (found: "x")`],
      [JSON.stringify({ ...JSON.parse(good), id: 'another' }), `field 'id' must name its own file (found: "another")`],
    ];
    for (const [text, detail] of cases) {
      writeFileSync(journal, text);
      for (const undo of [true, fixed.out.journal])
        await expect(run({ undo })).rejects.toMatchObject({
          code: 'CX_ERR_STATE_INVALID',
          exitCode: 2,
          message: expect.stringContaining(
            `${journal}: ${detail}. It is not a valid permissions journal (schemas/permissions-journal.schema.json).\nMove it aside (mv ${journal} ${journal}.damaged)`,
          ),
        });
    }
    expect(modeOf('home/dev/.ssh')).toBe(0o700); // nothing was undone from a journal it could not read
  });

  it('--undo with an unknown id is a usage error listing the undoable ids; nothing is undone', async () => {
    await expect(run({ undo: 'nosuchid', yes: true })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message:
        "repair permissions --undo: 'nosuchid' is not the id of an undoable permissions change. There are none: repair permissions has made no changes (or they were all undone).\nTry: cx-ops repair permissions --dry-run   (shows what a repair would change)",
    });
    const fixed = await run({ user: 'dev' });
    expect(fixed.out.status).toBe('repaired');
    await expect(run({ undo: 'nosuchid', yes: true })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message: `repair permissions --undo: 'nosuchid' is not the id of an undoable permissions change. Undoable changes, newest first: ${fixed.out.journal}.\nTry: cx-ops repair permissions --undo ${fixed.out.journal}`,
    });
    expect(modeOf('home/dev/.ssh')).toBe(0o700);
  });

  it("--cx: cx-ops' own directories get their owner and mode, world-writable files lose o+w", async () => {
    const etc = join(host.home, 'etc');
    chmodSync(etc, 0o777);
    chownSync(etc, 1234, 1234);
    chmodSync(join(etc, 'config.yaml'), 0o666);
    const r = await run({ cx: true });
    expect(r.out.scopes).toEqual(['cx']);
    const st = statSync(etc);
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o755, 0, 0]);
    expect(statSync(join(etc, 'config.yaml')).mode & 0o7777).toBe(0o664);
    expect(statSync(join(host.home, 'data')).mode & 0o7777).toBe(0o700);
    expect(modeOf('home/dev/.ssh')).toBe(0o777);
  });

  it('--user naming no such user lists the users there are', async () => {
    await expect(run({ user: 'opz' })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message: `repair permissions: no user 'opz' in ${root}/etc/passwd. Did you mean: ops? Users with a home: dev, ops\nTry: cx-ops repair permissions --user dev`,
    });
  });

  it('a bad policy is a catalogue error with file, line and field', async () => {
    const bad = join(__dirname, 'fixtures/policy-bad-mode/permissions-policy.yaml');
    await expect(run({ policy: bad })).rejects.toMatchObject({
      code: 'CX_ERR_POLICY_INVALID',
      exitCode: 2,
      message: `${bad}:8: field 'user[0].mode' must be an octal mode in quotes, like "0700" (found: "0999")\nFix it in ${bad}; the format is schemas/permissions-policy.schema.json.`,
    });
    const unknown = join(__dirname, 'fixtures/policy-unknown-owner/permissions-policy.yaml');
    await expect(run({ policy: unknown })).rejects.toMatchObject({
      code: 'CX_ERR_POLICY_INVALID',
      exitCode: 2,
      message: expect.stringContaining(
        `${unknown}:4: field 'cx[0].owner' names no user in ${root}/etc/passwd; use a name from there or a number (found: "nosuchuser")`,
      ),
    });
    const syntax = join(root, 'broken-policy.yaml');
    writeFileSync(syntax, 'version: 1\ncx: [\n');
    await expect(run({ policy: syntax })).rejects.toMatchObject({
      code: 'CX_ERR_YAML_SYNTAX',
      exitCode: 2,
      message: expect.stringMatching(
        new RegExp(`^${syntax}:3:1: .*\nFix the YAML syntax at that position and run the command again\\.$`),
      ),
    });
    const missing = join(root, 'no-such-policy.yaml');
    await expect(run({ policy: missing })).rejects.toMatchObject({
      code: 'CX_ERR_USAGE',
      exitCode: 2,
      message: `repair permissions: policy file ${missing} does not exist.\nTry: cx-ops repair permissions --policy ${host.home}/etc/permissions-policy.yaml   (or leave --policy out for the built-in policy)`,
    });
  });

  it('the shipped default policy matches the schema', () => {
    const schema = JSON.parse(readFileSync(join(__dirname, '../../../schemas/permissions-policy.schema.json'), 'utf8'));
    const policy = parse(
      readFileSync(join(__dirname, '../../../plugins-builtin/permissions/default-policy.yaml'), 'utf8'),
    );
    const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
    expect(validate(policy), JSON.stringify(validate.errors)).toBe(true);
  });
});
