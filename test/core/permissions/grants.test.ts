import { describe, expect, it } from 'vitest';
import { CxError } from '../../../core/errors.js';
import { explainDenial } from '../../../core/permissions/explain.js';
import {
  formatGrants,
  narrowGrants,
  noGrants,
  parseGrant,
  readOnlyGrants,
  requestedGrants,
  type Grants,
} from '../../../core/permissions/grants.js';
import { checkExec, netGranted, pathGranted } from '../../../core/permissions/match.js';
import { matchArgs } from '../../../core/permissions/patterns.js';

const exec = (...rules: string[]): Grants => ({
  ...noGrants(),
  exec: rules.map((r) => parseGrant(`exec:${r}`).exec[0]!),
});

function thrown(f: () => unknown): CxError {
  try {
    f();
  } catch (e) {
    return e as CxError;
  }
  throw new Error('did not throw');
}

describe('parseGrant / formatGrants', () => {
  it('parses each kind of grant', () => {
    expect(parseGrant('exec:systemctl is-active *')).toEqual({
      ...noGrants(),
      exec: [{ command: 'systemctl', args: ['is-active', '*'] }],
    });
    expect(parseGrant('read:/proc/')).toEqual({ ...noGrants(), read: ['/proc'] });
    expect(parseGrant('write:/var/lib/x/../y')).toEqual({ ...noGrants(), write: ['/var/lib/y'] });
    expect(parseGrant('net:127.0.0.1:8080')).toEqual({ ...noGrants(), net: [{ host: '127.0.0.1', port: 8080 }] });
    expect(parseGrant('net:[::1]:*')).toEqual({ ...noGrants(), net: [{ host: '::1', port: '*' }] });
    expect(parseGrant('registry')).toEqual({ ...noGrants(), registry: true });
  });

  it('round-trips through formatGrants, quoting included', () => {
    for (const s of [
      "exec:echo 'hello world' \\* '*' ...",
      'exec:/usr/bin/df -h',
      'read:/proc',
      'net:[::1]:53',
      'net:example.org:*',
      'registry',
      "exec:printf ''",
    ]) {
      const g = parseGrant(s);
      const again = formatGrants(g);
      expect(again).toHaveLength(1);
      expect(parseGrant(again[0]!)).toEqual(g);
    }
    expect(parseGrant("exec:echo 'a b' \\*").exec[0]!.args).toEqual(['a b', '\\*']);
  });

  it('rejects malformed grants with the grant and the reason', () => {
    const e = thrown(() => parseGrant('read:relative/path'));
    expect(e).toBeInstanceOf(CxError);
    expect(e.code).toBe('CX_ERR_GRANT_SYNTAX');
    expect(e.message).toContain("grant 'read:relative/path' is not valid: the path 'relative/path' must be absolute");
    expect(thrown(() => parseGrant('exec:')).message).toContain('it names no command');
    expect(thrown(() => parseGrant('net:host:70000')).message).toContain('port 70000 is not in 1-65535');
    expect(thrown(() => parseGrant('net:*:80')).message).toContain('no wildcards');
    expect(thrown(() => parseGrant('shell:rm')).code).toBe('CX_ERR_GRANT_SYNTAX');
    expect(thrown(() => parseGrant("exec:echo 'open")).message).toContain('quote is not closed');
    expect(thrown(() => parseGrant('exec:ls ... -l')).message).toContain("'...' may only be the last");
  });

  it('reads a manifest permissions section (strings and objects)', () => {
    const g = requestedGrants({
      exec: ['systemctl is-active my-service', { command: 'df', args: ['-h', '*'] }, { command: 'uptime' }],
      read: ['/proc'],
      net: ['127.0.0.1:*'],
      registry: true,
    });
    expect(g).toEqual({
      exec: [
        { command: 'systemctl', args: ['is-active', 'my-service'] },
        { command: 'df', args: ['-h', '*'] },
        { command: 'uptime', args: [] },
      ],
      read: ['/proc'],
      write: [],
      net: [{ host: '127.0.0.1', port: '*' }],
      registry: true,
    });
    expect(requestedGrants(undefined)).toEqual(noGrants());
  });
});

