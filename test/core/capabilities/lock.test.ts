// The one lock (core/lock.ts) and ctx.lock: holder shown, stale holders taken over, dry run takes nothing
// (unless inDryRun).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseHolder, processStart, takeLock } from '../../../core/lock.js';
import { caps, rejection, tempDir } from './helpers.js';

let t: { dir: string; cleanup(): void };
beforeEach(() => {
  t = tempDir('cx-lock-');
});
afterEach(() => t.cleanup());

const deadPid = () => spawnSync('true').pid!;

describe('takeLock', () => {
  it('a held lock refuses a second taker with CX_ERR_STATE_LOCKED (exit 5) naming the holder; released, it can be taken again', async () => {
    const file = join(t.dir, 'locks/update.lock');
    const first = await takeLock(file, { what: "lock 'update'", command: 'cx-ops update apply' });
    expect(parseHolder(readFileSync(file, 'utf8'))).toMatchObject({
      pid: process.pid,
      start: processStart(process.pid),
      command: 'cx-ops update apply',
    });
    const e = await rejection(takeLock(file, { what: "lock 'update'", command: 'cx-ops update rollback' }));
    expect(e).toMatchObject({
      code: 'CX_ERR_STATE_LOCKED',
      exitCode: 5,
      message: `lock 'update' is locked by another cx-ops run (pid ${process.pid}, cx-ops update apply).\nWait for it to finish, then run the command again.`,
    });
    await first.release();
    expect(existsSync(file)).toBe(false);
    const again = await takeLock(file, { what: "lock 'update'", command: 'x' });
    await again.release();
  });

  it('a lock whose holder died, or whose pid now belongs to another process, is taken over; leftovers are not', async () => {
    const file = join(t.dir, 'state.lock');
    writeFileSync(file, JSON.stringify({ pid: deadPid(), start: 1, command: 'cx-ops killed', token: 'dead' }));
    const a = await takeLock(file, { what: 'the plugin state', command: 'cx-ops now' });
    expect(parseHolder(readFileSync(file, 'utf8'))?.command).toBe('cx-ops now');
    await a.release();
    // Our own pid, but another start time: a process before us that had the same pid.
    writeFileSync(file, JSON.stringify({ pid: process.pid, start: 1, command: 'cx-ops earlier', token: 'old' }));
    const b = await takeLock(file, { what: 'the plugin state', command: 'cx-ops now' });
    await b.release();
    // A live process with its real start time holds it.
    const sleeper = spawn('sleep', ['30']);
    try {
      writeFileSync(
        file,
        JSON.stringify({
          pid: sleeper.pid,
          start: processStart(sleeper.pid!),
          command: 'cx-ops sleeping',
          token: 'live',
        }),
      );
      expect(await rejection(takeLock(file, { what: 'the plugin state', command: 'x' }))).toMatchObject({
        code: 'CX_ERR_STATE_LOCKED',
        params: { pid: sleeper.pid, command: 'cx-ops sleeping' },
      });
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('waits for a live holder up to waitMs (a controllable sleep: no wall-clock race)', async () => {
    const file = join(t.dir, 'w.lock');
    const first = await takeLock(file, { what: 'w', command: 'first' });
    let slept = 0;
    const second = await takeLock(file, {
      what: 'w',
      command: 'second',
      waitMs: 60_000,
      sleep: async () => {
        slept++;
        if (slept === 3) await first.release();
      },
    });
    expect(slept).toBe(3);
    expect(parseHolder(readFileSync(file, 'utf8'))?.command).toBe('second');
    await second.release();
  });

  it('two takers racing for a stale lock: exactly one wins', async () => {
    const file = join(t.dir, 'race.lock');
    for (let round = 0; round < 20; round++) {
      writeFileSync(file, JSON.stringify({ pid: deadPid(), start: 1, command: 'dead', token: `d${round}` }));
      const results = await Promise.allSettled(
        [1, 2, 3].map((n) => takeLock(file, { what: 'race', command: `taker ${n}` })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'CX_ERR_STATE_LOCKED' });
      await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    }
  });
});

describe('ctx.lock', () => {
  it('takes <lockDir>/<name>.lock, audited; the holder of a taken one is named', async () => {
    const lockDir = join(t.dir, 'locks');
    const a = caps('updates', { lockDir });
    const held = await a.lock('packages', { what: 'update apply' });
    expect(held.name).toBe('packages');
    expect(parseHolder(readFileSync(join(lockDir, 'packages.lock'), 'utf8'))?.command).toBe('cx-ops update apply');
    const e = await rejection(caps('hotfix', { lockDir }).lock('packages'));
    expect(e).toMatchObject({
      code: 'CX_ERR_STATE_LOCKED',
      exitCode: 5,
      params: { pid: process.pid, command: 'cx-ops update apply' },
    });
    expect(a.audit.records).toMatchObject([
      { plugin: 'updates', capability: 'fs', op: 'lock', target: 'packages', allowed: true },
    ]);
    await held.release();
    await held.release(); // twice is harmless
    expect(existsSync(join(lockDir, 'packages.lock'))).toBe(false);
  });

  it("takes nothing in a dry run (recorded); a sandboxed plugin's names are its own; a bad name is a usage error", async () => {
    const lockDir = join(t.dir, 'locks');
    mkdirSync(lockDir);
    const dry = caps('updates', { lockDir, dryRun: true });
    await (await dry.lock('packages')).release();
    expect(dry.recorder.actions).toEqual(['lock: packages']);
    expect(existsSync(join(lockDir, 'packages.lock'))).toBe(false);
    const s = caps('third', { lockDir, grants: [] });
    const held = await s.lock('packages');
    expect([held.name, existsSync(join(lockDir, 'third.packages.lock'))]).toEqual(['third.packages', true]);
    await held.release();
    expect(await rejection(s.lock('../x'))).toMatchObject({ code: 'CX_ERR_USAGE', exitCode: 2 });
  });

  it('inDryRun takes it in a dry run too (state kept in a dry run still takes turns with a real run)', async () => {
    const lockDir = join(t.dir, 'locks');
    mkdirSync(lockDir);
    const dry = caps('heal', { lockDir, dryRun: true });
    const held = await dry.lock('heal', { inDryRun: true });
    expect(existsSync(join(lockDir, 'heal.lock'))).toBe(true);
    expect(dry.recorder.actions).toEqual([]);
    const real = caps('heal', { lockDir });
    expect(await rejection(real.lock('heal'))).toMatchObject({ code: 'CX_ERR_STATE_LOCKED', exitCode: 5 });
    await held.release();
    expect(existsSync(join(lockDir, 'heal.lock'))).toBe(false);
  });
});
