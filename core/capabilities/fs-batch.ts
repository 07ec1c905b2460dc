/**
 * fs.batch: many lstat / hash / copy / link / rename operations in ONE guarded call. A hotfix of
 * a thousand files paid, per file and per step, a limiter slot, an audit record and a dozen trips
 * through libuv's thread pool (open, fstat, read, write, fchmod, close, rename, each ~20-50 µs of
 * dispatch where the system call itself takes a few); a batch pays them once.
 *
 * The guards are the single calls': every path is resolved (its parent's real path, the last
 * component kept) and checked against the grants BEFORE any operation runs — one path not granted
 * denies the whole call, nothing done. Each operation then goes through a descriptor of its
 * parent directory opened with O_NOFOLLOW and verified at every use (`/proc/self/fd/N` must still
 * be the checked path); files are opened with O_NOFOLLOW through it and their descriptor's real
 * path checked to be the checked entry, so a symlink swapped in at any moment is refused (a
 * denial, audited). A copy is written to a temp file created O_EXCL beside its target and renamed
 * over it; with `sync` (the default) it is fsynced before the rename — the fsyncs run in the
 * thread pool while the next files are copied, the renames follow in order — and every directory
 * changed is fsynced once at the end. Operations run in order and stop at the first that fails,
 * so what was done is a prefix of the list: the caller knows exactly what to undo.
 *
 * The system calls are synchronous (no thread-pool trip each), in slices of at most SLICE_MS
 * between which the event loop runs; meant for local files, not a network file system.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  linkSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { posix } from 'node:path';
import type { FsBatchOp, FsBatchOpResult, FsBatchOptions, FsBatchResult, FsCapability } from '../../sdk/types.js';
import { CxError, isCxError, messageOf } from '../errors.js';
import {
  anchored,
  fdReal,
  fsyncRaw,
  MovedError,
  normalizeAbsolute,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
} from './fs-open.js';
import { linkStatOf } from './fs-read.js';
import type { CallInfo } from './guard.js';
import {
  allowedMode,
  ioError,
  need,
  target,
  toDisk,
  toView,
  type FsScope,
  type Kind,
  type Target,
} from './fs-scope.js';

/** At most this many operations in one call. */
export const MAX_BATCH_OPS = 10_000;
/** The event loop runs at least this often (ms) during a batch. */
const SLICE_MS = 8;
/** Copies whose fsync is under way at once (the thread pool works on them while the next are copied). */
const MAX_SYNCING = 16;

/**
 * One buffer for every batch: its reads and writes are synchronous, so no two use it at once.
 * Made on the first copy or hash (not at import: the daemon loads this module and never copies).
 */
let shared: Buffer | undefined;
const copyBuffer = () => (shared ??= Buffer.allocUnsafeSlow(1024 * 1024));

/** A checked entry: the path as asked, its parent's real path and its last component. */
interface Entry {
  t: Target;
  dir: string;
  name: string;
  /** dir + name: what the grant was checked on and a descriptor must be. */
  real: string;
}

interface Planned {
  op: FsBatchOp;
  a: Entry;
  b?: Entry;
}

const KINDS: Record<FsBatchOp['op'], [Kind] | [Kind, Kind]> = {
  lstat: ['read'],
  hash: ['read'],
  copy: ['read', 'write'],
  link: ['read', 'write'],
  rename: ['write', 'write'],
};

const join = (dir: string, name: string) => `${dir === '/' ? '' : dir}/${name}`;

function badList(detail: string): CxError {
  return new CxError('CX_ERR_IO', { path: '(batch)', detail });
}

/** The ops argument checked: an array of 1 to MAX_BATCH_OPS known operations with their paths. */
function checkOps(ops: unknown): FsBatchOp[] {
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > MAX_BATCH_OPS)
    throw badList(
      `takes an array of 1 to ${MAX_BATCH_OPS} operations (got ${Array.isArray(ops) ? ops.length : typeof ops}); split it into several calls`,
    );
  return ops.map((o: unknown, i) => {
    const op = (o as { op?: unknown } | null)?.op;
    if (typeof op !== 'string' || !Object.hasOwn(KINDS, op))
      throw badList(`operation ${i} has op ${JSON.stringify(op)}; known: ${Object.keys(KINDS).join(', ')}`);
    return o as FsBatchOp;
  });
}

