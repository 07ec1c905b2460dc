/**
 * The fs capability: reads and writes checked against read/write grants on the resolved path at
 * open time (see fs-open.ts), capped reads, atomic writes (temp file in the same directory,
 * fsync, rename, fsync of the directory), dry-run aware.
 */
import { randomBytes } from 'node:crypto';
import { mkdir as mkdirPath, readdir, readlink as readlinkPath, rename as renamePath, rm, rmdir, statfs as statfsPath, unlink, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { DirEntry, FileStat, FsCapability, WriteOptions } from '../../sdk/types.js';
import { CxError } from '../errors.js';
import { pathGranted } from '../permissions/match.js';
import {
  anchored, entryOrNull, fdPath, isSensitive, lstatOrNull, MovedError, normalizeAbsolute, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NONBLOCK, O_PATH,
  O_RDONLY, O_TRUNC, O_WRONLY, openParent, openVerified, realOrNull, typeOf,
} from './fs-open.js';
import type { Guard } from './guard.js';

export const MAX_READ_BYTES = 8 * 1024 * 1024;
export const MAX_WRITE_BYTES = 16 * 1024 * 1024;
export const MAX_DIR_ENTRIES = 100_000;

/** Fake fs methods for tests: called after grants allow the call (paths checked lexically). */
export type FsFake = Partial<FsCapability>;

type Kind = 'read' | 'write';

async function closing<T>(fh: FileHandle, f: (fh: FileHandle) => Promise<T>): Promise<T> {
  try {
    return await f(fh);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** procfs/sysfs files are written in place: they cannot be replaced by rename. */
const inPlace = (real: string) => /^\/(proc|sys)\//.test(real);

export function createFs(guard: Guard, fake?: FsFake): FsCapability {
  const allowed = (kind: Kind, real: string) => {
    if (!guard.checked) return true;
    const list = guard.effective[kind];
    return list.includes(real) || (pathGranted(list, real) && !isSensitive(real));
  };
  const need = (kind: Kind, real: string, asked: string) => {
    if (!allowed(kind, real)) guard.deny({ capability: kind, target: real, reason: real !== asked ? `'${asked}' resolves to it` : undefined });
  };
  const absolute = (kind: Kind, p: unknown): string => {
    const n = normalizeAbsolute(p);
    if (n === null) guard.deny({ capability: kind, target: String(p), reason: 'paths must be absolute and free of NUL', grantable: false });
    return n;
  };
  const missing = (kind: Kind, lexical: string, asked: string): never => {
    need(kind, lexical, asked);
    throw new CxError('CX_ERR_IO', { path: asked, detail: 'no such file or directory' });
  };

  /** One fs call: audit + limiter via the guard; Node errors become CX_ERR_IO, races become denials. */
  function op<T>(name: string, kind: Kind, path: unknown, args: unknown, body: (lexical: string, allow: () => void) => Promise<T>): Promise<T> {
    return guard.call({ capability: 'fs', op: name, target: String(path), args }, async (allow) => {
      const lexical = absolute(kind, path);
      try {
        return await body(lexical, allow);
      } catch (e) {
        if (e instanceof MovedError) return guard.deny({ capability: kind, target: e.expected, reason: e.message, grantable: false });
        const err = e as NodeJS.ErrnoException;
        if (err && typeof err.code === 'string' && typeof err.syscall === 'string') {
          throw new CxError('CX_ERR_IO', { path: String(path), detail: `${name} failed: ${err.code}${err.code === 'ELOOP' ? ' (a symlink where none is followed)' : ''}` }, { cause: e });
        }
        throw e;
      }
    });
  }

  /** Side-effecting call: checks, then a fake, a dry-run record, or the real thing. */
  async function effect(allow: () => void, action: string, fakeCall: (() => Promise<void>) | undefined, real: () => Promise<void>): Promise<void> {
    allow();
    if (guard.dryRun) return void guard.record(action);
    if (fakeCall) return fakeCall();
    return real();
  }

  /** Where a write lands: the entry, or the target of a final symlink (which must exist). */
  async function writeTarget(lexical: string, asked: string): Promise<string> {
    const entry = await entryOrNull(asked);
    if (entry === null) return missing('write', lexical, asked);
    const st = await lstatOrNull(entry);
    if (st?.isSymbolicLink()) {
      const real = await realOrNull(entry);
      if (real === null) guard.deny({ capability: 'write', target: entry, reason: 'it is a dangling symlink', grantable: false });
      return real;
    }
    return entry;
  }

  return {
    readFile: (path) =>
      op('readFile', 'read', path, undefined, async (lexical, allow) => {
        if (fake?.readFile) return need('read', lexical, path), allow(), fake.readFile(lexical);
        const real = (await realOrNull(path)) ?? missing('read', lexical, path);
        need('read', real, path);
        return closing(await openVerified(real, O_RDONLY | O_NONBLOCK, real), async (fh) => {
          const st = await fh.stat();
          if (!st.isFile() && !(guard.checked ? guard.effective.read.includes(real) : true)) {
            guard.deny({ capability: 'read', target: real, reason: 'it is a device, FIFO or socket; only an exact grant of that path allows reading it' });
          }
          allow();
          const chunks: Buffer[] = [];
          let size = 0;
          for (;;) {
            const buf = Buffer.alloc(64 * 1024);
            const { bytesRead } = await fh.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            size += bytesRead;
            if (size > MAX_READ_BYTES) throw new CxError('CX_ERR_IO', { path, detail: `is larger than the read cap of ${MAX_READ_BYTES} bytes; read a smaller file or use exec with a granted tool` });
            chunks.push(buf.subarray(0, bytesRead));
          }
          return new TextDecoder().decode(Buffer.concat(chunks));
        });
      }),

    readDir: (path) =>
      op('readDir', 'read', path, undefined, async (lexical, allow) => {
        if (fake?.readDir) return need('read', lexical, path), allow(), fake.readDir(lexical);
        const real = (await realOrNull(path)) ?? missing('read', lexical, path);
        need('read', real, path);
        return closing(await openVerified(real, O_RDONLY | O_DIRECTORY, real), async (fh) => {
          allow();
          const entries = await readdir(`/proc/self/fd/${fh.fd}`, { withFileTypes: true });
          return entries.slice(0, MAX_DIR_ENTRIES).map((e): DirEntry => ({ name: e.name, type: typeOf(e) }));
        });
      }),

    stat: (path) =>
      op('stat', 'read', path, undefined, async (lexical, allow) => {
        if (fake?.stat) return need('read', lexical, path), allow(), fake.stat(lexical);
        const entry = await entryOrNull(path);
        need('read', entry ?? lexical, path);
        allow();
        if (entry === null) return null;
        let fh: FileHandle;
        try {
          fh = await openVerified(entry, O_PATH, entry);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw e;
        }
        return closing(fh, async (h): Promise<FileStat> => {
          const s = await h.stat();
          return { path: lexical, type: typeOf(s), size: s.size, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, mtimeMs: s.mtimeMs };
        });
      }),

    statfs: (path) =>
      op('statfs', 'read', path, undefined, async (lexical, allow) => {
        if (fake?.statfs) return need('read', lexical, path), allow(), fake.statfs(lexical);
        const real = (await realOrNull(path)) ?? missing('read', lexical, path);
        need('read', real, path);
        return closing(await openVerified(real, O_PATH, real), async (fh) => {
          allow();
          const s = await statfsPath(`/proc/self/fd/${fh.fd}`);
          return { total: s.blocks * s.bsize, free: s.bfree * s.bsize, available: s.bavail * s.bsize, files: s.files, filesFree: s.ffree };
        });
      }),

    readlink: (path) =>
      op('readlink', 'read', path, undefined, async (lexical, allow) => {
        if (fake?.readlink) return need('read', lexical, path), allow(), fake.readlink(lexical);
        const entry = (await entryOrNull(path)) ?? missing('read', lexical, path);
        need('read', entry, path);
        return closing(await openParent(entry), async (dir) => {
          allow();
          return readlinkPath(anchored(dir, posix.basename(entry)));
        });
      }),

    writeFile: (path, data, options: WriteOptions = {}) =>
      op(options.append ? 'appendFile' : 'writeFile', 'write', path, { bytes: typeof data === 'string' ? Buffer.byteLength(data) : null, mode: options.mode }, async (lexical, allow) => {
        if (typeof data !== 'string' || Buffer.byteLength(data) > MAX_WRITE_BYTES) {
          throw new CxError('CX_ERR_IO', { path, detail: `data must be a string of at most ${MAX_WRITE_BYTES} bytes` });
        }
        const bytes = Buffer.byteLength(data);
        const action = `${options.append ? 'append' : 'write'}: ${lexical} (${bytes} bytes)`;
        if (fake?.writeFile || guard.dryRun) {
          need('write', fake?.writeFile ? lexical : await writeTarget(lexical, path).catch(() => lexical), path);
          return effect(allow, action, fake?.writeFile && (() => fake.writeFile!(lexical, data, options)), async () => undefined);
        }
        const target = await writeTarget(lexical, path);
        need('write', target, path);
        return effect(allow, action, undefined, () => writeAt(target, data, options, guard.checked ? guard.effective.write.includes(target) : true));
      }),

    mkdir: (path, options = {}) =>
      op('mkdir', 'write', path, { mode: options.mode }, async (lexical, allow) => {
        const target = fake?.mkdir ? lexical : await plannedDir(lexical);
        need('write', target, path);
        return effect(allow, `mkdir: ${lexical}`, fake?.mkdir && (() => fake.mkdir!(lexical, options)), () => makeDirs(lexical, target, options.mode ?? 0o755));
      }),

    remove: (path, options = {}) =>
      op('remove', 'write', path, { recursive: Boolean(options.recursive) }, async (lexical, allow) => {
        const entry = fake?.remove ? lexical : (await entryOrNull(path)) ?? missing('write', lexical, path);
        need('write', entry, path);
        return effect(allow, `remove${options.recursive ? ' -r' : ''}: ${lexical}`, fake?.remove && (() => fake.remove!(lexical, options)), () =>
          removeAt(entry, Boolean(options.recursive)),
        );
      }),

    rename: (from, to) =>
      op('rename', 'write', from, { to }, async (lexical, allow) => {
        const dest = absolute('write', to);
        const a = fake?.rename ? lexical : (await entryOrNull(from)) ?? missing('write', lexical, from);
        const b = fake?.rename ? dest : (await entryOrNull(to)) ?? missing('write', dest, to);
        need('write', a, from);
        need('write', b, to);
        return effect(allow, `rename: ${lexical} -> ${dest}`, fake?.rename && (() => fake.rename!(lexical, dest)), async () => {
          const [pa, pb] = [await openParent(a), await openParent(b).catch(() => null)];
          try {
            if (!pb) throw new CxError('CX_ERR_IO', { path: to, detail: 'its directory cannot be opened' });
            await renamePath(anchored(pa, posix.basename(a)), anchored(pb, posix.basename(b)));
            await pb.sync().catch(() => undefined);
          } finally {
            await pa.close();
            await pb?.close();
          }
        });
      }),

    chmod: (path, mode) =>
      op('chmod', 'write', path, { mode }, async (lexical, allow) => {
        const real = fake?.chmod ? lexical : (await realOrNull(path)) ?? missing('write', lexical, path);
        need('write', real, path);
        return effect(allow, `chmod: ${lexical} ${Number(mode).toString(8)}`, fake?.chmod && (() => fake.chmod!(lexical, mode)), async () =>
          closing(await openVerified(real, O_RDONLY | O_NONBLOCK, real), (fh) => fh.chmod(mode)),
        );
      }),

    chown: (path, uid, gid) =>
      op('chown', 'write', path, { uid, gid }, async (lexical, allow) => {
        const real = fake?.chown ? lexical : (await realOrNull(path)) ?? missing('write', lexical, path);
        need('write', real, path);
        return effect(allow, `chown: ${lexical} ${uid}:${gid}`, fake?.chown && (() => fake.chown!(lexical, uid, gid)), async () =>
          closing(await openVerified(real, O_RDONLY | O_NONBLOCK, real), (fh) => fh.chown(uid, gid)),
        );
      }),
  };
}

/** The real path a mkdir -p would create: real deepest existing ancestor + the rest. */
async function plannedDir(lexical: string): Promise<string> {
  let existing = lexical;
  const rest: string[] = [];
  for (;;) {
    const real = await realOrNull(existing);
    if (real !== null) return posix.join(real, ...rest);
    rest.unshift(posix.basename(existing));
    existing = posix.dirname(existing);
  }
}

/**
 * mkdir -p, one verified component at a time: every directory walked through must lie on the way
 * to `planned` (the checked real target), so an ancestor swapped for a symlink meanwhile is refused.
 */
async function makeDirs(lexical: string, planned: string, mode: number): Promise<void> {
  const parts = lexical.split('/').filter(Boolean);
  let dir = await openVerified('/', O_RDONLY | O_DIRECTORY, '/');
  try {
    for (const part of parts) {
      const here = await fdPath(dir);
      const next = `${here === '/' ? '' : here}/${part}`;
      try {
        await mkdirPath(anchored(dir, part), { mode });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const real = (await realOrNull(anchored(dir, part))) ?? next;
      const child = await openVerified(anchored(dir, part), O_RDONLY | O_DIRECTORY, real).catch(async (e) => {
        // An existing symlink to a directory: follow it as mkdir -p would, verified against its real path.
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOOP' || code === 'ENOTDIR') return openVerified(real, O_RDONLY | O_DIRECTORY, real);
        throw e;
      });
      await dir.close();
      dir = child;
      const at = await fdPath(dir);
      if (at !== planned && !planned.startsWith(`${at === '/' ? '' : at}/`)) throw new MovedError(planned, at);
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
}

/** makeDirs, exported for the race test. */
export const makeDirsForTest = (lexical: string, planned: string, mode: number) => makeDirs(lexical, planned, mode);

async function removeAt(entry: string, recursive: boolean): Promise<void> {
  const dir = await openParent(entry);
  try {
    const p = anchored(dir, posix.basename(entry));
    const st = await lstatOrNull(p);
    if (!st) throw new CxError('CX_ERR_IO', { path: entry, detail: 'no such file or directory' });
    if (st.isDirectory()) await (recursive ? rm(p, { recursive: true }) : rmdir(p));
    else await unlink(p);
    await dir.sync().catch(() => undefined);
  } finally {
    await dir.close();
  }
}

/** Writes `data` to `target` (a resolved path): atomically, or appended / in place. */
async function writeAt(target: string, data: string, options: WriteOptions, exact: boolean): Promise<void> {
  const dir = await openParent(target);
  try {
    const name = posix.basename(target);
    const existing = await lstatOrNull(anchored(dir, name));
    if (existing && !existing.isFile() && !exact) {
      throw new CxError('CX_ERR_IO', { path: target, detail: existing.isDirectory() ? 'is a directory' : 'is not a regular file; only an exact write grant of that path allows writing it' });
    }
    if (options.append || inPlace(target) || (existing && !existing.isFile())) {
      const flags = O_WRONLY | (options.append ? O_APPEND : O_TRUNC) | (existing ? 0 : O_CREAT);
      const fh = await openVerified(anchored(dir, name), flags, target, options.mode ?? 0o644);
      await closing(fh, async (h) => {
        await h.writeFile(data);
        if (!inPlace(target)) await h.sync();
      });
      return;
    }
    const tmpName = `.${name}.cx-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    const tmpPath = `${posix.dirname(target) === '/' ? '' : posix.dirname(target)}/${tmpName}`;
    const mode = options.mode ?? (existing ? existing.mode & 0o7777 : 0o644);
    const fh = await openVerified(anchored(dir, tmpName), O_WRONLY | O_CREAT | O_EXCL, tmpPath, 0o600);
    try {
      await closing(fh, async (h) => {
        await h.writeFile(data);
        await h.chmod(mode);
        if (existing && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.())) await h.chown(existing.uid, existing.gid).catch(() => undefined);
        await h.sync();
      });
      await renamePath(anchored(dir, tmpName), anchored(dir, name));
    } catch (e) {
      await unlink(anchored(dir, tmpName)).catch(() => undefined);
      throw e;
    }
    await dir.sync().catch(() => undefined);
  } finally {
    await dir.close();
  }
}
