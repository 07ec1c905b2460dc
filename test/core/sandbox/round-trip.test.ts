/**
 * What one sandboxed call costs on the wire, and that the cheaper path keeps its meaning: a
 * context's data crosses to its sandbox process once (later calls name it by key), is sent again
 * to a new process, and after the child's record of it was dropped; one timer serves every
 * deadline of a process.
 */
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PluginContext } from '../../../sdk/types.js';
import { SandboxHost, type SandboxedPlugin } from '../../../core/sandbox/host.js';
import { decodeMessage, encodeMessage, LineReader, type ToChild } from '../../../core/sandbox/protocol.js';
import { cmd, pluginSource, rejection, testContext } from '../../helpers/test-context.js';

/** Every message the kernel sent to a sandbox process, in order (read off the wire, its fd 3). */
const sent: ToChild[] = [];
vi.mock('node:child_process', async (importOriginal) => {
  const m = await importOriginal<typeof import('node:child_process')>();
  return {
    ...m,
    spawn: (...args: Parameters<typeof m.spawn>) => {
      const child = m.spawn(...args) as ChildProcess;
      const wire = child.stdio[3] as Writable;
      const write = wire.write.bind(wire) as (line: string) => boolean;
      wire.write = ((line: string) => {
        sent.push(decodeMessage<ToChild>(line.slice(0, -1)));
        return write(line);
      }) as Writable['write'];
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
  echo: `async (ctx, input) => input`,
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

describe('the wire (one message a line, data after a tab, never encoded twice)', () => {
  const awkward = { s: 'a\nb\tc\r\u2028\u0000 "q" \\ é 😀 \ud800', n: [1, -0.5, 1e21], o: { '\t': null } };

  it('carries data verbatim after the header, and a text holding a newline inside it, escaped', () => {
    const input = JSON.stringify(awkward);
    const line = encodeMessage({ t: 'call', id: 7, name: 'p', target: '{"type":"activate"}', input, ctxKey: 1 });
    expect(line.endsWith(`\t${input}\n`)).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(decodeMessage(line.slice(0, -1))).toEqual({
      t: 'call',
      id: 7,
      name: 'p',
      target: '{"type":"activate"}',
      input,
      ctxKey: 1,
    });
    const raw = encodeMessage({ t: 'hostreply', name: 'p', hid: 2, ok: true, value: 'not\nJSON' });
    expect(raw.indexOf('\n')).toBe(raw.length - 1);
    expect(decodeMessage(raw.slice(0, -1))).toEqual({
      t: 'hostreply',
      name: 'p',
      hid: 2,
      ok: true,
      value: 'not\nJSON',
    });
  });

  it('splits lines across chunks, and stops at a line over its cap', () => {
    const lines: string[] = [];
    let over = 0;
    const r = new LineReader(
      10,
      (l) => lines.push(l),
      () => over++,
    );
    for (const chunk of ['ab', 'c\nde\n', '', 'f', 'g\nh']) r.push(chunk);
    expect(lines).toEqual(['abc', 'de', 'fg']);
    r.push('ijklmnopqrstuvwxyz\nlater\n');
    expect([lines.length, over]).toEqual([3, 1]);
  });

  it('a value of every awkward character crosses both ways intact', async () => {
    expect(await plugin.call(cmd('echo'), awkward, withConfig({}))).toEqual(JSON.parse(JSON.stringify(awkward)));
  });
});