describe('exec argument patterns', () => {
  it('matches literals, globs and arity exactly', () => {
    expect(matchArgs(['is-active', '*'], ['is-active', 'nginx'])).toBe(true);
    expect(matchArgs(['is-active', '*'], ['is-active'])).toBe(false);
    expect(matchArgs(['is-active', '*'], ['is-active', 'a', 'b'])).toBe(false);
    expect(matchArgs(['log', '...'], ['log', 'a', 'b'])).toBe(true);
    expect(matchArgs(['--output=/tmp/*'], ['--output=/tmp/x'])).toBe(true);
    expect(matchArgs(['\\*'], ['*'])).toBe(true);
    expect(matchArgs(['\\*'], ['x'])).toBe(false);
  });

  it('never lets a non-option glob or ... match an option (option injection)', () => {
    expect(matchArgs(['log', '*'], ['log', '--output=/etc/x'])).toBe(false);
    expect(matchArgs(['*', 'status'], ['-c', 'status'])).toBe(false);
    expect(matchArgs(['/var', '...'], ['/var', '-exec', 'rm', '{}', ';'])).toBe(false);
    expect(matchArgs(['-czf', '/tmp/*.tgz', '...'], ['-czf', '/tmp/a.tgz', '--checkpoint-action=exec=sh'])).toBe(false);
    expect(matchArgs(['*'], ['a\0b'])).toBe(false);
  });

  it('checks grants for real programs on the fixed PATH', () => {
    const g = exec('git log *', 'find /var ...', 'tar -czf /tmp/*.tgz ...', 'ls', '/bin/echo ...');
    expect(checkExec(g, 'git', ['log', 'HEAD'])).toMatchObject({ allowed: true });
    expect(checkExec(g, 'git', ['-c', 'core.pager=sh', 'log', 'x'])).toMatchObject({
      allowed: false,
      reason: 'its arguments match no exec grant',
    });
    expect(checkExec(g, 'git', ['log', '--output=/etc/x'])).toMatchObject({ allowed: false, grantable: true });
    expect(checkExec(g, 'find', ['/var', '-exec', 'sh', ';'])).toMatchObject({ allowed: false });
    expect(checkExec(g, 'tar', ['-czf', '/tmp/a.tgz', '--checkpoint-action=exec=sh', 'x'])).toMatchObject({
      allowed: false,
    });
    expect(checkExec(g, 'rm', ['-rf', '/'])).toMatchObject({ allowed: false, reason: 'the command has no exec grant' });
    expect(checkExec(g, 'ls', [])).toMatchObject({ allowed: true });
    expect(checkExec(g, 'ls', ['-l'])).toMatchObject({ allowed: false });
    // /bin/echo and /usr/bin/echo are the same program on a merged-/usr system; a bare name resolves on the fixed PATH.
    expect(checkExec(g, 'echo', ['hi'])).toMatchObject({ allowed: true });
    expect(checkExec(g, 'echo', ['a\0b'])).toMatchObject({ allowed: false, grantable: false });
    expect(checkExec(g, './ls', [])).toMatchObject({ allowed: false, grantable: false });
  });

  it('paths and hosts', () => {
    expect(pathGranted(['/srv/data'], '/srv/data/x')).toBe(true);
    expect(pathGranted(['/srv/data'], '/srv/database')).toBe(false);
    expect(pathGranted(['/'], '/etc/shadow')).toBe(true);
    expect(netGranted([{ host: '127.0.0.1', port: 8080 }], '127.0.0.1', 8080)).toBe(true);
    expect(netGranted([{ host: '127.0.0.1', port: 8080 }], 'localhost', 8080)).toBe(false);
    expect(netGranted([{ host: '::1', port: '*' }], '[::1]', 53)).toBe(true);
  });
});

