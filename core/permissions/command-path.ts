/**
 * Resolution of exec commands: a bare name is looked up on one fixed PATH (never the caller's),
 * an absolute path is taken as it is. Two spellings name the same program when their directories
 * resolve to the same real directory and the file names are equal (so /bin/ls and /usr/bin/ls
 * agree on a merged-/usr system, but a symlink such as `reboot -> systemctl` stays `reboot`:
 * multi-call binaries behave by their argv[0]).
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';

/** The PATH every exec uses; the caller's PATH is never consulted. */
export const FIXED_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The absolute path a command runs as, or null when no such program exists. */
export function resolveCommand(command: string): string | null {
  if (!command || command.includes('\0')) return null;
  if (command.includes('/')) {
    if (!posix.isAbsolute(command)) return null;
    const p = posix.normalize(command);
    return isExecutableFile(p) ? p : null;
  }
  for (const dir of FIXED_PATH.split(':')) {
    const p = `${dir}/${command}`;
    if (isExecutableFile(p)) return p;
  }
  return null;
}

/** A comparable identity for an absolute program path: real directory + file name. */
export function canonicalCommand(absolute: string): string {
  const dir = posix.dirname(absolute);
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // A directory that does not exist: keep the spelling; nothing can run from it anyway.
  }
  return `${real === '/' ? '' : real}/${posix.basename(absolute)}`;
}

/** Whether two command spellings (bare names or absolute paths) name the same program. */
export function sameCommand(a: string, b: string): boolean {
  if (a === b) return true;
  const ra = a.includes('/') ? a : resolveCommand(a);
  const rb = b.includes('/') ? b : resolveCommand(b);
  if (!ra || !rb) return false;
  return canonicalCommand(ra) === canonicalCommand(rb);
}
