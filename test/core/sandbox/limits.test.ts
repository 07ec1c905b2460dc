import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeGrants } from '../../../core/permissions/grants.js';
import { parseGrant } from '../../../core/permissions/grants.js';
import { SandboxHost, type SandboxedPlugin } from '../../../core/sandbox/host.js';
import { cmd, pluginSource, rejection, testContext } from '../../helpers/test-context.js';

const code = pluginSource('greedy', {
  normal: `async (ctx, input) => { globalThis.count = (globalThis.count || 0) + 1; return { ok: input, count: globalThis.count }; }`,
  syncLoop: `async () => { for (;;) {} }`,
  asyncLoop: `async (ctx) => { await ctx.exec.run('echo', ['x']); for (;;) {} }`,
  microtasks: `async () => { Promise.resolve().then(() => { for (;;) {} }); return 'returned'; }`,
  getterLoop: `async () => ({ get x() { for (;;) {} } })`,
  never: `async () => new Promise(() => {})`,
  memoryBomb: `async () => { const a = []; for (;;) a.push(new Array(100000).fill(Math.random())); }`,
  mapBomb: `async () => { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: 'x' + i }); }`,
  bufferBomb: `async () => { const keep = []; for (let i = 0; i < 1000; i++) keep.push(new Uint8Array(64 * 1024 * 1024).fill(1)); return keep.length; }`,
  wasm: `async () => { const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); m.grow(60000); return m.buffer.byteLength; }`,
  huge: `async () => 'x'.repeat(2 * 1024 * 1024)`,
  deep: `async () => { let v = []; for (let i = 0; i < 10000; i++) v = [v]; return v; }`,
  wide: `async () => Array.from({ length: 50 }, (_, i) => ({ i, nested: { list: [1, 2, 3] } }))`,
  logFlood: `async (ctx) => { for (let i = 0; i < 20000; i++) ctx.log.warn('line ' + i); return 'done'; }`,
  hugeLog: `async (ctx) => { ctx.log.warn('y'.repeat(2 * 1024 * 1024)); ctx.log.warn('small', { a: 1 }); return 'logged'; }`,
  hugeArgs: `async (ctx) => { try { await ctx.fs.writeFile('/tmp/x', 'z'.repeat(20 * 1024 * 1024)); } catch (e) { return e.code + ': ' + e.message; } }`,
  flood: `async (ctx) => { const ps = []; for (let i = 0; i < 10000; i++) ps.push(ctx.exec.run('true').then(() => 'ok', (e) => e.code)); const r = await Promise.all(ps); const c = {}; for (const x of r) c[x] = (c[x] || 0) + 1; return c; }`,
});

let host: SandboxHost;
let plugin: SandboxedPlugin;
let inFlight = 0;
let maxInFlight = 0;
const t = testContext(
  'greedy',
  mergeGrants([parseGrant('exec:echo ...'), parseGrant('exec:true'), parseGrant('write:/tmp/x')]),
  {
    exec: async (c) => {
      if (c !== 'true') return { stdout: 'x\n' };
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return {};
    },
  },
);

