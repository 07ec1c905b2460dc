/**
 * What one sandboxed call costs on the wire, and that the cheaper path keeps its meaning: a
 * context's data crosses to its sandbox process once (later calls name it by key), is sent again
 * to a new process, and after the child's record of it was dropped; one timer serves every
 * deadline of a process.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PluginContext } from '../../../sdk/types.js';
import { SandboxHost, type SandboxedPlugin } from '../../../core/sandbox/host.js';
import type { ToChild } from '../../../core/sandbox/protocol.js';
import { cmd, pluginSource, rejection, testContext } from '../../helpers/test-context.js';

/** Every message the kernel sent to a sandbox process, in order. */
const sent: ToChild[] = [];
vi.mock('node:child_process', async (importOriginal) => {
  const m = await importOriginal<typeof import('node:child_process')>();
  return {
    ...m,
    spawn: (...args: Parameters<typeof m.spawn>) => {
      const child = m.spawn(...args) as ChildProcess;
      const send = child.send.bind(child) as (m: unknown) => boolean;
      child.send = ((message: ToChild) => {
        sent.push(message);
        return send(message);
      }) as ChildProcess['send'];
      return child;
    },
  };
});

const code = pluginSource('wire', {
  config: `async (ctx) => ({ config: ctx.config, root: ctx.env.root })`,
  parts: `async (ctx) => ({ same: ctx.fs === ctx.fs && ctx.log === ctx.log, keys: Object.keys(ctx), frozen: Object.isFrozen(ctx) && Object.isFrozen(ctx.fs) && Object.isFrozen(ctx.env) })`,
  pollute: `async () => { Object.defineProperty(Set.prototype, 'size', { get() { return 0; } }); Object.prototype.value = 1; Object.prototype.fs = 'forged'; return 'polluted'; }`,
  read: `async (ctx) => ({ fs: typeof ctx.fs.readFile, log: typeof ctx.log.info })`,
  never: `async () => new Promise(() => {})`,
});

let host: SandboxHost;
let plugin: SandboxedPlugin;
beforeAll(async () => {
  host = new SandboxHost({ defaultLimits: { callTimeoutMs: 400 } });
  plugin = await host.load({ name: 'wire', code, filename: 'wire.js' });
});
afterAll(async () => {
  await host.close();
});

const withConfig = (config: Record<string, unknown>): PluginContext => ({
  ...testContext('wire', 'all').ctx,
  config,
});
const calls = () => sent.filter((m): m is Extract<ToChild, { t: 'call' }> => m.t === 'call');

describe('the sandboxed call round trip', () => {
  it("sends a context's data once per sandbox process; later calls name it by key", async () => {
    const a = withConfig({ who: 'a' });
    const b = withConfig({ who: 'b' });
    const before = calls().length;
    for (let i = 0; i < 3; i++)
      expect(await plugin.call(cmd('config'), null, a)).toEqual({ config: { who: 'a' }, root: '/' });
    expect(await plugin.call(cmd('config'), null, b)).toEqual({ config: { who: 'b' }, root: '/' });
    expect(await plugin.call(cmd('config'), null, a)).toEqual({ config: { who: 'a' }, root: '/' });
    const mine = calls().slice(before);
    expect(mine.map((m) => typeof m.ctx)).toEqual(['string', 'undefined', 'undefined', 'string', 'undefined']);
    expect(JSON.parse(mine[0]!.ctx!)).toMatchObject({ plugin: 'wire', config: { who: 'a' } });
    expect(new Set(mine.map((m) => m.ctxKey)).size).toBe(2);
  });

  it('sends it again once the process dropped it (more contexts than it keeps) and to a new process', async () => {
    const first = withConfig({ n: 0 });
    expect(await plugin.call(cmd('config'), null, first)).toEqual({ config: { n: 0 }, root: '/' });
    for (let n = 1; n <= 20; n++)
      expect(await plugin.call(cmd('config'), null, withConfig({ n }))).toEqual({ config: { n }, root: '/' });
    const before = calls().length;
    expect(await plugin.call(cmd('config'), null, first)).toEqual({ config: { n: 0 }, root: '/' });
    expect(typeof calls()[before]!.ctx).toBe('string');

    const pid = host.pidOf('wire')!;
    process.kill(pid, 'SIGKILL');
    while (host.pidOf('wire') === pid) await new Promise((r) => setTimeout(r, 20));
    const again = calls().length;
    expect(await plugin.call(cmd('config'), null, first)).toEqual({ config: { n: 0 }, root: '/' });
    expect(typeof calls()[again]!.ctx).toBe('string');
  });

  it('gives each call a whole frozen ctx; a polluted Object.prototype or Set.prototype changes none of it', async () => {
    const ctx = withConfig({});
    expect(await plugin.call(cmd('parts'), null, ctx)).toEqual({
      same: true,
      keys: [
        'plugin',
        'tier',
        'config',
        'env',
        'log',
        'io',
        'exec',
        'fs',
        'localFs',
        'net',
        'lock',
        'assets',
        'registry',
        'plugins',
      ],
      frozen: true,
    });
    expect(await plugin.call(cmd('pollute'), null, ctx)).toBe('polluted');
    expect(await plugin.call(cmd('read'), null, ctx)).toEqual({ fs: 'function', log: 'function' });
  });

  it('times a call out at its own deadline when an earlier call armed the one timer', async () => {
    const ctx = withConfig({});
    expect(await plugin.call(cmd('config'), null, ctx)).toEqual({ config: {}, root: '/' });
    // The timer was set for the first call's deadline; this call's deadline is later.
    await new Promise((r) => setTimeout(r, 250));
    const started = performance.now();
    const e = await rejection(plugin.call(cmd('never'), null, ctx));
    expect(e).toMatchObject({ code: 'CX_ERR_SANDBOX_TIMEOUT', plugin: 'wire' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });
});
