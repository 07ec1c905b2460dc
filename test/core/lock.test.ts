/**
 * What a killed run leaves beside a lock (core/lock.ts): its record file and a takeover guard are
 * removed by the next run that takes the same lock, only when their process is gone; a live
 * process's files and other names are left alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { takeLock } from '../../core/lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
const deadPid = () => spawnSync('true').pid!;

test('a dead run’s lock record, takeover guard and stale lock are swept; a live run’s record stays', async () => {
  const dead = deadPid();
  const lock = join(dir, 'update.lock');
  const record = (pid: number) => `${JSON.stringify({ pid, start: 0, command: 'cx-ops update apply', token: 'x' })}\n`;
  await writeFile(`${lock}.${dead}.0123456789abcdef.tmp`, record(dead));
  await writeFile(`${lock}.takeover`, record(dead));
  await writeFile(lock, record(dead));
  const live = `${lock}.${process.ppid}.fedcba9876543210.tmp`;
  await writeFile(live, record(process.ppid));
  await writeFile(join(dir, `other.lock.${dead}.0123456789abcdef.tmp`), record(dead));
  const held = await takeLock(lock, { what: "lock 'update'", command: 'test' });
  await held.release();
  expect((await readdir(dir)).sort()).toEqual(
    [`other.lock.${dead}.0123456789abcdef.tmp`, `update.lock.${process.ppid}.fedcba9876543210.tmp`].sort(),
  );
});