beforeAll(async () => {
  host = new SandboxHost({ defaultLimits: { callTimeoutMs: 600, memoryMb: 128 } });
  plugin = await host.load({ name: 'greedy', code, filename: 'greedy.js' });
});
afterAll(async () => {
  await host.close();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const timeoutMessage = (id: string) =>
  `plugin 'greedy': command '${id}' went over its time limit of 600 ms and was stopped.\nRaise limits.call_timeout_ms in its plugin.yaml if the work really takes that long.`;

async function stillServes(): Promise<number> {
  const r = (await plugin.call(cmd('normal'), 'again', t.ctx)) as { ok: string; count: number };
  expect(r.ok).toBe('again');
  return r.count;
}

describe('time limits, enforced from outside the isolate', () => {
  it.each(['syncLoop', 'asyncLoop', 'microtasks', 'getterLoop', 'never'])(
    '%s is stopped with CX_ERR_SANDBOX_TIMEOUT; the next call gets a fresh isolate',
    async (id) => {
      expect(await stillServes()).toBeGreaterThanOrEqual(1);
      const e = await rejection(plugin.call(cmd(id), null, t.ctx));
      expect(e.toJSON()).toEqual({ code: 'CX_ERR_SANDBOX_TIMEOUT', plugin: 'greedy', message: timeoutMessage(id) });
      // Fresh isolate: module state is gone.
      expect(await stillServes()).toBe(1);
    },
  );

  it('a sandbox process that does not stop the isolate is killed and replaced', async () => {
    await stillServes();
    const pid = host.pidOf('greedy')!;
    const call = plugin.call(cmd('never'), null, t.ctx);
    process.kill(pid, 'SIGSTOP');
    const e = await rejection(call);
    expect(e.code).toBe('CX_ERR_SANDBOX_TIMEOUT');
    // Killed one grace period after the deadline: wait for it rather than guess a time.
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
    expect(await stillServes()).toBe(1);
    expect(host.pidOf('greedy')).not.toBe(pid);
  });

  it('a sandbox process that dies fails only the calls in flight, then is restarted', async () => {
    await stillServes();
    const call = plugin.call(cmd('never'), null, t.ctx);
    await new Promise((r) => setTimeout(r, 50));
    process.kill(host.pidOf('greedy')!, 'SIGKILL');
    const e = await rejection(call);
    expect(e.toJSON()).toEqual({
      code: 'CX_ERR_SANDBOX_CRASHED',
      plugin: 'greedy',
      message:
        "plugin 'greedy': the sandbox stopped unexpectedly during command 'never' (sandbox process killed by SIGKILL); it was restarted.",
    });
    expect(await stillServes()).toBe(1);
  });
});

describe('memory limits', () => {
  let hungry: SandboxedPlugin;
  beforeAll(async () => {
    // A long time limit, so that only the memory limit can stop these calls.
    hungry = await host.load({
      name: 'hungry',
      code,
      filename: 'hungry.js',
      limits: { memoryMb: 32, callTimeoutMs: 20_000 },
    });
  });

  it.each(['memoryBomb', 'mapBomb'])(
    "%s is stopped with CX_ERR_SANDBOX_MEMORY; another plugin's call in flight goes on",
    async (id) => {
      // mapBomb is a V8 fatal out-of-memory: it aborts the whole process that holds the isolate.
      // The bystander's call is in flight throughout (its ctx.exec waits until we release it).
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const bt = testContext('bystander', mergeGrants([parseGrant('exec:echo ...')]), {
        exec: async () => (await gate, { stdout: 'late\n' }),
      });
      const other = await host.load({
        name: 'bystander',
        code: pluginSource('bystander', { hi: `async (ctx) => (await ctx.exec.run('echo', ['x'])).stdout` }),
        filename: 'b.js',
        limits: { callTimeoutMs: 60_000 },
      });
      const inFlight = other.call(cmd('hi'), null, bt.ctx);
      const hungryPid = host.pidOf('hungry');
      const e = await rejection(hungry.call(cmd(id), null, t.ctx));
      expect(e.toJSON()).toEqual({
        code: 'CX_ERR_SANDBOX_MEMORY',
        plugin: 'hungry',
        message: `plugin 'hungry': command '${id}' went over its memory limit of 32 MB and was stopped.`,
      });
      expect(host.pidOf('bystander')).not.toBe(hungryPid);
      release();
      expect(await inFlight).toBe('late\n');
      // The plugin itself is served again, from a fresh isolate.
      expect(await hungry.call(cmd('normal'), 'again', t.ctx)).toEqual({ ok: 'again', count: 1 });
      await stillServes();
      other.unload();
    },
  );

  it('large ArrayBuffers count against the limit', async () => {
    const e = await rejection(hungry.call(cmd('bufferBomb'), null, t.ctx));
    expect(['CX_ERR_SANDBOX_MEMORY', undefined]).toContain(e.code === 'CX_ERR_SANDBOX_MEMORY' ? e.code : undefined);
    if (e.code !== 'CX_ERR_SANDBOX_MEMORY') expect(e.message).toMatch(/Array buffer allocation failed|memory/i);
    expect(await stillServes()).toBeGreaterThanOrEqual(1);
  });

  it('WebAssembly memory growth is impossible: there is no WebAssembly', async () => {
    const e = await rejection(plugin.call(cmd('wasm'), null, t.ctx));
    expect({ name: e.name, message: e.message, plugin: e.plugin }).toEqual({
      name: 'PluginCodeError',
      message: 'WebAssembly is not defined',
      plugin: 'greedy',
    });
    await stillServes();
  });
});

describe('values crossing the boundary', () => {
  it('refuses a huge or deeply nested result without the host materialising it', async () => {
    const rss = process.memoryUsage().heapUsed;
    expect((await rejection(plugin.call(cmd('huge'), null, t.ctx))).toJSON()).toEqual({
      code: 'CX_ERR_SANDBOX_LIMIT',
      plugin: 'greedy',
      message: "plugin 'greedy': command 'huge': the result is longer than the limit of 1048576 characters",
    });
    expect((await rejection(plugin.call(cmd('deep'), null, t.ctx))).toJSON()).toEqual({
      code: 'CX_ERR_SANDBOX_LIMIT',
      plugin: 'greedy',
      message: "plugin 'greedy': command 'deep': the result is nested deeper than the limit of 64 levels",
    });
    expect(process.memoryUsage().heapUsed - rss).toBeLessThan(64 * 1024 * 1024);
    expect(await plugin.call(cmd('wide'), null, t.ctx)).toHaveLength(50);
    await stillServes();
  });

  it('drops oversized log lines and refuses oversized host-call arguments inside the plugin', async () => {
    t.logs.length = 0;
    expect(await plugin.call(cmd('hugeLog'), null, t.ctx)).toBe('logged');
    expect(t.logs).toEqual(['warn small {"a":1}']);
    expect(await plugin.call(cmd('hugeArgs'), null, t.ctx)).toBe(
      `CX_ERR_SANDBOX_LIMIT: the arguments of ctx.fs.writeFile is longer than the limit of ${17 * 1024 * 1024} characters`,
    );
  });

  it('a flood of log lines is cut at 10 000 per call with one warning; the host stays fine', async () => {
    t.logs.length = 0;
    const flooder = await host.load({ name: 'greedy', code, filename: 'greedy.js', limits: { callTimeoutMs: 20_000 } });
    expect(await flooder.call(cmd('logFlood'), null, t.ctx)).toBe('done');
    await new Promise((r) => setTimeout(r, 100));
    expect(t.logs).toHaveLength(10_001);
    expect(t.logs[9_999]).toBe('warn line 9999 undefined');
    expect(t.logs[10_000]).toBe(
      'warn more than 10000 log lines or terminal writes in one call; the rest are dropped undefined',
    );
  });

  it('a flood of 10 000 capability calls is capped per plugin; the host stays fine', async () => {
    const before = t.audit.records.length;
    const flooder = await host.load({ name: 'greedy', code, filename: 'greedy.js', limits: { callTimeoutMs: 20_000 } });
    const counts = (await flooder.call(cmd('flood'), null, t.ctx)) as { ok: number; CX_ERR_TOO_MANY_CALLS: number };
    // How many get a slot depends on how fast calls arrive; what never changes is the cap.
    expect(counts.ok + counts.CX_ERR_TOO_MANY_CALLS).toBe(10_000);
    expect(counts.ok).toBeGreaterThanOrEqual(16 + 256);
    expect(counts.CX_ERR_TOO_MANY_CALLS).toBeGreaterThan(5000);
    expect(maxInFlight).toBe(16);
    // Calls beyond 1024 waiting are refused in the sandbox process already; the rest reach the
    // kernel's capabilities, which audit each one and refuse beyond 16 running + 256 queued.
    const audited = t.audit.records.length - before;
    expect(audited).toBeGreaterThanOrEqual(1024);
    expect(audited).toBeLessThanOrEqual(10_000);
    expect(
      t.audit.records
        .slice(before)
        .filter((r) => !r.allowed)
        .every((r) => r.reason === 'too many calls in flight'),
    ).toBe(true);
    await stillServes();
    expect(readFileSync('/proc/self/status', 'utf8')).toMatch(/VmRSS/);
  });
});
