// Programs started through exec never outlive what started them: their whole tree (process
// group, then session) is killed on their timeout, when the plugin call ends or is stopped, when
// the sandbox process restarts, and when cx-ops itself dies (SIGTERM or SIGKILL). Checked from
// outside, by pid. The programs report their pids in a file; nothing here waits on a guessed time.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { SandboxHost } from '../../../core/sandbox/host.js';
import { cmd, pluginSource, rejection, testContext } from '../../helpers/test-context.js';
import { alive, gone, pidsIn } from './processes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-orphans-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A shell line that starts a tree: a background job in its own process group (set -m), a plain one, and itself. */
const tree = (file: string) =>
  `set -m; sleep 300 & echo $! >> ${file}; set +m; sleep 300 & echo $! >> ${file}; echo $$ >> ${file}; wait`;

describe('exec trees, killed from the kernel', () => {
  const trusted = () =>
    createHostCapabilities({ plugin: 'p', tier: 'trusted', grants: 'all', dryRun: false, audit: AuditLog.memory() });

  it('on its own timeout: the group, then what moved to another group of the session', async () => {
    const file = join(dir, 'timeout');
    const r = await trusted().exec.run('sh', ['-c', tree(file)], { timeoutMs: 300 });
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    const pids = await pidsIn(file, 3);
    // Killed synchronously before the result came back: nothing to wait for.
    expect(pids.filter(alive)).toEqual([]);
  });

  it('when it exits leaving a tree behind', async () => {
    const file = join(dir, 'exit');
    const r = await trusted().exec.run('sh', ['-c', `set -m; sleep 300 & echo $! >> ${file}; echo $$ >> ${file}`]);
    expect(r.exitCode).toBe(0);
    expect((await pidsIn(file, 2)).filter(alive)).toEqual([]);
  });

  it('when the caller aborts (a plugin call ending)', async () => {
    const file = join(dir, 'abort');
    const ac = new AbortController();
    const run = trusted().exec.run('sh', ['-c', tree(file)], { signal: ac.signal });
    const pids = await pidsIn(file, 3);
    ac.abort();
    expect(await run).toMatchObject({ signal: 'SIGKILL', timedOut: false });
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe('exec trees of a sandboxed plugin', () => {
  let host: SandboxHost;
  // All grants: what is checked here is the killing, not the grant language.
  const grants = 'all' as const;
  beforeAll(() => {
    host = new SandboxHost({ defaultLimits: { callTimeoutMs: 60_000 } });
  });
  afterAll(async () => {
    await host.close();
  });

  it('are killed when the call that started them returns without waiting', async () => {
    const file = join(dir, 'returned');
    const p = await host.load({
      name: 'leaver',
      code: pluginSource('leaver', {
        go: `async (ctx, f) => { ctx.exec.run('sh', ['-c', f]); await ctx.exec.run('sh', ['-c', 'while [ $(wc -l < ${file}) -lt 3 ]; do :; done']); return 'left' }`,
      }),
      filename: 'l.js',
    });
    expect(await p.call(cmd('go'), tree(file), testContext('leaver', grants).ctx)).toBe('left');
    const pids = await pidsIn(file, 3);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('are killed when the call is stopped at its deadline', async () => {
    const file = join(dir, 'deadline');
    const p = await host.load({
      name: 'sleeper',
      code: pluginSource('sleeper', { go: `async (ctx, f) => (await ctx.exec.run('sh', ['-c', f])).exitCode` }),
      filename: 's.js',
      limits: { callTimeoutMs: 1500 },
    });
    const e = await rejection(p.call(cmd('go'), tree(file), testContext('sleeper', grants).ctx));
    expect(e.code).toBe('CX_ERR_SANDBOX_TIMEOUT');
    const pids = await pidsIn(file, 3);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('are killed when the sandbox process dies under the call', async () => {
    const file = join(dir, 'restart');
    const p = await host.load({
      name: 'crasher',
      code: pluginSource('crasher', { go: `async (ctx, f) => (await ctx.exec.run('sh', ['-c', f])).exitCode` }),
      filename: 'c.js',
    });
    const call = p.call(cmd('go'), tree(file), testContext('crasher', grants).ctx);
    const pids = await pidsIn(file, 3);
    process.kill(host.pidOf('crasher')!, 'SIGKILL');
    expect((await rejection(call)).code).toBe('CX_ERR_SANDBOX_CRASHED');
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe('exec trees outlive no cx-ops process', () => {
  const capabilities = fileURLToPath(new URL('../../../dist/core/capabilities/index.js', import.meta.url));
  const script = (file: string) => `
    const { createHostCapabilities } = await import(${JSON.stringify(capabilities)});
    const { AuditLog } = await import(${JSON.stringify(fileURLToPath(new URL('../../../dist/core/capabilities/audit.js', import.meta.url)))});
    const caps = createHostCapabilities({ plugin: 'p', tier: 'trusted', grants: 'all', dryRun: false, audit: AuditLog.memory() });
    caps.exec.run('sh', ['-c', ${JSON.stringify(tree(file))}]);
    setInterval(() => {}, 1000);`;

  it.each(['SIGTERM', 'SIGKILL'] as const)('killed by %s: the reaper kills the tree', async (signal) => {
    const file = join(dir, `parent-${signal}`);
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script(file)], { stdio: 'ignore' });
    const pids = await pidsIn(file, 3);
    expect(pids.every(alive)).toBe(true);
    parent.kill(signal);
    const ms = await gone(pids);

    console.log(`orphaned tree killed ${ms.toFixed(0)} ms after cx-ops got ${signal}`);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('a sandbox process dies with the kernel (parent-death signal), even one that is stopped', async () => {
    const hostJs = fileURLToPath(new URL('../../../dist/core/sandbox/host.js', import.meta.url));
    const file = join(dir, 'kernel-pid');
    const src = `
      const { SandboxHost } = await import(${JSON.stringify(hostJs)});
      const { writeFileSync } = await import('node:fs');
      const h = new SandboxHost();
      await h.load({ name: 'x', code: 'export default { name: "x", contributes: [] };', filename: 'x.js' });
      writeFileSync(${JSON.stringify(file)}, h.pidOf('x') + '\\n');
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--no-node-snapshot', '--input-type=module', '-e', src], {
      stdio: 'ignore',
    });
    const [pid] = await pidsIn(file, 1);
    process.kill(pid!, 'SIGSTOP');
    parent.kill('SIGKILL');
    await gone([pid!]);
    expect(alive(pid!)).toBe(false);
  });
});
