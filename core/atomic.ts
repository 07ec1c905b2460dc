/**
 * Atomic file writes (temp file in the same directory + fsync + rename + directory fsync) and
 * an exclusive lock file that names its holder's pid.
 */
import { open, rename, mkdir, readFile, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { CxError } from './errors.js';

/** Writes `data` to `file` so that a reader sees either the old or the new content, never half. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
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
  const d = await open(dir, 'r').catch(() => undefined);
  if (d) {
    await d.sync().catch(() => {});
    await d.close();
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

/**
 * Takes an exclusive lock (a file holding our pid). A lock whose holder is dead is stale and
 * taken over; a live holder makes this throw CX_ERR_STATE_LOCKED naming its pid.
 */
export async function acquireLock(file: string, what: string): Promise<() => Promise<void>> {
  await mkdir(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      await fh.writeFile(`${process.pid}\n${process.argv.slice(1).join(' ')}\n`);
      await fh.close();
      return async () => {
        await unlink(file).catch(() => {});
      };
    } catch (e: any) {
      if (e?.code !== 'EEXIST') throw e;
      const [pidLine, command] = (await readFile(file, 'utf8').catch(() => '')).split('\n');
      const pid = Number(pidLine);
      if (pid && alive(pid) && pid !== process.pid) throw new CxError('CX_ERR_STATE_LOCKED', { what, pid, command });
      await unlink(file).catch(() => {});
    }
  }
  throw new CxError('CX_ERR_STATE_LOCKED', { what, pid: 'unknown' });
}

