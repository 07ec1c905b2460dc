/**
 * The file operations a hotfix needs beyond text files: lstat, hashing, byte-exact copies with
 * mode and owner, hard links, symlinks, lchown, durable writes and batched fsyncs. All go through
 * ctx (audited, dry-run aware): the fs capability, and `chown -h` through ctx.exec (no shell) for
 * a symlink's own owner. Paths here are real paths (already placed under --root).
 */
import type { FsBatchOp, FsBatchResult, FsCapability, PluginContext } from 'cx-ops/sdk';

/** What lstat says about a path (null: nothing there). */
export interface PathInfo {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Hard links to the file. */
  nlink: number;
  /** A symlink's target. */
  target?: string;
}

/** Whether no process has this id (EPERM: one exists, owned by another user). */
function pidGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function run(ctx: PluginContext<unknown>, cmd: string, args: string[]): Promise<string> {
  const r = await ctx.exec.run(cmd, args, { timeoutMs: 600_000, maxOutputBytes: 4 * 1024 * 1024 });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * The file operations over one plugin context. `sync: false` leaves a change's fsync to a later
 * `fsync([...])` of every file and directory changed (one batch of steps shares it).
 */
export class HostFiles {
  private readonly fs: FsCapability;
  constructor(private readonly ctx: PluginContext<unknown>) {
    this.fs = ctx.localFs;
  }

  /** lstat: the entry itself, a symlink is not followed. */
  async lstat(path: string): Promise<PathInfo | null> {
    const s = await this.fs.lstat(path);
    if (!s) return null;
    const type = s.type === 'dir' ? 'directory' : s.type;
    return {
      type,
      mode: s.mode & 0o7777,
      uid: s.uid,
      gid: s.gid,
      size: s.size,
      nlink: s.nlink,
      ...(s.target !== undefined ? { target: s.target } : {}),
    };
  }

  /**
   * Removes what a killed write of `path` left beside it: the fs capability's temp files
   * `.NAME.cx-PID-HEX.tmp` of processes that are gone (the caller holds the hotfix lock, so the
   * run that wrote them is over). Each directory is listed once per HostFiles: a rollback of a
   * thousand files in one directory reads it once; what this process writes later is its own.
   */
  async sweepWriteTemps(path: string): Promise<void> {
    const at = path.lastIndexOf('/');
    const dir = path.slice(0, at) || '/';
    let dead = this.deadTemps.get(dir);
    if (!dead) {
      dead = this.listDeadTemps(dir);
      this.deadTemps.set(dir, dead);
    }
    const temps = (await dead).get(path.slice(at + 1));
    for (const t of temps ?? []) await this.fs.remove(`${dir === '/' ? '' : dir}/${t}`);
    (await dead).delete(path.slice(at + 1));
  }

  /** A directory's temp files of dead writers, by the name of the file each stood for. */
  private async listDeadTemps(dir: string): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!(await this.fs.lstat(dir))) return out;
    for (const e of await this.fs.readDir(dir)) {
      const m = /^\.(.+)\.cx-(\d+)-[0-9a-f]{8}\.tmp$/.exec(e.name);
      if (m && pidGone(Number(m[2]))) out.set(m[1]!, [...(out.get(m[1]!) ?? []), e.name]);
    }
    return out;
  }

  private readonly deadTemps = new Map<string, Promise<Map<string, string[]>>>();

  readlink(path: string): Promise<string> {
    return this.fs.readlink(path);
  }

  /** sha256 of a file's bytes, hex (streamed: any size). */
  sha256(path: string): Promise<string> {
    return this.fs.hash(path);
  }

  /** Copies bytes, mode, owner and times (a symlink is copied as a symlink). */
  copyExact(from: string, to: string, sync = true): Promise<void> {
    return this.fs.copy(from, to, { preserve: true, sync });
  }

  /** Copies only the bytes (a new file of mode 0600 owned by this process). */
  copyBytes(from: string, to: string, sync = true): Promise<void> {
    return this.copyAs(from, to, { mode: 0o600 }, sync);
  }

  /** Copies the bytes to a new file with this mode and owner (set before it appears as `to`). */
  copyAs(from: string, to: string, as: { mode: number; uid?: number; gid?: number }, sync = true): Promise<void> {
    return this.fs.copy(from, to, { preserve: false, sync, ...as });
  }

  /** A hard link `to` of the file `from`. */
  link(from: string, to: string, sync = true): Promise<void> {
    return this.fs.link(from, to, { sync });
  }

  /** Many lstat / hash / copy / link / rename operations in one call (stops at the first failure). */
  batch(ops: FsBatchOp[], sync: boolean): Promise<FsBatchResult> {
    return this.fs.batch(ops, { sync });
  }

  /** fsyncs files and directories (concurrently). */
  fsync(paths: Iterable<string>): Promise<void> {
    const list = [...new Set(paths)];
    return list.length ? this.fs.fsync(list) : Promise.resolve();
  }

  async symlink(target: string, path: string): Promise<void> {
    return this.fs.symlink(target, path);
  }

  /**
   * chown of the entry itself: a regular file through the fs capability, a symlink's own owner
   * with `chown -h` (the capability follows links). Nothing when `now` already has that owner.
   */
  async lchown(path: string, uid?: number, gid?: number, now?: PathInfo | null): Promise<void> {
    if (uid === undefined && gid === undefined) return;
    const info = now ?? (await this.lstat(path));
    if (info && (uid ?? info.uid) === info.uid && (gid ?? info.gid) === info.gid) return;
    if (info?.type === 'file') return this.fs.chown(path, uid ?? info.uid, gid ?? info.gid);
    await run(this.ctx, 'chown', ['-h', `${uid ?? ''}:${gid ?? ''}`, '--', path]);
  }

  /** Removes a file, a symlink or an empty directory. */
  remove(path: string): Promise<void> {
    return this.fs.remove(path);
  }

  rename(from: string, to: string, sync = true): Promise<void> {
    return this.fs.rename(from, to, { sync });
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.fs.chmod(path, mode);
  }

  /** mkdir -p. */
  mkdir(path: string, mode = 0o755): Promise<void> {
    return this.fs.mkdir(path, { mode });
  }

  /** Appends text and fsyncs before resolving (write-ahead journal records). */
  appendDurable(path: string, text: string): Promise<void> {
    return this.fs.appendFile(path, text, { mode: 0o600 });
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
