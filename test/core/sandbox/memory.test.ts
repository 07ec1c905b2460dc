// Memory, from outside: each plugin's sandbox process runs under an OS memory cap; a value that
// would serialise to hundreds of MB is stopped at the cap while it is encoded (the process's
// peak RSS stays low); a flood of large ctx calls is refused before it piles up; the bounded
// encoder writes exactly what JSON.stringify writes.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeGrants, parseGrant } from '../../../core/permissions/grants.js';
import { processMemoryCapMb } from '../../../core/sandbox/limits.js';
import { SandboxHost } from '../../../core/sandbox/host.js';
import { cmd, pluginSource, rejection, testContext } from '../../helpers/test-context.js';
import { statusKb } from './processes.js';

const code = pluginSource('heavy', {
  // One 1 MiB string referenced 400 times: JSON.stringify would build a 400 MiB text first.
  shared: `async () => { const s = 'x'.repeat(1024 * 1024); return new Array(400).fill(s); }`,
  sharedLog: `async (ctx) => { const s = 'y'.repeat(1024 * 1024); ctx.log.warn('big', new Array(400).fill(s)); ctx.log.warn('small'); return 'ok'; }`,
  bomb: `async () => { const a = []; for (;;) a.push(new Array(100000).fill(Math.random())); }`,
  // Kept for the nightly-style run: the 64 MiB cap on ctx arguments waiting (too slow for npm test here).
  bigCalls: `async (ctx) => { const body = 'z'.repeat(6 * 1024 * 1024); const ps = []; for (let i = 0; i < 16; i++) ps.push(ctx.fs.writeFile('/tmp/cx-none/x', body).then(() => 'ok', (e) => e.code)); const r = await Promise.all(ps); return r.filter((x) => x === 'CX_ERR_TOO_MANY_CALLS').length; }`,
  same: `async (ctx, v) => { const values = {
    nested: { a: [1, 'two', null, true, { b: undefined, c: () => 1, d: Symbol('s') }], e: -0, f: 1e21, g: NaN, h: Infinity },
    date: new Date(0), boxed: [new Number(3), new String('s'), new Boolean(false)], sparse: [1, , 3], unicode: 'é\\u2028\\ud800"\\\\\\n',
    toJSON: { toJSON(k) { return { key: k, ok: true }; } }, getter: { get x() { return 42; } }, emptyKey: { '': 1 },
  }; return { native: JSON.stringify(values), value: values }; }`,
  cycle: `async () => { const a = {}; a.self = a; return a; }`,
  bigint: `async () => ({ n: 10n })`,
});

let host: SandboxHost;
const t = testContext('heavy', mergeGrants([parseGrant('write:/tmp/cx-none')]), { fs: undefined } as never);
beforeAll(() => {
  host = new SandboxHost({ defaultLimits: { callTimeoutMs: 60_000, memoryMb: 64 } });
});
afterAll(async () => {
  await host.close();
});

describe('a plugin process under its OS memory cap', () => {
  it('runs with RLIMIT_DATA set to its cap', async () => {
    const p = await host.load({ name: 'heavy', code, filename: 'heavy.js' });
    expect(p.limits.memoryMb).toBe(64);
    const limits = readFileSync(`/proc/${host.pidOf('heavy')}/limits`, 'utf8');
    const cap = processMemoryCapMb(p.limits) * 1024 * 1024;
    expect(limits).toMatch(new RegExp(`^Max data size\\s+${cap}\\s+${cap}\\s+bytes`, 'm'));
  });

  it('a result that would serialise to 400 MiB is stopped at the cap while encoded; RSS stays low', async () => {
    const p = await host.load({ name: 'heavy', code, filename: 'heavy.js' });
    const pid = host.pidOf('heavy')!;
    expect((await rejection(p.call(cmd('shared'), null, t.ctx))).toJSON()).toEqual({
      code: 'CX_ERR_SANDBOX_LIMIT',
      plugin: 'heavy',
      message: "plugin 'heavy': command 'shared': the result is longer than the limit of 1048576 characters",
    });
    t.logs.length = 0;
    expect(await p.call(cmd('sharedLog'), null, t.ctx)).toBe('ok');
    expect(t.logs).toEqual(['warn small undefined']);
    const peakMb = statusKb(pid, 'VmHWM') / 1024;

    console.log(
      `sandbox process peak RSS after the 400 MiB result attack: ${peakMb.toFixed(0)} MB (cap ${processMemoryCapMb(p.limits)} MB)`,
    );
    expect(peakMb).toBeLessThan(200);
  });

  it('a heap bomb is stopped by the isolate limit; the process peak RSS stays within its cap', async () => {
    const p = await host.load({ name: 'heavy', code, filename: 'heavy.js' });
    const pid = host.pidOf('heavy')!;
    expect((await rejection(p.call(cmd('bomb'), null, t.ctx))).code).toBe('CX_ERR_SANDBOX_MEMORY');
    if (host.pidOf('heavy') === pid) {
      const peakMb = statusKb(pid, 'VmHWM') / 1024;

      console.log(
        `sandbox process peak RSS under the heap bomb: ${peakMb.toFixed(0)} MB (cap ${processMemoryCapMb(p.limits)} MB)`,
      );
      expect(peakMb).toBeLessThanOrEqual(processMemoryCapMb(p.limits));
    }
  });
});

describe('the bounded encoder', () => {
  it('writes what JSON.stringify writes', async () => {
    const p = await host.load({ name: 'heavy', code, filename: 'heavy.js' });
    const r = (await p.call(cmd('same'), null, t.ctx)) as { native: string; value: unknown };
    expect(JSON.stringify(r.value)).toBe(r.native);
  });

  it('refuses cycles and BigInt as JSON.stringify does, naming the value', async () => {
    const p = await host.load({ name: 'heavy', code, filename: 'heavy.js' });
    expect((await rejection(p.call(cmd('cycle'), null, t.ctx))).message).toBe(
      "plugin 'heavy': command 'cycle': the result is not plain JSON data (Converting circular structure to JSON)",
    );
    expect((await rejection(p.call(cmd('bigint'), null, t.ctx))).message).toBe(
      "plugin 'heavy': command 'bigint': the result is not plain JSON data (Do not know how to serialize a BigInt)",
    );
  });
});
