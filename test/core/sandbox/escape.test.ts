import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeGrants } from '../../../core/permissions/grants.js';
import { parseGrant } from '../../../core/permissions/grants.js';
import { PluginCodeError, SandboxHost, type SandboxedPlugin } from '../../../core/sandbox/host.js';
import { cmd, pluginSource, rejection, testContext } from '../../helpers/test-context.js';

const code = pluginSource('evil', {
  normal: `async (ctx, input) => ({ ok: true, input, plugin: ctx.plugin, config: ctx.config })`,
  globals: `async () => [typeof require, typeof process, typeof module, typeof Buffer, typeof setTimeout, typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics, typeof __cx_send, typeof __cx_dispatch, typeof __cx_reply]`,
  dynamicImport: `async () => { try { await import('node:fs'); return 'imported'; } catch (e) { return 'blocked'; } }`,
  ctorCtx: `async (ctx) => [ctx.constructor.constructor('return typeof process')(), ctx.exec.run.constructor('return typeof process + typeof require')(), ctx.log.warn.constructor('return this')() === globalThis]`,
  ctorInput: `async (ctx, input) => input.obj.constructor.constructor('return typeof process')() + input.list.constructor.constructor('return typeof require')()`,
  ctorHostResult: `async (ctx) => { const r = await ctx.exec.run('echo', ['x']); return [r.constructor.constructor('return typeof process')(), Object.getPrototypeOf(r) === Object.prototype]; }`,
  getter: `async () => ({ get x() { return 'computed inside'; } })`,
  toJSON: `async () => ({ secret: 1, toJSON() { return { replaced: true }; } })`,
  proxyThrows: `async () => new Proxy({}, { ownKeys() { throw new Error('trap ran'); } })`,
  proxyLoops: `async () => new Proxy({}, { ownKeys() { for (;;) {} } })`,
  badMessage: `async () => { throw { get message() { for (;;) {} } }; }`,
  toStringError: `async () => { throw { message: { toString() { return 'from toString'; } }, code: 'E_OWN' }; }`,
  cyclic: `async () => { const a = {}; a.a = a; return a; }`,
  bigint: `async () => 10n`,
  fn: `async () => ({ f() {} , n: 1 })`,
  denied: `async (ctx) => { try { await ctx.exec.run('rm', ['-rf', '/']); return 'ran'; } catch (e) { return { isError: e instanceof Error, code: e.code, message: e.message }; } }`,
  readPath: `async (ctx, input) => { try { return await ctx.fs.readFile(input); } catch (e) { return { code: e.code, message: e.message }; } }`,
  tamper: `async (ctx) => { try { ctx.exec.run = null; } catch (e) { return 'frozen: ' + e.constructor.name; } return 'mutable'; }`,
});

let host: SandboxHost;
let plugin: SandboxedPlugin;
const t = testContext('evil', mergeGrants([parseGrant('exec:echo ...')]));

beforeAll(async () => {
  host = new SandboxHost({ defaultLimits: { callTimeoutMs: 1000 } });
  plugin = await host.load({ name: 'evil', code, filename: 'evil.js' });
});
afterAll(async () => {
  await host.close();
});

async function stillServes(): Promise<void> {
  expect(await plugin.call(cmd('normal'), { n: 1 }, t.ctx)).toEqual({
    ok: true,
    input: { n: 1 },
    plugin: 'evil',
    config: { greeting: 'hi' },
  });
}