/** Resolves and checks every path of every operation (grants), parents resolved once per directory. */
function plan(s: FsScope, ops: FsBatchOp[]): Planned[] {
  const parents = new Map<string, string | null>();
  const entry = (kind: Kind, p: unknown): Entry => {
    const t = target(s, kind, p);
    if (t.path === '/') need(s, kind, t.disk, t.asked);
    const lexical = posix.dirname(t.disk);
    let dir = parents.get(lexical);
    if (dir === undefined) {
      try {
        dir = realpathSync.native(lexical);
      } catch {
        dir = null; // missing: the operation fails on it when it runs
      }
      parents.set(lexical, dir);
    }
    const real = dir === null ? t.disk : join(dir, posix.basename(t.disk));
    need(s, kind, real, t.asked);
    return { t, dir: dir ?? lexical, name: posix.basename(t.disk), real };
  };
  return ops.map((op) => {
    const kinds = KINDS[op.op];
    if ('path' in op) return { op, a: entry(kinds[0], op.path) };
    return { op, a: entry(kinds[0], op.from), b: entry(kinds[1]!, op.to) };
  });
}

/** What the audit record says: the counts per operation and the sha256 of the list as resolved. */
function summary(planned: Planned[], sync: boolean) {
  const counts: Record<string, number> = {};
  const h = createHash('sha256');
  for (const p of planned) {
    counts[p.op.op] = (counts[p.op.op] ?? 0) + 1;
    h.update(`${p.op.op}\0${p.a.real}\0${p.b?.real ?? ''}\n`);
  }
  return { ops: planned.length, counts, sha256: h.digest('hex'), sync };
}

/** Directory descriptors of one batch, opened once each and verified again at every use. */
class Dirs {
  private readonly fds = new Map<string, number>();
  /** Directories the batch changed (fsynced at the end with `sync`). */
  readonly changed = new Set<string>();

  /** A verified descriptor of the directory at `real` (MovedError when it is not there any more). */
  at(real: string): number {
    let fd = this.fds.get(real);
    if (fd === undefined) {
      fd = openSync(real, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_NOFOLLOW);
      this.fds.set(real, fd);
    }
    const at = fdReal(fd);
    if (at !== real) throw new MovedError(real, at);
    return fd;
  }

  /** `/proc/self/fd/N/name` of an entry, its directory verified. */
  path(e: Entry): string {
    return anchored(this.at(e.dir), e.name);
  }

