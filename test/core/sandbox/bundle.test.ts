import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePluginSource } from '../../../core/sandbox/bundle.js';
import { SandboxHost } from '../../../core/sandbox/host.js';
import { cmd, testContext } from '../../helpers/test-context.js';

let dir: string;
let host: SandboxHost;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-bundle-'));
  host = new SandboxHost();
});
afterAll(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bundlePluginSource', () => {
  it('bundles a TypeScript plugin using cx-ops/sdk into one module the sandbox runs', async () => {
    await writeFile(join(dir, 'util.ts'), `export const shout = (s: string): string => s.toUpperCase();\n`);
    await writeFile(
      join(dir, 'index.ts'),
      `import { definePlugin, defineCheck, pass, fail } from 'cx-ops/sdk';
import { shout } from './util.js';
export default definePlugin({
  name: 'bundled',
  contributes: [defineCheck({ id: 'echo_ok', name: 'Echo', description: 'runs echo', category: 'system', severity: 'low',
    async run(ctx) { const r = await ctx.exec.run('echo', ['hi']); return r.exitCode === 0 ? pass(shout(r.stdout.trim())) : fail('no'); } })],
});
`,
    );
    const code = await bundlePluginSource(join(dir, 'index.ts'));
    expect(code).not.toMatch(/^\s*import\s/m);
    const p = await host.load({ name: 'bundled', code, filename: join(dir, 'index.js') });
    expect(p.shape.contributes).toEqual([
      {
        kind: 'check',
        id: 'echo_ok',
        meta: {
          name: 'Echo',
          description: 'runs echo',
          category: 'system',
          severity: 'low',
          fix_id: null,
          depends_on: [],
        },
      },
    ]);
    const t = testContext('bundled', 'all', { exec: async () => ({ stdout: 'hi\n' }) });
    expect(await p.call({ type: 'contribution', kind: 'check', id: 'echo_ok' }, null, t.ctx)).toEqual({
      status: 'PASS',
      message: 'HI',
    });
    expect(t.audit.records).toHaveLength(1);
    expect(cmd('x')).toEqual({ type: 'contribution', kind: 'command', id: 'x' });
  });

  it('refuses a Node built-in import with the reason', async () => {
    await writeFile(
      join(dir, 'bad.ts'),
      `import { readFileSync } from 'node:fs';\nexport default { name: 'bad', x: readFileSync };\n`,
    );
    await expect(bundlePluginSource(join(dir, 'bad.ts'))).rejects.toThrow(
      /cannot import "node:fs": sandboxed plugins have no Node API; use ctx.fs \/ ctx.exec \/ ctx.net/,
    );
  });
});