describe('sandbox escapes fail safely and the host goes on', () => {
  it('has no Node API, no WebAssembly/SharedArrayBuffer/Atomics, no host channel globals', async () => {
    expect(await plugin.call(cmd('globals'), null, t.ctx)).toEqual([
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
    ]);
    expect(await plugin.call(cmd('dynamicImport'), null, t.ctx)).toBe('blocked');
    await stillServes();
  });

  it('constructor chains on ctx, on input and on host-call results reach only the isolate', async () => {
    expect(await plugin.call(cmd('ctorCtx'), null, t.ctx)).toEqual(['undefined', 'undefinedundefined', true]);
    expect(await plugin.call(cmd('ctorInput'), { obj: {}, list: [] }, t.ctx)).toBe('undefinedundefined');
    expect(await plugin.call(cmd('ctorHostResult'), null, t.ctx)).toEqual(['undefined', true]);
    expect(await plugin.call(cmd('tamper'), null, t.ctx)).toBe('frozen: TypeError');
    await stillServes();
  });

  it('getters, toJSON and proxies run inside the isolate; the host gets plain data', async () => {
    const g = (await plugin.call(cmd('getter'), null, t.ctx)) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(g, 'x')).toEqual({
      value: 'computed inside',
      writable: true,
      enumerable: true,
      configurable: true,
    });
    expect(await plugin.call(cmd('toJSON'), null, t.ctx)).toEqual({ replaced: true });
    expect(await plugin.call(cmd('fn'), null, t.ctx)).toEqual({ n: 1 });
    const p = await rejection(plugin.call(cmd('proxyThrows'), null, t.ctx));
    expect(p).toMatchObject({
      code: 'CX_ERR_SANDBOX_LIMIT',
      plugin: 'evil',
      message: "plugin 'evil': command 'proxyThrows': the result is not plain JSON data (trap ran)",
    });
    await stillServes();
  });

  it('a proxy or error getter that never returns is stopped by the deadline', async () => {
    for (const id of ['proxyLoops', 'badMessage']) {
      const e = await rejection(plugin.call(cmd(id), null, t.ctx));
      expect(e).toMatchObject({ code: 'CX_ERR_SANDBOX_TIMEOUT', plugin: 'evil' });
      expect(e.message).toBe(
        `plugin 'evil': command '${id}' went over its time limit of 1000 ms and was stopped.\nRaise limits.call_timeout_ms in its plugin.yaml if the work really takes that long.`,
      );
      await stillServes();
    }
  });

  it('thrown non-errors and unserialisable results become attributed errors', async () => {
    const e = await rejection(plugin.call(cmd('toStringError'), null, t.ctx));
    expect(e).toBeInstanceOf(PluginCodeError);
    expect({ message: e.message, code: e.code, plugin: e.plugin }).toEqual({
      message: 'from toString',
      code: 'E_OWN',
      plugin: 'evil',
    });
    expect(await rejection(plugin.call(cmd('cyclic'), null, t.ctx))).toMatchObject({
      code: 'CX_ERR_SANDBOX_LIMIT',
      plugin: 'evil',
    });
    const b = await rejection(plugin.call(cmd('bigint'), null, t.ctx));
    expect(b.message).toContain("plugin 'evil': command 'bigint': the result is not plain JSON data");
    await stillServes();
  });

  it('a denied host call becomes an Error with code and message inside the plugin', async () => {
    expect(await plugin.call(cmd('denied'), null, t.ctx)).toEqual({
      isError: true,
      code: 'CX_ERR_PERMISSION_DENIED',
      message:
        "plugin 'evil' may not run 'rm -rf /': its grant allows 'echo ...'.\nGrant it with: cx-ops plugins grant evil 'exec:rm -rf /'",
    });
    expect(t.audit.records.some((r) => r.plugin === 'evil' && r.target === 'rm' && r.allowed === false)).toBe(true);
    await stillServes();
  });
});

