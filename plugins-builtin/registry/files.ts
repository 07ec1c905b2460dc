/**
 * Local file primitives of the registry plugin: atomic writes (temp + fsync + rename + directory
 * fsync), an exclusive lock file naming its holder, and sha256. The archive work (bytes, tar,
 * directory swaps) needs node:fs directly; a trusted built-in may use it, and every write here is
 * atomic so a killed run never leaves half a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CxError } from 'cx-ops/sdk';

/** Hex sha256 of bytes. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `data` so that readers see the old or the new content, never half. */
export async function writeAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

/** fsyncs a directory so a rename in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r').catch(() => undefined);
  if (d) {
    await d.sync().catch(() => {});
    await d.close();
  }
}

/** Reads a file; undefined when it does not exist. */
export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (e: any) {
    if (e?.code === 'ENOENT') return undefined;
    throw e;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e?.code === 'EPERM';
  }
}

/** Thrown when another live process holds a lock: the one lock error, CX_ERR_STATE_LOCKED (exit 5). */
export class LockedError extends CxError {
  constructor(readonly what: string, readonly pid: number) {
    super('CX_ERR_STATE_LOCKED', { what, pid });
    this.name = 'LockedError';
  }
}

/**
 * Takes an exclusive lock file holding our pid; a lock left by a dead process is taken over.
 * While a live process holds it, waits up to `waitMs` before giving up. Resolves with the
 * function that releases it.
 */
export async function lockFile(file: string, what: string, waitMs = 0): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await tryLock(file, what);
    } catch (e) {
      if (!(e instanceof LockedError) || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
}

async function tryLock(file: string, what: string): Promise<() => Promise<void>> {
  await mkdir(dirname(file), { recursive: true });
  // The lock appears with its content in one step: our pid goes into a private file first, which
  // link() then puts in place (failing if a lock exists). A reader never sees an empty lock.
  const mine = `${process.pid}\n${randomBytes(8).toString('hex')}\n`;
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, mine, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(tmp, file);
        return async () => {
          if ((await readFile(file, 'utf8').catch(() => '')) === mine) await unlink(file).catch(() => {});
        };
      } catch (e: any) {
        if (e?.code !== 'EEXIST') throw e;
      }
      const holder = await readFile(file, 'utf8').catch(() => undefined);
      if (holder === undefined) continue; // released meanwhile
      const pid = Number(holder.split('\n')[0]);
      if (pid && pid !== process.pid && alive(pid)) throw new LockedError(what, pid);
      await removeStale(file, holder, tmp);
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
  throw new LockedError(what, 0);
}

/**
 * Removes a lock left by a dead process, but only the one that was read: two runs that both
 * found it stale must not both remove it (the second would remove the first's new lock). The
 * removal happens under a short-lived guard file; a guard older than 10 s was left by a killed
 * run and is cleared.
 */
async function removeStale(file: string, holder: string, tmp: string): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await link(tmp, guard);
  } catch (e: any) {
    if (e?.code !== 'EEXIST') throw e;
    const st = await stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 10_000) await unlink(guard).catch(() => {});
    return;
  }
  try {
    if ((await readFile(file, 'utf8').catch(() => undefined)) === holder) await unlink(file).catch(() => {});
  } finally {
    await unlink(guard).catch(() => {});
  }
}
