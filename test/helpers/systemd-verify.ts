/**
 * `systemd-analyze verify` of a shipped unit's text (its Exec lines already pointed at this
 * checkout): the lines the tool says about the unit, and its exit code.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/** Whether this machine has systemd-analyze (tests skip when it does not). */
export const HAVE_SYSTEMD_ANALYZE = existsSync('/usr/bin/systemd-analyze');

export async function verifyUnit(name: string, text: string): Promise<{ said: string[]; exitCode: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'cx-unit-'));
  try {
    await writeFile(join(dir, name), text);
    const r = await execa('systemd-analyze', ['verify', join(dir, name)], { reject: false });
    return { said: `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(name)), exitCode: r.exitCode ?? -1 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