describe('fs from inside the sandbox', () => {
  it('traversal and a planted symlink out of a read grant are denied inside the plugin', async () => {
    const { mkdtemp, mkdir, rm, symlink, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'cx-sb-fs-'));
    try {
      await mkdir(join(dir, 'granted'));
      await writeFile(join(dir, 'granted', 'ok'), 'fine');
      await writeFile(join(dir, 'shadow'), 'SECRET');
      await symlink(join(dir, 'shadow'), join(dir, 'granted', 'link'));
      const fsCtx = testContext('evil', mergeGrants([parseGrant(`read:${dir}/granted`)]));
      expect(await plugin.call(cmd('readPath'), `${dir}/granted/ok`, fsCtx.ctx)).toBe('fine');
      expect(await plugin.call(cmd('readPath'), `${dir}/granted/../shadow`, fsCtx.ctx)).toEqual({
        code: 'CX_ERR_PERMISSION_DENIED',
        message: `plugin 'evil' may not read '${dir}/shadow' ('${dir}/granted/../shadow' resolves to it): its grant allows '${dir}/granted'.\nGrant it with: cx-ops plugins grant evil read:${dir}/shadow`,
      });
      expect(await plugin.call(cmd('readPath'), `${dir}/granted/link`, fsCtx.ctx)).toMatchObject({
        code: 'CX_ERR_PERMISSION_DENIED',
      });
      // The audit names the path as resolved ('..' taken as a host path first).
      expect(fsCtx.audit.records.map((r) => [r.target, r.allowed])).toEqual([
        [`${dir}/granted/ok`, true],
        [`${dir}/shadow`, false],
        [`${dir}/granted/link`, false],
      ]);
      await stillServes();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('loading', () => {
  it('refuses imports, a missing default export and malformed definitions, naming the plugin', async () => {
    const withImport = await rejection(
      host.load({
        name: 'imp',
        code: `import fs from 'node:fs'; export default { name: 'imp' };`,
        filename: '/p/imp.js',
      }),
    );
    expect(withImport).toMatchObject({ code: 'CX_ERR_MAIN_INVALID', plugin: 'imp' });
    expect(withImport.message).toContain("cannot import 'node:fs': a sandboxed plugin is one self-contained bundle");
    const noDefault = await rejection(host.load({ name: 'nod', code: `export const x = 1;`, filename: '/p/nod.js' }));
    expect(noDefault.message).toBe(
      "plugin 'nod': /p/nod.js its default export is not an object; export default definePlugin({ ... })\nIts default export must be definePlugin({ name: 'nod', ... }) from 'cx-ops/sdk'.",
    );
    const badTap = await rejection(
      host.load({
        name: 'bt',
        code: `export default { name: 'bt', taps: [{ hook: 'startup' }] };`,
        filename: '/p/bt.js',
      }),
    );
    expect(badTap.message).toContain('tap #0 has no run function');
    const badHook = await rejection(
      host.load({
        name: 'bh',
        code: `export default { name: 'bh', hooks: [{ name: 'x', description: 'y', type: 'weird' }] };`,
        filename: '/p/bh.js',
      }),
    );
    expect(badHook.message).toContain(
      "a declared hook needs a name, a description and a type of 'series', 'bail' or 'waterfall'",
    );
    const loops = await rejection(
      host.load({
        name: 'tl',
        code: `for (;;) {} export default {};`,
        filename: '/p/tl.js',
        limits: { callTimeoutMs: 200 },
      }),
    );
    expect(loops).toMatchObject({
      code: 'CX_ERR_SANDBOX_TIMEOUT',
      plugin: 'tl',
      message: expect.stringContaining("plugin 'tl': loading its code went over its time limit of 200 ms"),
    });
    await stillServes();
  });

  it('reports the shape as validated plain data', async () => {
    const p = await host.load({
      name: 'shaped',
      filename: 'shaped.js',
      code: `export default { name: 'shaped', activate: async () => {}, kinds: [{ kind: 'task', description: 'tasks' }], hooks: [{ name: 'pre_task', description: 'before', type: 'bail' }],
        contributes: [{ kind: 'task', id: 't1', meta: { a: [1] }, run: async () => 1 }], taps: [{ hook: 'startup', priority: 10, run: async () => {} }, { hook: 'shutdown', run: async () => {} }] };`,
    });
    expect(p.shape).toEqual({
      name: 'shaped',
      contributes: [{ kind: 'task', id: 't1', meta: { a: [1] } }],
      taps: [
        { hook: 'startup', priority: 10, index: 0 },
        { hook: 'shutdown', index: 1 },
      ],
      kinds: [{ kind: 'task', description: 'tasks' }],
      hooks: [{ name: 'pre_task', description: 'before', type: 'bail' }],
      hasActivate: true,
      hasDeactivate: false,
    });
    expect(await p.call({ type: 'tap', index: 0 }, null, t.ctx)).toBeNull();
    p.unload();
  });
});
