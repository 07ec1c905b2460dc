// The sandboxed tier: bytes cross the isolate boundary as base64, locks and assets work through
// the real sandbox, and a lock a call forgot is released when the call ends.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { mergeGrants, parseGrant } from '../../../core/permissions/grants.js';
import { SandboxHost, type SandboxedPlugin } from '../../../core/sandbox/host.js';
import type { PluginContext } from '../../../sdk/types.js';
import { cmd, pluginSource } from '../../helpers/test-context.js';
import { tempDir } from './helpers.js';

const code = pluginSource('bytes', {
  roundTrip: `async (ctx, input) => {
    const all = new Uint8Array(256); for (let i = 0; i < 256; i++) all[i] = i;
    await ctx.fs.writeBytes(input.file, all);
    const back = await ctx.fs.readBytes(input.file);
    await ctx.fs.appendFile(input.log, new Uint8Array([104, 105, 10]));
    const st = await ctx.fs.lstat(input.file);
    return { isU8: back instanceof Uint8Array, same: back.length === 256 && back.every((b, i) => b === i), type: st.type, disk: ctx.fs.diskPath('/etc/../x') };
  }`,
  forgetLock: `async (ctx) => { const l = await ctx.lock('mine'); return l.name; }`,
  lockTwice: `async (ctx) => { const l = await ctx.lock('mine'); try { await ctx.lock('mine'); return 'taken twice'; } catch (e) { return e.code; } finally { await l.release(); } }`,
  asset: `async (ctx) => { const t = await ctx.assets.readText('data/hello.txt'); const b = await ctx.assets.readBytes('data/hello.txt'); let out; try { await ctx.assets.readText('../outside'); out = 'read'; } catch (e) { out = e.code; } return [t, b.length, out]; }`,
  tooBig: `async (ctx, input) => { try { await ctx.fs.writeBytes(input.file, new Uint8Array(9 * 1024 * 1024)); return 'written'; } catch (e) { return e.code; } }`,
});

let host: SandboxHost;
let plugin: SandboxedPlugin;
let t: { dir: string; cleanup(): void };
let ctx: PluginContext;

beforeAll(async () => {
  t = tempDir('cx-sbytes-');
  mkdirSync(join(t.dir, 'plugin/data'), { recursive: true });
  writeFileSync(join(t.dir, 'plugin/data/hello.txt'), 'hello\n');
  writeFileSync(join(t.dir, 'outside'), 'secret');
  const c = createHostCapabilities({
    plugin: 'bytes',
    tier: 'sandboxed',
    grants: mergeGrants([parseGrant(`read:${t.dir}/w`), parseGrant(`write:${t.dir}/w`)]),
    dryRun: false,
    audit: AuditLog.memory(),
    lockDir: join(t.dir, 'locks'),
    pluginDir: join(t.dir, 'plugin'),
  });
  mkdirSync(join(t.dir, 'w'));
  ctx = {
    plugin: 'bytes',
    tier: 'sandboxed',
    config: {},
    env: {
      root: '/',
      stateDir: '/nonexistent',
      cacheDir: '/nonexistent',
      configDir: '/etc/cx',
      dataDir: '/var/lib/cx',
      dryRun: false,
      verbose: false,
      assumeYes: false,
      kernelVersion: '0.1.0',
      command: 'cx-ops',
    },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    io: { out() {}, err() {}, confirm: async () => false, color: false, interactive: false },
    exec: c.exec,
    fs: c.fs,
    localFs: c.localFs,
    net: c.net,
    lock: c.lock,
    assets: c.assets,
    registry: {
      list: async () => [],
      invoke: async () => null,
      callHook: async () => ({ proceed: true, payload: null, errors: [] }),
    },
    plugins: { list: async () => [], enable: async () => undefined, disable: async () => undefined, installDir: '' },
  };
  host = new SandboxHost({ defaultLimits: { callTimeoutMs: 10_000 } });
  plugin = await host.load({ name: 'bytes', code, filename: 'bytes.js' });
});
afterAll(async () => {
  await host.close();
  t.cleanup();
});

describe('sandboxed capabilities', () => {
  it('writeBytes / readBytes / appendFile carry every byte value across the boundary', async () => {
    const file = join(t.dir, 'w/blob');
    const r = await plugin.call(cmd('roundTrip'), { file, log: join(t.dir, 'w/log') }, ctx);
    expect(r).toEqual({ isU8: true, same: true, type: 'file', disk: '/x' });
    expect([...readFileSync(file)]).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(readFileSync(join(t.dir, 'w/log'), 'utf8')).toBe('hi\n');
  });

  it('bytes over 8 MiB are refused inside the isolate', async () => {
    expect(await plugin.call(cmd('tooBig'), { file: join(t.dir, 'w/big') }, ctx)).toBe('CX_ERR_SANDBOX_LIMIT');
    expect(existsSync(join(t.dir, 'w/big'))).toBe(false);
  });

  it("locks carry the plugin's name, a second take is CX_ERR_STATE_LOCKED, and a lock the call forgot is released at its end", async () => {
    expect(await plugin.call(cmd('lockTwice'), null, ctx)).toBe('CX_ERR_STATE_LOCKED');
    expect(await plugin.call(cmd('forgetLock'), null, ctx)).toBe('bytes.mine');
    expect(existsSync(join(t.dir, 'locks/bytes.mine.lock'))).toBe(false);
  });

  it('reads its own assets, and nothing outside its directory', async () => {
    expect(await plugin.call(cmd('asset'), null, ctx)).toEqual(['hello\n', 6, 'CX_ERR_PERMISSION_DENIED']);
  });
});
