/**
 * The file operations a hotfix needs beyond text files: lstat, hashing, byte-exact copies with
 * mode and owner, symlinks, lchown, durable writes. All go through ctx (audited, dry-run
 * aware): the fs capability, and coreutils through ctx.exec (no
 * shell). Paths here are disk paths (ctx.fs.diskPath of host paths), addressed through ctx.localFs.
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

async function run(ctx: PluginContext<any>, cmd: string, args: string[], readOnly = false): Promise<string> {
  const r = await ctx.exec.run(cmd, args, { timeoutMs: 600_000, readOnly, maxOutputBytes: 4 * 1024 * 1024 });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The file operations over one plugin context. */
export class HostFiles {
  private readonly fs: FsCapability;
  constructor(private readonly ctx: PluginContext<any>) {
    // Paths here are disk paths (ctx.fs.diskPath of the host paths a module names), so the
    // as-given view: the journal records them, and cx-ops-rollback reads them without a root.
    this.fs = ctx.localFs;
  }

  /** lstat: the entry itself, a symlink is not followed. */
  async lstat(path: string): Promise<PathInfo | null> {
    const s = await this.fs.lstat(path);
    if (!s) return null;
    const type = s.type === 'dir' ? 'directory' : s.type;
    return { type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size };
  }

  readlink(path: string): Promise<string> {
    return this.ctx.localFs.readlink(path);
  }

  /** sha256 of a file's bytes, hex. */
  async sha256(path: string): Promise<string> {
    // readBytes is capped at 8 MiB; a larger file is hashed by sha256sum.
    const st = await this.fs.lstat(path);
    if (st && st.size <= 8 * 1024 * 1024) return createHash('sha256').update(await this.fs.readBytes(path)).digest('hex');
    return (await run(this.ctx, 'sha256sum', ['--', path], true)).slice(0, 64);
  }

  /** Copies bytes, mode, owner and times (a symlink is copied as a symlink); `to` must not exist. Durable once it resolves. */
  async copyExact(from: string, to: string): Promise<void> {
    await this.fs.copy(from, to, { preserve: true });
  }

  /** Copies only the bytes (a new file of mode 0600 owned by this process); durable once it resolves. */
  async copyBytes(from: string, to: string): Promise<void> {
    await this.fs.copy(from, to, { preserve: false });
    await this.fs.chmod(to, 0o600);
  }

  symlink(target: string, path: string): Promise<void> {
    return this.fs.symlink(target, path);
  }

  /** chown of the entry itself (a symlink's own owner). */
  async lchown(path: string, uid?: number, gid?: number): Promise<void> {
    if (uid === undefined && gid === undefined) return;
    const st = await this.fs.lstat(path);
    if (st && st.type !== 'symlink') return this.fs.chown(path, uid ?? st.uid, gid ?? st.gid);
    if (st && st.uid === (uid ?? st.uid) && st.gid === (gid ?? st.gid)) return;
    // The capability's chown follows a final symlink; a link's own owner needs chown -h.
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
  appendDurable(path: string, text: string): Promise<void> {
    return this.fs.appendFile(path, text, { mode: 0o600 });
  }
}

/** Resolves a user or group name (or a number) to its id through <root>/etc/passwd or group. */
export async function accountId(ctx: PluginContext<any>, file: string, name: string): Promise<number | null> {
  if (/^\d+$/.test(name)) return Number(name);
  const text = (await ctx.localFs.stat(file)) ? await ctx.localFs.readFile(file) : '';
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}
