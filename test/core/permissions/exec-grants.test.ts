// The exec grant language keeps its promises: `*` never crosses `/`, an anchored glob stays in
// its directory after realpath, programs that read code or output paths from arguments refuse
// wildcards there, a write grant + a config-reading program needs an explicit trust-config,
// and the environment is the kernel's allow-list. Real programs, real files in a temp dir.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { CxError } from '../../../core/errors.js';
import {
  mergeGrants,
  narrowGrants,
  parseGrant,
  requestedGrants,
  type Grants,
} from '../../../core/permissions/grants.js';
import { matchArg } from '../../../core/permissions/patterns.js';
import { rejection } from '../../helpers/rejection.js';

const grants = (...g: string[]): Grants => mergeGrants(g.map(parseGrant));
const boxed = (g: Grants) =>
  createHostCapabilities({ plugin: 'p', tier: 'sandboxed', grants: g, dryRun: false, audit: AuditLog.memory() });
function thrown(f: () => unknown): CxError {
  try {
    f();
  } catch (e) {
    return e as CxError;
  }
  throw new Error('expected a throw');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-exec-grants-'));
  await mkdir(join(dir, 'logs/sub'), { recursive: true });
  await writeFile(join(dir, 'logs/a.log'), 'inside\n');
  await writeFile(join(dir, 'logs/sub/b.log'), 'deeper\n');
  await writeFile(join(dir, 'secret'), 'outside\n');
  await symlink(join(dir, 'secret'), join(dir, 'logs/link.log'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('argument patterns', () => {
  it('* never crosses /, ** does; a glob never matches a .. segment it does not spell', () => {
    expect(matchArg('/var/log/*', '/var/log/syslog')).toBe(true);
    expect(matchArg('/var/log/*', '/var/log/nginx/access.log')).toBe(false);
    expect(matchArg('/var/log/**', '/var/log/nginx/access.log')).toBe(true);
    expect(matchArg('/var/log/*', '/var/log/..')).toBe(false);
    expect(matchArg('/var/log/**', '/var/log/../../etc/passwd')).toBe(false);
    expect(matchArg('*', 'a/b')).toBe(false);
    expect(matchArg('--output=/tmp/*', '--output=/tmp/x')).toBe(true);
  });

  it('a glob anchored in a directory allows only paths that resolve inside it', async () => {
    const caps = boxed(grants(`exec:cat ${dir}/logs/*`, `exec:cat ${dir}/logs/**`));
    expect((await caps.exec.run('cat', [`${dir}/logs/a.log`])).stdout).toBe('inside\n');
    expect((await caps.exec.run('cat', [`${dir}/logs/sub/b.log`])).stdout).toBe('deeper\n');
    const link = await rejection(caps.exec.run('cat', [`${dir}/logs/link.log`]));
    expect(link.toJSON()).toEqual({
      code: 'CX_ERR_PERMISSION_DENIED',
      plugin: 'p',
      message: `plugin 'p' may not run '${['cat', `${dir}/logs/link.log`].join(' ')}' (argument 1 ('${dir}/logs/link.log') resolves outside ${dir}/logs): its grant allows 'cat ${dir}/logs/*', 'cat ${dir}/logs/**'.\nThis cannot be granted.`,
    });
    expect((await rejection(caps.exec.run('cat', [`${dir}/logs/../secret`]))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect((await rejection(caps.exec.run('cat', [`${dir}/logs/sub/../../secret`]))).code).toBe(
      'CX_ERR_PERMISSION_DENIED',
    );
  });
});

describe('programs that read code, programs or output paths from their arguments', () => {
  it.each([
    [
      'exec:sed -n * /var/log/syslog',
      "sed reads a script from its first operand or -e/-f (a script can run commands with 'e' and write files with 'w'): its program text '*' must be spelled out",
    ],
    [
      'exec:sed -e * /var/log/syslog',
      "sed reads a script from its first operand or -e/-f (a script can run commands with 'e' and write files with 'w'): the value '*' of -e must be spelled out, or be a path pattern anchored in a directory (/dir/*)",
    ],
    [
      'exec:awk ...',
      "awk reads a program from its first operand or -f (a program can run commands with system() and write files): '...' could supply the program text; spell it out",
    ],
    [
      'exec:find /var -exec * ;',
      "find runs the commands after -exec/-execdir/-ok/-okdir and writes the files named after -fprint/-fprintf/-fls: '*' after -exec could run any command; spell the command out",
    ],
    [
      'exec:find /var -fprint *',
      "find runs the commands after -exec/-execdir/-ok/-okdir and writes the files named after -fprint/-fprintf/-fls: the value '*' of -fprint must be spelled out, or be a path pattern anchored in a directory (/dir/*)",
    ],
    [
      'exec:tar --to-command=* -xf /tmp/a.tar',
      'tar runs programs named by --to-command, --use-compress-program/-I, --rsh-command, --info-script/-F and --checkpoint-action, and writes the archive and directory it is given: the value of --to-command must be spelled out, or be a path pattern anchored in a directory (--to-command=/dir/*)',
    ],
    [
      'exec:tar -czf * /etc',
      "tar runs programs named by --to-command, --use-compress-program/-I, --rsh-command, --info-script/-F and --checkpoint-action, and writes the archive and directory it is given: the value '*' of -czf must be spelled out, or be a path pattern anchored in a directory (/dir/*)",
    ],
    [
      'exec:git * HEAD',
      "git picks a subcommand from its first operand, takes configuration from -c (a pager, an alias or a hook runs code) and writes files named by --output: its subcommand '*' must be spelled out",
    ],
    [
      'exec:git log --*',
      "git picks a subcommand from its first operand, takes configuration from -c (a pager, an alias or a hook runs code) and writes files named by --output: the option pattern '--*' could stand for any option; spell the option out (e.g. --name=VALUE-PATTERN)",
    ],
    [
      'exec:rsync -a * /backup/',
      "rsync runs the remote shell and rsync program it is given (-e, --rsh-path) and writes its destination: the operand pattern '*' must be an absolute path anchored in a directory (/dir/*)".replace(
        '--rsh-path',
        '--rsync-path',
      ),
    ],
    [
      'exec:env *',
      "env runs the program its arguments name, so its arguments must be spelled out: '*' could stand for anything",
    ],
    [
      'exec:xargs ...',
      "xargs runs the program its arguments name, so its arguments must be spelled out: '...' could stand for anything",
    ],
    [
      'exec:sh -c *',
      "sh interprets its arguments (or the files they name) as code, so its arguments must be spelled out: '*' could stand for anything",
    ],
    [
      'exec:python3.11 *',
      "python3.11 interprets its arguments (or the files they name) as code, so its arguments must be spelled out: '*' could stand for anything",
    ],
  ])('%s is refused, saying why', (grant, detail) => {
    expect(thrown(() => parseGrant(grant)).toJSON()).toEqual({
      code: 'CX_ERR_GRANT_UNSAFE',
      message: `grant '${grant}' is refused: ${detail}.\nAsk for (or grant) the exact arguments instead; a wildcard may only stand where the program reads data.`,
    });
  });

  it('the same holds for a manifest request', () => {
    expect(thrown(() => requestedGrants({ exec: [{ command: 'sed', args: ['-n', '*', '/etc/hosts'] }] })).code).toBe(
      'CX_ERR_GRANT_UNSAFE',
    );
  });

  it.each([
    'exec:sed -n 1p /var/log/*',
    'exec:sed -n -e 1p *',
    'exec:awk -F: {print} /etc/passwd',
    'exec:find /var -name *.log',
    'exec:tar -czf /tmp/*.tgz ...',
    'exec:git log --format=* *',
    'exec:git -C /srv/repo log',
    'exec:rsync -a /srv/data/* /backup/',
    'exec:sort -o /tmp/out/* /var/log/x',
    'exec:systemctl is-active *',
  ])('%s stays allowed: wildcards stand only where data is read', (grant) => {
    expect(() => parseGrant(grant)).not.toThrow();
  });
});

describe('a write grant plus a program that reads its configuration from that directory', () => {
  const request = () => requestedGrants({ exec: ['git log', 'make all'], write: ['/srv/repo'] });

  it('is refused when granted, naming the confirmation', () => {
    expect(
      thrown(() => narrowGrants(request(), grants('exec:git log', 'write:/srv/repo'), 'repo-tool')).toJSON(),
    ).toEqual({
      code: 'CX_ERR_GRANT_UNSAFE',
      plugin: 'repo-tool',
      message:
        "grant 'exec:git log' for plugin 'repo-tool' is refused: the plugin may also write /srv/repo, and git reads a repository's .git/config, hooks and attributes (an alias, filter, pager or hook runs code) from the directory it runs in; a planted configuration there runs any code.\nIf you accept that, grant also: cx-ops plugins grant repo-tool trust-config:git",
    });
  });

  it('is allowed once the operator grants trust-config for that program (and only that one)', () => {
    const g = narrowGrants(request(), grants('exec:git log', 'write:/srv/repo', 'trust-config:git'), 'repo-tool');
    expect(g.trustConfig).toEqual(['git']);
    expect(
      thrown(() =>
        narrowGrants(
          request(),
          grants('exec:git log', 'exec:make all', 'write:/srv/repo', 'trust-config:git'),
          'repo-tool',
        ),
      ).message,
    ).toContain('make reads the Makefile');
    expect(() => narrowGrants(request(), grants('exec:git log'), 'repo-tool')).not.toThrow();
  });

  it('git runs with configuration lookups neutralised: a planted fsmonitor or pager does not run', async () => {
    if (!existsSync('/usr/bin/git')) return;
    const repo = join(dir, 'repo');
    const marker = join(dir, 'planted-ran');
    const trusted = createHostCapabilities({
      plugin: 'setup',
      tier: 'trusted',
      grants: 'all',
      dryRun: false,
      audit: AuditLog.memory(),
    });
    await trusted.exec.run('git', ['init', '-q', repo]);
    await writeFile(
      join(repo, '.git/config'),
      `[core]\n\tfsmonitor = touch ${marker}\n\tpager = touch ${marker}\n[alias]\n\tst = !touch ${marker}\n`,
      { flag: 'a' },
    );
    const caps = boxed(grants(`exec:git -C ${repo} status`));
    const r = await caps.exec.run('git', ['-C', repo, 'status']);
    expect(r.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('the environment of a granted program', () => {
  it.each([
    'npm_config_script_shell',
    'TAR_OPTIONS',
    'MAKEFLAGS',
    'GIT_CONFIG_GLOBAL',
    'LD_PRELOAD',
    'BASH_ENV',
    'PYTHONPATH',
    'path',
    'Home',
  ])('%s cannot be added', async (name) => {
    const e = await rejection(boxed(grants('exec:env')).exec.run('env', [], { env: { [name]: '/tmp/x' } }));
    expect(e.code).toBe('CX_ERR_PERMISSION_DENIED');
    expect(e.message).toContain(`the environment variable ${name} is not one a program may be given`);
  });

  it('allowed names pass, but not a locale that names a path', async () => {
    const caps = boxed(grants('exec:env'));
    expect((await caps.exec.run('env', [], { env: { LC_ALL: 'C', TZ: 'Europe/Paris' } })).stdout).toMatch(
      /^LC_ALL=C$/m,
    );
    expect((await rejection(caps.exec.run('env', [], { env: { LC_ALL: '/tmp/evil-locale' } }))).message).toContain(
      'the value of LC_ALL may not name a path',
    );
  });
});