describe('narrowGrants', () => {
  const requested = requestedGrants({
    exec: ['systemctl is-active *', 'journalctl ...', 'find /var *'],
    read: ['/var/log'],
    net: ['127.0.0.1:*'],
    registry: false,
  });

  it('accepts equal or narrower grants and returns them', () => {
    const granted = [
      parseGrant('exec:systemctl is-active nginx'),
      parseGrant('exec:journalctl x'),
      parseGrant('read:/var/log/apt'),
      parseGrant('net:127.0.0.1:80'),
    ];
    const g = narrowGrants(
      requested,
      {
        exec: granted.flatMap((x) => x.exec),
        read: ['/var/log/apt'],
        write: [],
        net: [{ host: '127.0.0.1', port: 80 }],
        registry: false,
      },
      'p',
    );
    expect(formatGrants(g)).toEqual([
      'exec:systemctl is-active nginx',
      'exec:journalctl x',
      'read:/var/log/apt',
      'net:127.0.0.1:80',
    ]);
  });

  it('refuses a wider grant, naming it and the request', () => {
    for (const wider of [
      'exec:systemctl restart nginx',
      'exec:systemctl is-active --all',
      'exec:journalctl --file=/etc/shadow',
      'exec:find /var -delete',
      'read:/var',
      'net:127.0.0.2:80',
      'net:localhost:80',
      'exec:journalctl -u x',
      'registry',
      'exec:/usr/bin/git log',
    ]) {
      const e = thrown(() => narrowGrants(requested, parseGrant(wider), 'log-reader'));
      expect(e.code, wider).toBe('CX_ERR_GRANT_WIDER');
      expect(e.plugin).toBe('log-reader');
      expect(e.message).toContain(
        `grant '${wider}' for plugin 'log-reader' is not within what its manifest requests (exec:systemctl is-active *, exec:journalctl ..., exec:find /var *, read:/var/log, net:127.0.0.1:*)`,
      );
    }
    expect(narrowGrants(requested, parseGrant('exec:journalctl'), 'p').exec).toHaveLength(1);
  });

  it('read-only drops exec, write and net', () => {
    expect(readOnlyGrants({ ...requested, write: ['/x'] })).toEqual({
      exec: [],
      read: ['/var/log'],
      write: [],
      net: [],
      registry: false,
    });
  });
});

describe('explainDenial', () => {
  it('names plugin, capability, argument, what is granted, and the grant command', () => {
    const e = explainDenial({
      plugin: 'disk-guard',
      capability: 'exec',
      target: 'rm',
      args: ['-rf', '/tmp/x'],
      grants: exec('df', 'du *'),
    });
    expect(e.toJSON()).toEqual({
      code: 'CX_ERR_PERMISSION_DENIED',
      plugin: 'disk-guard',
      message:
        "plugin 'disk-guard' may not run 'rm -rf /tmp/x': its grant allows 'df', 'du *'.\nGrant it with: cx-ops plugins grant disk-guard 'exec:rm -rf /tmp/x'",
    });
    const r = explainDenial({
      plugin: 'p',
      capability: 'read',
      target: '/etc/shadow',
      grants: noGrants(),
      reason: "'/srv/../etc/shadow' resolves there",
    });
    expect(r.message).toBe(
      "plugin 'p' may not read '/etc/shadow' ('/srv/../etc/shadow' resolves there): it has no read grant.\nGrant it with: cx-ops plugins grant p read:/etc/shadow",
    );
    const n = explainDenial({
      plugin: 'p',
      capability: 'exec',
      target: 'ls',
      args: ['a\0'],
      grants: noGrants(),
      grantable: false,
    });
    expect(n.message).toContain('This cannot be granted.');
  });
});
