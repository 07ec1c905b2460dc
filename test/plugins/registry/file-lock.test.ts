/**
 * The lock the registry plugin takes (ctx.lock: the one lock of cx-ops, core/lock.ts) under real
 * contention: several processes take it, do a read-modify-write of a counter under it, and
 * release it. A lost update means two held it at once. A lock left by a dead process is taken
 * over exactly once.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';

const run = promisify(execFile);
const lockModule = resolve('dist/core/lock.js');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-file-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const worker = (lock: string, counter: string, rounds: number) => `
  const { takeLock } = await import(${JSON.stringify(lockModule)});
  const { readFile, writeFile } = await import('node:fs/promises');
  for (let i = 0; i < ${rounds}; i++) {
    const lock = await takeLock(${JSON.stringify(lock)}, { what: 'the counter', command: 'cx-ops test', waitMs: 60000 });
    const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'));
    await new Promise((r) => setImmediate(r));
    await writeFile(${JSON.stringify(counter)}, String(n + 1));
    await lock.release();
  }
`;

async function contend(name: string, procs: number, rounds: number): Promise<number> {
  const lock = join(dir, `${name}.lock`);
  const counter = join(dir, `${name}.count`);
  await writeFile(counter, '0');
  await Promise.all(
    Array.from({ length: procs }, () =>
      run(process.execPath, ['--input-type=module', '-e', worker(lock, counter, rounds)]),
    ),
  );
  return Number(await readFile(counter, 'utf8'));
}

test('six processes taking turns 25 times each lose no update', async () => {
  expect(await contend('busy', 6, 25)).toBe(150);
});

test('a lock left by a dead process is taken over once, not by every waiter', async () => {
  const dead = await run(process.execPath, ['-e', 'console.log(process.pid)']);
  const deadPid = Number(dead.stdout.trim());
  await writeFile(join(dir, 'stale.lock'), `${deadPid}\n`);
  expect(await contend('stale', 6, 10)).toBe(60);
});

test('a live holder makes a waiter without patience fail, naming the holder', async () => {
  const lock = join(dir, 'held.lock');
  await writeFile(lock, `${process.pid}\n`);
  const r = await run(process.execPath, [
    '--input-type=module',
    '-e',
    `
    const { takeLock } = await import(${JSON.stringify(lockModule)});
    try { await takeLock(${JSON.stringify(lock)}, { what: 'the thing', command: 'cx-ops test' }); console.log('taken'); }
    catch (e) { console.log(e.code + ' (exit ' + e.exitCode + '): ' + e.message); }
  `,
  ]);
  expect(r.stdout.trim()).toBe(
    `CX_ERR_STATE_LOCKED (exit 5): the thing is locked by another cx-ops run (pid ${process.pid}).\nWait for it to finish, then run the command again.`,
  );
  expect(await readFile(lock, 'utf8')).toBe(`${process.pid}\n`);
});
