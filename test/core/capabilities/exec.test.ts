import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { ALLOWED_ENV, NEUTRAL_ENV } from '../../../core/capabilities/exec.js';
import { CxError } from '../../../core/errors.js';
import { rejection } from '../../helpers/rejection.js';
import { parseGrant, type Grants } from '../../../core/permissions/grants.js';
import { mergeGrants } from '../../../core/permissions/grants.js';

const grants = (...g: string[]): Grants => mergeGrants(g.map(parseGrant));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead for our purposes.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-exec-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('exec capability', () => {
  it('runs a granted command without a shell, in a scrubbed environment, and audits it', async () => {
    const audit = AuditLog.memory();
    const caps = createHostCapabilities({
      plugin: 'p',
      tier: 'sandboxed',
      grants: grants('exec:env', 'exec:echo ...'),
      dryRun: false,
      audit,
    });
    const r = await caps.exec.run('env', [], {});
    expect(r).toMatchObject({
      command: 'env',
      exitCode: 0,
      signal: null,
      timedOut: false,
      truncated: false,
      dryRun: false,
      stderr: '',
    });
    expect(r.stdout.trim().split('\n').sort()).toEqual(
      [
        'HOME=/nonexistent',
        'LANG=C.UTF-8',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        ...Object.entries(NEUTRAL_ENV).map(([k, v]) => `${k}=${v}`),
      ].sort(),
    );
    expect((await caps.exec.run('echo', ['$HOME', '`id`;', 'x'])).stdout).toBe('$HOME `id`; x\n');
    expect(audit.records.map(({ ts: _ts, ...r }) => r)).toEqual([
      {
        plugin: 'p',
        tier: 'sandboxed',
        capability: 'exec',
        op: 'run',
        target: 'env',
        args: [],
        allowed: true,
        reason: undefined,
        dryRun: false,
      },
      {
        plugin: 'p',
        tier: 'sandboxed',
        capability: 'exec',
        op: 'run',
        target: 'echo',
        args: ['$HOME', '`id`;', 'x'],
        allowed: true,
        reason: undefined,
        dryRun: false,
      },
    ]);
  });

  it('denies an ungranted command and argument tricks against a granted one, naming the fix', async () => {
    const audit = AuditLog.memory();
    const caps = createHostCapabilities({
      plugin: 'repo-check',
      tier: 'sandboxed',
      grants: grants('exec:git log *', 'exec:find /var ...', 'exec:tar -czf /tmp/*.tgz ...', 'exec:echo ...'),
      dryRun: false,
      audit,
    });
    const e = await rejection(caps.exec.run('rm', ['-rf', '/tmp/x']));
    expect(e.toJSON()).toEqual({
      code: 'CX_ERR_PERMISSION_DENIED',
      plugin: 'repo-check',
      message:
        "plugin 'repo-check' may not run 'rm -rf /tmp/x': its grant allows 'git log *', 'find /var ...', 'tar -czf /tmp/*.tgz ...', 'echo ...'.\nGrant it with: cx-ops plugins grant repo-check 'exec:rm -rf /tmp/x'",
    });
    for (const [cmd, args] of [
      ['git', ['-c', 'core.pager=sh -c id', 'log', 'x']],
      ['git', ['log', '--output=/etc/x']],
      ['find', ['/var', '-exec', 'sh', '-c', 'id', ';']],
      ['tar', ['-czf', '/tmp/a.tgz', '--checkpoint-action=exec=id', 'x']],
      ['/usr/bin/env', ['sh']],
    ] as Array<[string, string[]]>) {
      const d = await rejection(caps.exec.run(cmd, args));
      expect(d.code).toBe('CX_ERR_PERMISSION_DENIED');
      expect(d.message).toContain(`may not run '${[cmd, ...args].join(' ')}'`);
    }
    const env = await rejection(caps.exec.run('echo', ['x'], { env: { LD_PRELOAD: '/tmp/evil.so' } }));
    expect(env.message).toBe(
      `plugin 'repo-check' may not run 'echo x' (the environment variable LD_PRELOAD is not one a program may be given (allowed: ${[...ALLOWED_ENV].join(', ')})): its grant allows 'git log *', 'find /var ...', 'tar -czf /tmp/*.tgz ...', 'echo ...'.\nThis cannot be granted.`,
    );
    expect(audit.records.filter((r) => !r.allowed)).toHaveLength(7);
    expect(audit.records.every((r) => r.plugin === 'repo-check' && r.capability === 'exec')).toBe(true);
  });

  it('trusted tier: no grant checks, but every call is audited and dry-run still applies', async () => {
    const audit = AuditLog.memory();
    const recorder = { actions: [] as string[] };
    const caps = createHostCapabilities({
      plugin: 'builtin',
      tier: 'trusted',
      grants: 'all',
      dryRun: true,
      audit,
      recorder,
    });
    expect(await caps.exec.run('rm', ['-rf', join(dir, 'x')])).toMatchObject({ dryRun: true, exitCode: 0 });
    expect(await caps.fs.readFile('/proc/loadavg')).toMatch(/^\d/);
    expect(recorder.actions).toEqual([`exec: rm -rf ${join(dir, 'x')}`]);
    expect(audit.records.map((r) => [r.tier, r.capability, r.op, r.allowed, r.dryRun])).toEqual([
      ['trusted', 'exec', 'run', true, true],
      ['trusted', 'fs', 'readFile', true, true],
    ]);
    // Still no way to smuggle loader variables in, even when trusted.
    expect((await rejection(caps.exec.run('true', [], { env: { NODE_OPTIONS: '--require /tmp/x.js' } }))).code).toBe(
      'CX_ERR_PERMISSION_DENIED',
    );
  });

  it('runs in a working directory only inside a read grant', async () => {
    const caps = createHostCapabilities({
      plugin: 'p',
      tier: 'sandboxed',
      grants: grants('exec:pwd', `read:${dir}`),
      dryRun: false,
      audit: AuditLog.memory(),
    });
    expect((await caps.exec.run('pwd', [], { cwd: dir })).stdout).toBe(`${dir}\n`);
    const e = await rejection(caps.exec.run('pwd', [], { cwd: '/etc' }));
    expect(e.message).toBe(
      `plugin 'p' may not read '/etc' (working directory of 'pwd'): its grant allows '${dir}'.\nGrant it with: cx-ops plugins grant p read:/etc`,
    );
  });

  it('kills the whole process group on timeout: no orphan survives', async () => {
    const caps = createHostCapabilities({
      plugin: 'p',
      tier: 'trusted',
      grants: 'all',
      dryRun: false,
      audit: AuditLog.memory(),
    });
    const pidFile = join(dir, 'pids');
    const r = await caps.exec.run(
      'sh',
      ['-c', `sleep 100 & echo $! > ${pidFile}; sleep 100 & echo $! >> ${pidFile}; echo $$ >> ${pidFile}; wait`],
      { timeoutMs: 500 },
    );
    expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(3);
    await new Promise((res) => setTimeout(res, 200));
    expect(pids.filter(alive)).toEqual([]);
  });

  it('kills background children left behind after a normal exit', async () => {
    const caps = createHostCapabilities({
      plugin: 'p',
      tier: 'trusted',
      grants: 'all',
      dryRun: false,
      audit: AuditLog.memory(),
    });
    const r = await caps.exec.run('sh', ['-c', 'sleep 100 & echo $!']);
    expect(r.exitCode).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(alive(Number(r.stdout.trim()))).toBe(false);
  });

  it('caps captured output and reports a missing program as exit 127', async () => {
    const caps = createHostCapabilities({
      plugin: 'p',
      tier: 'trusted',
      grants: 'all',
      dryRun: false,
      audit: AuditLog.memory(),
    });
    const r = await caps.exec.run('head', ['-c', String(3 * 1024 * 1024), '/dev/zero']);
    expect(r).toMatchObject({ exitCode: 0, truncated: true });
    expect(r.stdout.length).toBe(1024 * 1024);
    expect(r.stdout.length).toBe(1024 * 1024);
    // A trusted plugin may raise the stdout cap (bounded at 256 MiB); a sandboxed one only lower it.
    const big = await caps.exec.run('head', ['-c', String(3 * 1024 * 1024), '/dev/zero'], {
      maxOutputBytes: 4 * 1024 * 1024,
    });
    expect([big.truncated, big.stdout.length]).toEqual([false, 3 * 1024 * 1024]);
    const boxed = createHostCapabilities({
      plugin: 'p',
      tier: 'sandboxed',
      grants: grants('exec:head -c * /dev/zero'),
      dryRun: false,
      audit: AuditLog.memory(),
    });
    const asked = await boxed.exec.run('head', ['-c', String(3 * 1024 * 1024), '/dev/zero'], {
      maxOutputBytes: 1024 * 1024 * 1024,
    });
    expect([asked.truncated, asked.stdout.length]).toEqual([true, 1024 * 1024]);
    const lowered = await boxed.exec.run('head', ['-c', '100', '/dev/zero'], { maxOutputBytes: 10 });
    expect([lowered.truncated, lowered.stdout.length]).toEqual([true, 10]);
    expect(await caps.exec.run('no-such-program-cx', [])).toMatchObject({
      exitCode: 127,
      stderr: 'no-such-program-cx: command not found\n',
    });
    expect(await caps.exec.run('sh', ['-c', 'exit 3'])).toMatchObject({ exitCode: 3 });
    expect((await caps.exec.run('cat', [], { input: 'piped' })).stdout).toBe('piped');
  });

  it('dry run records instead of running, after the grant check; fakes see only allowed calls', async () => {
    const recorder = { actions: [] as string[] };
    const marker = join(dir, 'must-not-exist');
    const caps = createHostCapabilities({
      plugin: 'p',
      tier: 'sandboxed',
      grants: grants(`exec:touch ${dir}/*`),
      dryRun: true,
      audit: AuditLog.memory(),
      recorder,
    });
    expect(await caps.exec.run('touch', [marker])).toEqual({
      command: 'touch',
      args: [marker],
      exitCode: 0,
      signal: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      truncated: false,
      dryRun: true,
      durationMs: 0,
    });
    expect(recorder.actions).toEqual([`exec: touch ${marker}`]);
    expect(() => readFileSync(marker)).toThrow();
    expect((await rejection(caps.exec.run('rm', [marker]))).code).toBe('CX_ERR_PERMISSION_DENIED');
    const seen: string[] = [];
    const faked = createHostCapabilities({
      plugin: 'p',
      tier: 'sandboxed',
      grants: grants('exec:systemctl is-active *'),
      dryRun: false,
      audit: AuditLog.memory(),
      fakes: { exec: async (c, a) => (seen.push([c, ...a].join(' ')), { stdout: 'active\n' }) },
    });
    expect(await faked.exec.run('systemctl', ['is-active', 'nginx'])).toMatchObject({
      exitCode: 0,
      stdout: 'active\n',
      dryRun: false,
    });
    expect((await rejection(faked.exec.run('systemctl', ['restart', 'nginx']))).code).toBe('CX_ERR_PERMISSION_DENIED');
    expect(seen).toEqual(['systemctl is-active nginx']);
  });

  it('caps calls in flight: a flood of 10 000 calls is refused beyond the queue, the host stays fine', async () => {
    const audit = AuditLog.memory();
    const caps = createHostCapabilities({
      plugin: 'flood',
      tier: 'sandboxed',
      grants: grants('exec:true'),
      dryRun: false,
      audit,
      fakes: { exec: () => new Promise((r) => setTimeout(() => r({}), 20)) },
    });
    const calls = Array.from({ length: 10_000 }, () =>
      caps.exec.run('true', []).then(
        () => 'ok',
        (e: CxError) => e.code,
      ),
    );
    const results = await Promise.all(calls);
    expect(results.filter((r) => r === 'ok')).toHaveLength(16 + 256);
    expect(new Set(results.filter((r) => r !== 'ok'))).toEqual(new Set(['CX_ERR_TOO_MANY_CALLS']));
    const more = await Promise.allSettled(Array.from({ length: 300 }, () => caps.exec.run('true', [])));
    const e = (more.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as CxError;
    expect(e.message).toBe(
      "plugin 'flood' has more than 272 capability calls waiting; the call to exec.run true was refused.",
    );
    expect(await caps.exec.run('true', [])).toMatchObject({ exitCode: 0 });
    expect(audit.records.filter((r) => r.reason === 'too many calls in flight')).toHaveLength(10_000 - 272 + 300 - 272);
  });
});
