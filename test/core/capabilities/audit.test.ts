// A side effect that cannot be audited is not performed, and the failure is reported.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
  expect(e).toMatchObject({ code: 'CX_ERR_IO', exitCode: 2, params: { path: auditFile } });
  expect(e.message).toContain('the change was not made');
  expect(existsSync(join(t.dir, 'out'))).toBe(false);
  await audit.close();
});

it('with a working audit file every write is recorded before it is made', async () => {
  const audit = new AuditLog(join(t.dir, 'log', 'audit.jsonl'));
  const { fs } = createHostCapabilities({ plugin: 'p', tier: 'trusted', grants: 'all', dryRun: false, audit });
  await fs.writeBytes(join(t.dir, 'b'), new Uint8Array([1, 2, 3]));
  await audit.close();
  const lines = readFileSync(join(t.dir, 'log', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines).toMatchObject([
    { plugin: 'p', capability: 'fs', op: 'writeBytes', target: join(t.dir, 'b'), args: { bytes: 3 }, allowed: true },
  ]);
});

const record = (i: number) => ({
  plugin: 'p',
  tier: 'trusted' as const,
  capability: 'fs',
  op: 'readFile',
  target: `/proc/file-${String(i).padStart(4, '0')}`,
  allowed: true,
  dryRun: false,
});
const linesOf = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).target as string);

it('is rotated by size: audit.jsonl, then .1 (newest) to .<keep>, the oldest dropped; no record split', async () => {
  const file = join(t.dir, 'log', 'audit.jsonl');
  const audit = new AuditLog(file);
  audit.retain({ maxBytes: 1000, keep: 2 });
  // 40 records of ~140 bytes, written one flush at a time: about seven records a file.
  for (let i = 0; i < 40; i++) {
    audit.append(record(i));
    await audit.flush();
  }
  await audit.close();
  const names = readdirSync(join(t.dir, 'log')).sort();
  expect(names).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']);
  for (const n of names) expect(statSync(join(t.dir, 'log', n)).size).toBeLessThanOrEqual(1000);
  const kept = [...linesOf(`${file}.2`), ...linesOf(`${file}.1`), ...linesOf(file)];
  // The newest records, in order, none lost between the files that are kept.
  const first = 40 - kept.length;
  expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => record(first + i).target));
  expect(linesOf(file).at(-1)).toBe(record(39).target);
  expect(statSync(file).mode & 0o777).toBe(0o600);
});

it('records appended together go out in one write, and a log another process rotated is reopened, not rotated again', async () => {
  const file = join(t.dir, 'log', 'audit.jsonl');
  const a = new AuditLog(file);
  const b = new AuditLog(file);
  a.retain({ maxBytes: 600, keep: 3 });
  b.retain({ maxBytes: 600, keep: 3 });
  for (let i = 0; i < 3; i++) a.append(record(i));
  await a.flush();
  for (let i = 3; i < 6; i++) b.append(record(i)); // b now knows the file is past 600 bytes
  await b.flush();
  a.append(record(6)); // a rotates: the file (6 records) becomes .1
  await a.flush();
  b.append(record(7)); // b's file was moved away under it: it reopens audit.jsonl, .1 stays
  await b.flush();
  await Promise.all([a.close(), b.close()]);
  expect(readdirSync(join(t.dir, 'log')).sort()).toEqual(['audit.jsonl', 'audit.jsonl.1']);
  expect(linesOf(`${file}.1`)).toEqual([0, 1, 2, 3, 4, 5].map((i) => record(i).target));
  expect(linesOf(file)).toEqual([6, 7].map((i) => record(i).target));
});

it('keep: 0 keeps no rotated file', async () => {
  const file = join(t.dir, 'log', 'audit.jsonl');
  const audit = new AuditLog(file);
  audit.retain({ maxBytes: 300, keep: 0 });
  for (let i = 0; i < 5; i++) {
    audit.append(record(i));
    await audit.flush();
  }
  await audit.close();
  expect(readdirSync(join(t.dir, 'log'))).toEqual(['audit.jsonl']);
  expect(linesOf(file)).toEqual([4].map((i) => record(i).target));
});
