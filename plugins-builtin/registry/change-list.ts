/**
 * What a registry command changes, listed as it goes: the same ctx.localFs and ctx.lock calls,
 * each also noted in `changes` in the words the capability records them with. In a dry run (and
 * under --dev) the capability performs none of them, and the command shows the list: every
 * file, directory, symlink, rename, removal and lock a real run would make.
 */
import type { FsCapability } from 'cx-ops/sdk';
import type { RegistryCaps } from './local-files.js';

const size = (data: string | Uint8Array) =>
  typeof data === 'string' ? new TextEncoder().encode(data).byteLength : data.byteLength;

/** `caps` with every change it makes also appended to `changes`. */
export function listingChanges(caps: RegistryCaps): { caps: RegistryCaps; changes: string[] } {
  const changes: string[] = [];
  const fs = caps.localFs;
  const note = <T>(line: string, call: Promise<T>): Promise<T> => {
    changes.push(line);
    return call;
  };
  const localFs: FsCapability = {
    ...fs,
    writeFile: (p, d, o) => note(`${o?.append ? 'append' : 'write'}: ${p} (${size(d)} bytes)`, fs.writeFile(p, d, o)),
    writeBytes: (p, d, o) => note(`write: ${p} (${size(d)} bytes)`, fs.writeBytes(p, d, o)),
    appendFile: (p, d, o) => note(`append: ${p} (${size(d)} bytes)`, fs.appendFile(p, d, o)),
    symlink: (t, p) => note(`symlink: ${p} -> ${t}`, fs.symlink(t, p)),
    copy: (a, b, o) => note(`copy: ${a} -> ${b}`, fs.copy(a, b, o)),
    mkdir: (p, o) => note(`mkdir: ${p}`, fs.mkdir(p, o)),
    remove: (p, o) => note(`remove${o?.recursive ? ' -r' : ''}: ${p}`, fs.remove(p, o)),
    rename: (a, b) => note(`rename: ${a} -> ${b}`, fs.rename(a, b)),
    chmod: (p, m) => note(`chmod: ${p} ${m.toString(8)}`, fs.chmod(p, m)),
    chown: (p, u, g) => note(`chown: ${p} ${u}:${g}`, fs.chown(p, u, g)),
  };
  return { caps: { localFs, net: caps.net, lock: (name, o) => note(`lock: ${name}`, caps.lock(name, o)) }, changes };
}

/** A dry run's list of changes as text ('' when there are none). */
export function changesText(changes: string[]): string {
  return changes.length ? `A real run would make these changes:\n${changes.map((c) => `  ${c}\n`).join('')}` : '';
}