  /** fsyncs each changed directory once, through the descriptor the batch changed it by (moved or not). */
  async syncChanged(): Promise<void> {
    const fds = [...this.changed].map((d) => this.fds.get(d)).filter((fd) => fd !== undefined);
    // A file system that cannot sync directories is not an error (as for the single calls).
    await Promise.all(fds.map((fd) => fsyncRaw(fd).catch(() => undefined)));
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** Opens an entry's file with O_NOFOLLOW through its verified directory; the descriptor must be the entry. */
function openEntry(dirs: Dirs, e: Entry, flags: number, mode?: number): number {
  const fd = openSync(dirs.path(e), flags | O_NOFOLLOW | O_NONBLOCK, mode);
  try {
    const at = fdReal(fd);
    if (at !== e.real) throw new MovedError(e.real, at);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** A regular file's descriptor stat, or CX_ERR_IO. */
function regular(fd: number, e: Entry): Stats {
  const st = fstatSync(fd);
  if (!st.isFile())
    throw new CxError('CX_ERR_IO', {
      path: e.real,
      detail: `is not a regular file (${st.isDirectory() ? 'a directory' : 'a FIFO, device or socket'}); batch hashes, copies and links regular files only`,
    });
  return st;
}

/** Reads `fd` to its end, hashing and/or writing each piece to `out`. */
function pump(fd: number, h: ReturnType<typeof createHash> | null, out?: number): void {
  const buffer = copyBuffer();
  for (;;) {
    const n = readSync(fd, buffer, 0, buffer.length, null);
    if (n === 0) return;
    h?.update(buffer.subarray(0, n));
    if (out !== undefined) for (let off = 0; off < n;) off += writeSync(out, buffer, off, n - off);
  }
}

function hashOf(dirs: Dirs, e: Entry): FsBatchOpResult {
  const fd = openEntry(dirs, e, O_RDONLY);
  try {
    const st = regular(fd, e);
    const h = createHash('sha256');
    pump(fd, h);
    return { stat: linkStatOf(e.t.path, st), sha256: h.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** A copy written to its temp file, waiting for its fsync and rename. */
interface Syncing {
  index: number;
  fd: number;
  dir: string;
  tmp: string;
  name: string;
  synced: Promise<void>;
  result: FsBatchOpResult;
}

/** Runs the planned operations (the audit record is written; see the file comment). */
class Run {
  readonly results: FsBatchOpResult[] = [];
  private readonly dirs = new Dirs();
  private readonly syncing: Syncing[] = [];
  /** fs-disk's temp names (`.NAME.cx-PID-HEX.tmp`): a dead writer's are swept the same way. */
  private readonly tempOf = (name: string) => `.${name}.cx-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;

  constructor(
    private readonly s: FsScope,
    private readonly sync: boolean,
  ) {}

  /** Every planned operation in order; stops at the first failure (index and error). */
  async all(planned: Planned[]): Promise<{ index: number; error: unknown } | null> {
    let slice = performance.now();
    try {
      for (const [i, p] of planned.entries()) {
        // Operations after pending copies see them in place (and in order).
        if (p.op.op !== 'copy') await this.settle(0);
        else if (this.syncing.length >= MAX_SYNCING) await this.settle(MAX_SYNCING - 1);
        try {
          const r = this.one(i, p);
          if (r) this.results[i] = r;
        } catch (error) {
          await this.settle(0);
          return { index: i, error };
        }
        if (performance.now() - slice > SLICE_MS) {
          await new Promise((r) => setImmediate(r));
          slice = performance.now();
        }
      }
      await this.settle(0);
      if (this.sync) await this.dirs.syncChanged();
      return null;
    } catch (e) {
      // settle(): a pending copy failed (its fsync or rename); the ones after it were not renamed.
      if (e && typeof e === 'object' && 'index' in e) return e as { index: number; error: unknown };
      throw e;
    } finally {
      this.dropSyncing();
      this.dirs.close();
    }
  }

  /** Completes pending copies (fsynced, then renamed in order) until at most `keep` remain. */
  private async settle(keep: number): Promise<void> {
    while (this.syncing.length > keep) {
      const c = this.syncing[0]!;
      try {
        await c.synced;
        closeSync(c.fd);
        c.fd = -1;
        renameSync(anchored(this.dirs.at(c.dir), c.tmp), anchored(this.dirs.at(c.dir), c.name));
      } catch (error) {
        throw { index: c.index, error };
      }
      this.syncing.shift();
      this.results[c.index] = c.result;
    }
  }

  /** Pending copies not renamed (a failure before them): their temp files go. */
  private dropSyncing(): void {
    for (const c of this.syncing.splice(0)) {
      if (c.fd >= 0) closeSync(c.fd);
      try {
        unlinkSync(anchored(this.dirs.at(c.dir), c.tmp));
      } catch {
        // already gone, or its directory moved: nothing of ours to remove there
      }
      this.results.length = Math.min(this.results.length, c.index);
    }
  }

  /** One operation; a copy with `sync` returns nothing yet (its result comes when it is renamed). */
  private one(index: number, p: Planned): FsBatchOpResult | undefined {
    const { op, a, b } = p;
    const dirs = this.dirs;
    if (this.s.guard.dryRun && op.op !== 'lstat' && op.op !== 'hash') {
      this.s.guard.record(`batch ${op.op}: ${a.t.disk} -> ${b!.t.disk}`);
      return {};
    }
    switch (op.op) {
      case 'lstat': {
        let path: string;
        try {
          path = dirs.path(a);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ENOTDIR') return { stat: null }; // no parent: nothing there
          throw e;
        }
        const st = lstatSync(path, { throwIfNoEntry: false });
        if (!st) return { stat: null };
        return { stat: linkStatOf(a.t.path, st, st.isSymbolicLink() ? readlinkSync(path) : undefined) };
      }
      case 'hash':
        return hashOf(dirs, a);
      case 'link': {
        this.charge(0, 1, `link ${b!.t.disk}`);
        linkSync(dirs.path(a), dirs.path(b!));
        dirs.changed.add(b!.dir);
        return op.hash ? hashOf(dirs, b!) : {};
      }
      case 'rename':
        renameSync(dirs.path(a), dirs.path(b!));
        dirs.changed.add(a.dir).add(b!.dir);
        return {};
      case 'copy':
        return this.copy(index, op, a, b!);
    }
  }

  private copy(index: number, op: Extract<FsBatchOp, { op: 'copy' }>, a: Entry, b: Entry): FsBatchOpResult | undefined {
    const s = this.s;
    const src = openEntry(this.dirs, a, O_RDONLY);
    let out = -1;
    let tmp = '';
    try {
      const st = regular(src, a);
      const before = s.quota ? lstatSync(this.dirs.path(b), { throwIfNoEntry: false }) : undefined;
      this.charge(st.size - (before?.isFile() ? before.size : 0), before ? 0 : 1, `copy to ${b.t.disk}`);
      const preserve = op.preserve !== false;
      const mode = op.mode === undefined ? st.mode & 0o7777 & (s.guard.checked ? s.modeMask : 0o7777) : op.mode;
      tmp = this.tempOf(b.name);
      out = openEntry(this.dirs, { ...b, name: tmp, real: join(b.dir, tmp) }, O_WRONLY | O_CREAT | O_EXCL, 0o600);
      const h = op.hash ? createHash('sha256') : null;
      pump(src, h, out);
      fchmodSync(out, allowedMode(s, mode)!);
      const uid = op.uid ?? (preserve && !s.guard.checked ? st.uid : undefined);
      const gid = op.gid ?? (preserve && !s.guard.checked ? st.gid : undefined);
      if (uid !== undefined || gid !== undefined) {
        const u = uid ?? st.uid;
        const g = gid ?? st.gid;
        if (u !== process.getuid?.() || g !== process.getgid?.()) {
          try {
            fchownSync(out, u, g);
          } catch (e) {
            // Only root gives files away; an unprivileged run keeps its own owner.
            if ((e as NodeJS.ErrnoException).code !== 'EPERM' || process.getuid?.() === 0) throw e;
          }
        }
      }
      if (preserve) futimesSync(out, st.atimeMs / 1000, st.mtimeMs / 1000);
      const result: FsBatchOpResult = h ? { sha256: h.digest('hex') } : {};
      this.dirs.changed.add(b.dir);
      if (!this.sync) {
        renameSync(anchored(this.dirs.at(b.dir), tmp), this.dirs.path(b));
        closeSync(out);
        return result;
      }
      const fd = out;
      const synced = fsyncRaw(fd);
      synced.catch(() => undefined); // awaited in order by settle()
      this.syncing.push({ index, fd, dir: b.dir, tmp, name: b.name, synced, result });
      out = -1;
      return undefined;
    } catch (e) {
      if (out >= 0) {
        closeSync(out);
        try {
          unlinkSync(anchored(this.dirs.at(b.dir), tmp));
        } catch {
          // its directory moved: the temp file went with it
        }
      }
      throw e;
    } finally {
      closeSync(src);
    }
  }

  /** Reserves a change's growth in the plugin's write quota (sandboxed tier). */
  private charge(bytes: number, files: number, action: string): void {
    this.s.quota?.take(bytes, files, action);
  }
}

/** An operation's error as the result names it: a catalogue code and a message with the path(s). */
async function described(
  s: FsScope,
  p: Planned,
  e: unknown,
  shown: string,
): Promise<{ code: string; message: string }> {
  if (e instanceof MovedError) {
    // A symlink or directory swapped in while the batch ran: a denial, audited as one.
    const denied = await s.guard
      .call({ capability: 'fs', op: 'batch', target: shown }, async () =>
        s.guard.deny({ capability: 'write', target: toView(s, e.expected), reason: e.message, grantable: false }),
      )
      .catch((err: unknown) => err);
    return { code: 'CX_ERR_PERMISSION_DENIED', message: messageOf(denied) };
  }
  const err = ioError(e, `batch ${p.op.op}`, p.b ? `${p.a.real} -> ${p.b.real}` : p.a.real);
  return { code: isCxError(err) ? err.code : 'CX_ERR_IO', message: messageOf(err) };
}

/** The operations one at a time through the view's own calls (a test that fakes fs without `batch`). */
async function viaCalls(fs: FsCapability, ops: FsBatchOp[], sync: boolean): Promise<FsBatchResult> {
  const results: FsBatchOpResult[] = [];
  for (const [index, op] of ops.entries()) {
    try {
      if (op.op === 'lstat') results.push({ stat: await fs.lstat(op.path) });
      else if (op.op === 'hash') results.push({ sha256: await fs.hash(op.path) });
      else if (op.op === 'rename') results.push((await fs.rename(op.from, op.to, { sync }), {}));
      else if (op.op === 'link') {
        await fs.link(op.from, op.to, { sync });
        results.push(op.hash ? { sha256: await fs.hash(op.to) } : {});
      } else {
        const { from, to, hash, ...o } = op;
        await fs.copy(from, to, { ...o, sync });
        results.push(hash ? { sha256: await fs.hash(to) } : {});
      }
    } catch (e) {
      const err = isCxError(e) ? e : null;
      return { done: index, results, error: { index, code: err?.code ?? 'CX_ERR_IO', message: messageOf(e) } };
    }
  }
  return { done: ops.length, results };
}

/** ctx.fs.batch / ctx.localFs.batch (`fs`: the view's own calls, for tests that fake fs without batch). */
export function batch(
  s: FsScope,
  fs: FsCapability,
  ops: readonly FsBatchOp[],
  options: FsBatchOptions = {},
): Promise<FsBatchResult> {
  const list = Array.isArray(ops) ? ops : [];
  const first = list[0] as { path?: unknown; from?: unknown } | undefined;
  const firstPath = normalizeAbsolute(first?.path ?? first?.from);
  const shown = `${list.length} operations${firstPath ? `, the first on ${toDisk(s, firstPath)}` : ''}`;
  const sync = options?.sync !== false;
  // The one audit record of the batch: its args are filled in once every path is checked.
  const info: CallInfo = { capability: 'fs', op: 'batch', target: shown, args: { ops: list.length } };
  return s.guard.call(info, async (allow) => {
    const checked = checkOps(ops);
    const planned = plan(s, checked);
    info.args = summary(planned, sync);
    allow();
    if (s.fake?.batch) return s.fake.batch(checked, options);
    if (s.fake) return viaCalls(fs, checked, sync);
    if (!s.guard.dryRun) await s.guard.audited();
    const run = new Run(s, sync && !s.guard.dryRun);
    const failed = await run.all(planned);
    if (!failed) return { done: planned.length, results: run.results };
    return {
      done: failed.index,
      results: run.results.slice(0, failed.index),
      error: { index: failed.index, ...(await described(s, planned[failed.index]!, failed.error, shown)) },
    };
  });
}
