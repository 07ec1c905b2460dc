// A side effect that cannot be audited is not performed, and the failure is reported.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { rejection, tempDir } from './helpers.js';

let t: { dir: string; cleanup(): void };
beforeEach(() => {
  t = tempDir('cx-audit-');
});
afterEach(() => t.cleanup());

it('a write whose audit record cannot be written fails with CX_ERR_IO naming the audit file, and writes nothing; reads go on', async () => {
  writeFileSync(join(t.dir, 'not-a-dir'), '');
  const auditFile = join(t.dir, 'not-a-dir', 'audit.jsonl');
  const audit = new AuditLog(auditFile);
  const { fs } = createHostCapabilities({ plugin: 'p', tier: 'trusted', grants: 'all', dryRun: false, audit });
  writeFileSync(join(t.dir, 'in'), 'x');
  expect(await fs.readFile(join(t.dir, 'in'))).toBe('x');
  const e = await rejection(fs.writeFile(join(t.dir, 'out'), 'data'));
  expect(e).toMatchObject({ code: 'CX_ERR_IO', exitCode: 1, params: { path: auditFile } });
  expect(e.message).toContain('the change was not made');
  expect(existsSync(join(t.dir, 'out'))).toBe(false);
  await audit.close();
});

it('with a working audit file every write is recorded before it is made', async () => {
  const audit = new AuditLog(join(t.dir, 'log', 'audit.jsonl'));
  const { fs } = createHostCapabilities({ plugin: 'p', tier: 'trusted', grants: 'all', dryRun: false, audit });
  await fs.writeBytes(join(t.dir, 'b'), new Uint8Array([1, 2, 3]));
  await audit.close();
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(join(t.dir, 'log', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines).toMatchObject([
    { plugin: 'p', capability: 'fs', op: 'writeBytes', target: join(t.dir, 'b'), args: { bytes: 3 }, allowed: true },
  ]);
});
