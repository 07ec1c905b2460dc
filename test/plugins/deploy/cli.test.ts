// cx-ops deploy validate / plan / deps through the real launcher: exit codes, text and --json
// (errors included), the seed's messages, and bad input (not YAML, unknown service, --format).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LAUNCHER = fileURLToPath(new URL('../../../core/bin/cx-ops.js', import.meta.url));
const FULL = fileURLToPath(new URL('fixtures/full-stack.yaml', import.meta.url));
let root: string;

async function cx(args: string[], cwd?: string) {
  const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, '--root', root, ...args], {
    ...(cwd ? { cwd } : {}),
    reject: false,
    input: '',
    env: { PATH: process.env.PATH!, HOME: join(root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
    extendEnv: false,
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cx-deploy-cli-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('cx-ops deploy (read-only commands)', { timeout: 300_000 }, () => {
  it('validate: the full-stack example is valid; a broken one lists every problem and exits 2', async () => {
    const ok = await cx(['deploy', 'validate', FULL]);
    expect([ok.code, ok.stdout]).toEqual([0, `${FULL}: valid (9 services)`]);
    const bad = join(root, 'bad.yaml');
    writeFileSync(
      bad,
      'services:\n  a:\n    enable: true\n    ip: 127.0.0.5\n    hostname: a.test\n    depends_on: [b, ghost]\n  b:\n    enable: true\n    ip: 127.0.0.5\n    hostname: a.test\n    depends_on: [a]\n',
    );
    const r = await cx(['deploy', 'validate', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      [
        `${bad}:6:5: Error: Circular dependency detected: a`,
        '    a -> b -> a',
        '    Remove one of these depends_on entries.',
        `${bad}:6:21: Error: Missing service dependencies: ghost`,
        '    needed by a. Define services.ghost, or remove it from depends_on.',
        `${bad}:9:9: Error: Duplicate IP addresses: 127.0.0.5`,
        '    used by a, b; give each service its own IP.',
        `${bad}:10:15: Error: Duplicate hostnames: a.test`,
        '    used by a, b; give each service its own hostname.',
        `${bad}: 4 problems; the format is schemas/deploy-manifest.schema.json`,
      ].join('\n'),
    );
    const j = await cx(['deploy', 'validate', bad, '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({
      file: bad,
      valid: false,
      services: 2,
      problems: [{ line: 6, column: 5, message: 'Error: Circular dependency detected: a' }, {}, {}, {}],
    });
    // plan refuses it with the catalogue error; --json prints the error as JSON.
    const p = await cx(['deploy', 'plan', bad, '--json']);
    expect(p.code).toBe(2);
    expect(JSON.parse(p.stdout).error).toMatchObject({
      code: 'CX_ERR_DEPLOY_MANIFEST_INVALID',
      plugin: 'deploy',
      problems: [{ message: 'Error: Circular dependency detected: a' }, {}, {}, {}],
    });
  });

  it('a file that is not YAML: line and column, exit 2, no stack', async () => {
    const f = join(root, 'broken.yaml');
    writeFileSync(f, 'services:\n  a: {enable: true, ip: "127.0.0.1"\n');
    const r = await cx(['deploy', 'plan', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error\\[CX_ERR_DEPLOY_MANIFEST_INVALID\\]: ${f}: 1 problem:\\n${f}:3:1: Error: Not a YAML or JSON manifest: `,
      ),
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('plan: text, json and dot', async () => {
    const text = await cx(['deploy', 'plan', FULL]);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n').filter((l) => l.startsWith('Wave'))).toEqual([
      'Wave 1 (1 service):',
      'Wave 2 (2 services):',
      'Wave 3 (1 service):',
      'Wave 4 (2 services):',
      'Wave 5 (1 service):',
      'Wave 6 (1 service):',
    ]);
    expect(text.stdout).toContain('Disabled (not deployed): mail');
    const json = JSON.parse((await cx(['deploy', 'plan', FULL, '--format', 'json'])).stdout);
    expect(json.waves[2]).toMatchObject({
      wave: 3,
      services: [{ name: 'authentik', reason: 'after postgresql, caddy (wave 2)' }],
    });
    const dot = await cx(['deploy', 'plan', FULL, '--format', 'dot']);
    expect(dot.stdout).toMatch(/^digraph deployment \{\n/);
    expect(dot.stdout).toContain('  "postgresql" -> "authentik";');
    const bad = await cx(['deploy', 'plan', FULL, '--format', 'svg']);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      `error[CX_ERR_USAGE]: deploy plan: --format must be text, json or dot (got 'svg')\nTry: cx-ops --root ${root} deploy plan ${FULL} --format dot | dot -Tsvg > plan.svg`,
    ]);
  });

  it('deps: transitive, --reverse, and an unknown service with close names', async () => {
    expect((await cx(['deploy', 'deps', FULL, 'vaultwarden'])).stdout).toBe('authentik\npostgresql\ncaddy\ndns');
    expect(JSON.parse((await cx(['deploy', 'deps', FULL, 'media', '--reverse', '--json'])).stdout)).toEqual({
      service: 'media',
      dependents: ['monitoring', 'mail'],
    });
    const r = await cx(['deploy', 'deps', FULL, 'postgres']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error\\[CX_ERR_USAGE\\]: ${FULL} has no service 'postgres'\\. Did you mean: postgresql\\? Services: dns, postgresql, caddy`,
      ),
    );
  });

  it('apply --only picks services (unknown ones are refused with close names); --dry-run changes nothing', async () => {
    const r = await cx(['deploy', 'apply', FULL, '--only', 'authentik', 'caddy', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      status: 'planned',
      dry_run: true,
      message: 'dry run: would deploy 2 services in 2 wave(s); nothing was changed',
    });
    expect(report.services.map((s: { name: string; wave: number }) => [s.name, s.wave])).toEqual([
      ['caddy', 2],
      ['authentik', 3],
    ]);
    const bad = await cx(['deploy', 'apply', FULL, '--only', 'authentic', '-y']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error\[CX_ERR_USAGE\]: .* has no service 'authentic'\. Did you mean: authentik\?/);
  });

  it('FILE is read relative to the working directory (not under --root)', async () => {
    const r = await cx(['deploy', 'validate', 'fixtures/full-stack.yaml'], dirname(dirname(FULL)));
    expect([r.code, r.stdout, r.stderr]).toEqual([0, `${FULL}: valid (9 services)`, '']);
    const missing = await cx(['deploy', 'plan', 'no-such.yaml', '--json'], root);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toEqual({
      error: {
        code: 'CX_ERR_IO',
        plugin: 'deploy',
        message: `${join(root, 'no-such.yaml')}: cannot read the manifest: no such file or directory. Check the path (it is read relative to the working directory, not under --root).`,
        exit: 2,
        docs: 'docs/errors.md#cx_err_io',
      },
    });
  });

  it("status SERVICE --script prints that service's health check script (the seed's generateHealthCheck)", async () => {
    const r = await cx(['deploy', 'status', FULL, 'dns', '--script']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/sh\n# Health check of dns \(/);
    expect(r.stdout).toContain('systemctl is-active --quiet unbound || return 2');
    const bad = await cx(['deploy', 'status', FULL, 'dnss', '--script']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error\[CX_ERR_USAGE\]: .* has no service 'dnss'\. Did you mean: dns\?/);
  });

  it("rollback --script and status --script print the seed's generated scripts", async () => {
    const rb = await cx(['deploy', 'rollback', FULL, 'authentik', '--script']);
    expect(rb.code).toBe(0);
    expect(
      rb.stdout
        .split('\n')
        .filter((l) => l.startsWith('echo'))
        .map((l) => l.split(';')[0]),
    ).toEqual([
      "echo 'stopping monitoring'",
      "echo 'stopping media'",
      "echo 'stopping nextcloud'",
      "echo 'stopping vaultwarden'",
      "echo 'stopping authentik'",
    ]);
    const st = await cx(['deploy', 'status', FULL, '--script']);
    expect(st.stdout).toMatch(/^#!\/bin\/sh\n/);
    expect(st.stdout).toContain('check_dns() {\n  systemctl is-active --quiet unbound || return 2\n}');
  });
});
