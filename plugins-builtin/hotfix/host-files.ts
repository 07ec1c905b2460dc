/**
 * The file operations a hotfix needs beyond text files: lstat, hashing, byte-exact copies with
 * mode and owner, symlinks, lchown, durable writes. All go through ctx (audited, dry-run
 * aware): the fs capability where it offers the call, else coreutils through ctx.exec (no
 * shell). Paths here are real paths (already placed under --root).
 */
import { createHash } from 'node:crypto';
import type { FsCapability, PluginContext } from 'cx-ops/sdk';

/** What lstat says about a path (null: nothing there). */
export interface PathInfo {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

/** The byte and metadata calls of the capability contract; used when the fs capability has them. */
interface ByteFs {
  readBytes(path: string, options?: { maxBytes?: number }): Promise<Uint8Array>;
  lstat(path: string): Promise<{ type: string; mode: number; uid: number; gid: number; size: number } | null>;
  symlink(target: string, path: string): Promise<void>;
  copy(from: string, to: string, options?: { preserve?: boolean }): Promise<void>;
  appendFile(path: string, data: string | Uint8Array): Promise<void>;
}

type Fs = FsCapability & Partial<ByteFs>;

const TYPES: Record<string, PathInfo['type']> = {
  'regular file': 'file',
  'regular empty file': 'file',
  directory: 'directory',
  'symbolic link': 'symlink',
};

async function run(ctx: PluginContext<unknown>, cmd: string, args: string[], readOnly = false): Promise<string> {
  const r = await ctx.exec.run(cmd, args, { timeoutMs: 600_000, readOnly, maxOutputBytes: 4 * 1024 * 1024 });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The file operations over one plugin context. */
export class HostFiles {
  private readonly fs: Fs;
  constructor(private readonly ctx: PluginContext<unknown>) {
    this.fs = ctx.localFs;
  }

  /** lstat: the entry itself, a symlink is not followed. */
  async lstat(path: string): Promise<PathInfo | null> {
    if (this.fs.lstat) {
      const s = await this.fs.lstat(path);
      if (!s) return null;
      const type = (
        ['file', 'directory', 'symlink'].includes(s.type) ? s.type : s.type === 'dir' ? 'directory' : 'other'
      ) as PathInfo['type'];
      return { type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size };
    }
    const r = await this.ctx.exec.run('stat', ['-c', '%F|%a|%u|%g|%s', '--', path], {
      readOnly: true,
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0) {
      if (/No such file|Not a directory/.test(r.stderr)) return null;
      throw new Error(`stat ${path} failed: ${r.stderr.trim()}`);
    }
    const [type, mode, uid, gid, size] = r.stdout.trim().split('|');
    return {
      type: TYPES[type!] ?? 'other',
      mode: parseInt(mode!, 8),
      uid: Number(uid),
      gid: Number(gid),
      size: Number(size),
    };
  }

  readlink(path: string): Promise<string> {
    return this.ctx.localFs.readlink(path);
  }

  /** sha256 of a file's bytes, hex. */
  async sha256(path: string): Promise<string> {
    if (this.fs.readBytes)
      return createHash('sha256')
        .update(await this.fs.readBytes(path, { maxBytes: 1 << 30 }))
        .digest('hex');
    return (await run(this.ctx, 'sha256sum', ['--', path], true)).slice(0, 64);
  }

  /** Copies bytes, mode, owner and times (a symlink is copied as a symlink); `to` must not exist. Durable once it resolves. */
  async copyExact(from: string, to: string): Promise<void> {
    if (this.fs.copy) return this.fs.copy(from, to, { preserve: true });
    await run(this.ctx, 'cp', ['-a', '--no-target-directory', '--', from, to]);
    await run(this.ctx, 'sync', ['--', to]);
  }

  /** Copies only the bytes (a new file of mode 0600 owned by this process); durable once it resolves. */
  async copyBytes(from: string, to: string): Promise<void> {
    if (this.fs.copy) {
      await this.fs.copy(from, to);
      return this.ctx.localFs.chmod(to, 0o600);
    }
    await run(this.ctx, 'cp', ['--no-preserve=all', '--no-target-directory', '--', from, to]);
    await run(this.ctx, 'sync', ['--', to]);
  }

  async symlink(target: string, path: string): Promise<void> {
    if (this.fs.symlink) return this.fs.symlink(target, path);
    await run(this.ctx, 'ln', ['-s', '--no-target-directory', '--', target, path]);
  }

  /** chown of the entry itself (a symlink's own owner). */
  async lchown(path: string, uid?: number, gid?: number): Promise<void> {
    if (uid === undefined && gid === undefined) return;
    await run(this.ctx, 'chown', ['-h', `${uid ?? ''}:${gid ?? ''}`, '--', path]);
  }

  /** Removes a file, a symlink or an empty directory. */
  remove(path: string): Promise<void> {
    return this.ctx.localFs.remove(path);
  }

  rename(from: string, to: string): Promise<void> {
    return this.ctx.localFs.rename(from, to);
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.ctx.localFs.chmod(path, mode);
  }

  /** mkdir -p. */
  mkdir(path: string, mode = 0o755): Promise<void> {
    return this.ctx.localFs.mkdir(path, { mode });
  }

  /** Writes text to a new file `to` durably (mode 0600 until the caller sets the final one). */
  async writeNew(to: string, text: string): Promise<void> {
    await this.ctx.localFs.writeFile(to, text, { mode: 0o600 });
  }

  /** Appends text and fsyncs before resolving (write-ahead journal records). */
  async appendDurable(path: string, text: string): Promise<void> {
    if (this.fs.appendFile) return this.fs.appendFile(path, text);
    // writeFile with append fsyncs the file before it resolves.
    await this.ctx.localFs.writeFile(path, text, { append: true, mode: 0o600 });
  }
}

/** Resolves a user or group name (or a number) to its id through <root>/etc/passwd or group. */
export async function accountId(ctx: PluginContext<unknown>, file: string, name: string): Promise<number | null> {
  if (/^\d+$/.test(name)) return Number(name);
  const text = (await ctx.localFs.stat(file)) ? await ctx.localFs.readFile(file) : '';
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}
