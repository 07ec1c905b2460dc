/**
 * The fs capability: reads and writes checked against read/write grants on the resolved path at
 * open time (see fs-open.ts), capped reads of regular files, atomic writes (temp file in the same
 * directory, fsync, rename, fsync of the directory), fsynced appends, dry-run aware. `ctx.fs`
 * is the host view (paths resolved under --root); `ctx.localFs` takes paths as given.
 * One function per operation: fs-read.ts and fs-write.ts; the batched kernel-file read in fs-small.ts,
 * the batched statfs in fs-statfs.ts, many file operations in one guarded call in fs-batch.ts.
 */
import type { FsCapability } from '../../sdk/types.js';
import { batch } from './fs-batch.js';
import { makeDirs } from './fs-disk.js';
import { normalizeAbsolute } from './fs-open.js';
import * as read from './fs-read.js';
import { readSmallFiles } from './fs-small.js';
import { statfsMany } from './fs-statfs.js';
import { toDisk, type FsScope } from './fs-scope.js';
import * as write from './fs-write.js';

export type { FsFake, FsScope } from './fs-scope.js';

/** The fs capability of one view of one plugin. */
export function createFs(s: FsScope): FsCapability {
  const fs: FsCapability = {
    readFile: (p, o) => read.readFile(s, p, o),
    readSmallFiles: (p, o) => readSmallFiles(s, p, o),
    readBytes: (p, o) => read.readBytes(s, p, o),
    readDir: (p) => read.readDir(s, p),
    stat: (p) => read.stat(s, p),
    lstat: (p) => read.lstat(s, p),
    statfs: (p) => read.statfs(s, p),
    statfsMany: (p) => statfsMany(s, p),
    readlink: (p) => read.readlink(s, p),
    writeFile: (p, d, o) => write.writeFile(s, p, d, o),
    writeBytes: (p, d, o) => write.writeBytes(s, p, d, o),
    appendFile: (p, d, o) => write.appendFile(s, p, d, o),
    symlink: (t, p) => write.symlink(s, t, p),
    copy: (a, b, o) => write.copy(s, a, b, o),
    mkdir: (p, o) => write.mkdir(s, p, o),
    remove: (p, o) => write.remove(s, p, o),
    rename: (a, b, o) => write.rename(s, a, b, o),
    link: (a, b, o) => write.link(s, a, b, o),
    fsync: (p) => write.fsync(s, p),
    hash: (p) => read.hash(s, p),
    chmod: (p, m) => write.chmod(s, p, m),
    chown: (p, u, g) => write.chown(s, p, u, g),
    batch: (ops, o) => batch(s, fs, ops, o),
    diskPath: (p) => {
      const n = normalizeAbsolute(p);
      return n === null ? String(p) : toDisk(s, n);
    },
  };
  return fs;
}

/** makeDirs, exported for the race test. */
export const makeDirsForTest = (lexical: string, planned: string, mode: number) => makeDirs(lexical, planned, mode);
