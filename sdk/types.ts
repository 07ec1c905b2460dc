/**
 * Public types of the cx-ops SDK: the only surface plugin authors see.
 * Everything here is plain data or async functions, so the same plugin code
 * runs trusted (in-process) or sandboxed (isolated-vm) unchanged.
 */
import type { ErrorSpecs } from './errors.js';
import type { HookToken, KindToken } from './tokens.js';

/** The statuses a check can report. */
export type CheckStatus = 'PASS' | 'WARN' | 'FAIL' | 'SKIP' | 'ERROR';
export const CHECK_STATUSES: readonly CheckStatus[] = ['PASS', 'WARN', 'FAIL', 'SKIP', 'ERROR'];

/** How bad a failing check is. */
export type CheckSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const CHECK_SEVERITIES: readonly CheckSeverity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** The categories of the built-in checks (lower-case on the command line). */
export type CheckCategory =
  'disk' | 'memory' | 'performance' | 'packages' | 'services' | 'network' | 'system' | 'security';
export const CHECK_CATEGORIES: readonly CheckCategory[] = [
  'disk',
  'memory',
  'performance',
  'packages',
  'services',
  'network',
  'system',
  'security',
];

/** One check's result, as doctor reports it. */
export interface CheckResult {
  check_id: string;
  name: string;
  status: CheckStatus;
  message: string;
  details: Record<string, unknown>;
  fix_id: string | null;
  duration_ms: number;
}

/** What a check's `run` returns; the runner fills in check_id, name, fix_id and duration_ms. */
export interface CheckOutcome {
  status: CheckStatus;
  message: string;
  details?: Record<string, unknown>;
  /** Overrides the check's declared fix_id (null: nothing to fix for this outcome). */
  fix_id?: string | null;
}

/** Whether a backend can work on this host; when not, `reason` says why (the caller SKIPs). */
export interface Availability {
  available: boolean;
  reason?: string;
}

/** Plain JSON data: the only thing that crosses a sandbox boundary. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// ---------------------------------------------------------------------------
// Capabilities: the only way a plugin reaches the system.
// ---------------------------------------------------------------------------

export interface ExecOptions {
  /** Working directory (must be inside a read grant when sandboxed). */
  cwd?: string;
  /** Milliseconds before the whole process group is killed (default 30 000). */
  timeoutMs?: number;
  /** Text written to the process's stdin. */
  input?: string;
  /** Extra environment variables (the environment is otherwise fixed and scrubbed). */
  env?: Record<string, string>;
  /**
   * Declares that the command has no side effects, so a dry run may still perform it (to
   * diagnose). Honoured for trusted plugins only; a sandboxed plugin's call is recorded.
   */
  readOnly?: boolean;
  /**
   * Bytes of stdout to capture (default 1 MiB; stderr stays at 1 MiB). A trusted plugin may raise
   * it up to 256 MiB, e.g. to read a decompressed package list; for a sandboxed plugin it can only
   * lower the cap. Beyond the cap the output is cut and `truncated` is set.
   */
  maxOutputBytes?: number;
  /** When it aborts, the program's whole tree is killed (the kernel passes a sandboxed call's end here). */
  signal?: AbortSignal;
  /**
   * Measure what the program cost (`ExecResult.usage`): it runs under GNU time, which reports the
   * kernel's wait4() figures. Costs one more exec; the program sees its absolute path as argv[0].
   */
  usage?: boolean;
}

/** CPU time and peak memory of a program and the descendants it waited for (wait4's rusage). */
export interface ExecUsage {
  /** User + system CPU time, ms (10 ms resolution). */
  cpuMs: number;
  /** Peak resident set size of the largest process, KiB. */
  maxRssKb: number;
  elapsedMs: number;
}

export interface ExecResult {
  command: string;
  args: string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when output was cut at the capture cap. */
  truncated: boolean;
  /** True when the call was recorded but not performed (dry run). */
  dryRun: boolean;
  durationMs: number;
  /**
   * With `usage: true`: what the program cost; null when it could not be measured (GNU time is
   * not installed, the program was killed at its timeout, or the call was a dry run).
   */
  usage?: ExecUsage | null;
}

export interface ExecCapability {
  /** Run a program without a shell. Never throws for a non-zero exit; throws for a denied call. */
  run(command: string, args?: string[], options?: ExecOptions): Promise<ExecResult>;
}

export interface FileStat {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

export interface DirEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
}

export interface WriteOptions {
  /**
   * File mode (default 0o644 for a new file, the old mode for a replaced one). For a sandboxed
   * plugin only the permission bits count: setuid, setgid and sticky are never set.
   */
  mode?: number;
  /** Append instead of replacing (otherwise the write is atomic: temp file + rename + fsync). */
  append?: boolean;
}

/** What lstat reports about a directory entry itself (a symlink is not followed). */
export interface LinkStat {
  /** The host path asked for. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits plus setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** How many directory entries name this file (hard links). */
  nlink: number;
  mtimeMs: number;
  atimeMs: number;
  /** A symlink's target as stored in the link (not resolved). */
  target?: string;
}

/** One file of readSmallFiles: its text, or why it could not be read. */
export interface SmallFile {
  /** The path as it was asked for. */
  path: string;
  /** The file's text (UTF-8); null when it could not be read. */
  text: string | null;
  /** Why it could not be read (CX_ERR_IO's message: missing, not a regular file, over the cap). */
  error?: string;
}

/** statfs of one file system: sizes in bytes, and inodes. */
export interface StatfsResult {
  total: number;
  free: number;
  available: number;
  files: number;
  filesFree: number;
}

/** One path of statfsMany: its file system's sizes, or why they could not be had. */
export interface StatfsEntry {
  /** The path as it was asked for. */
  path: string;
  /** The sizes; null when they could not be had (`error` says why). */
  statfs: StatfsResult | null;
  /**
   * True: the path is the mount point of a local file system (the kernel's mount table says so)
   * and was answered at once, without the thread pool. False: a network, FUSE or unknown file
   * system, or a path that is not a mount point: answered through the thread pool, within 5 s.
   */
  local: boolean;
  /** Why there are no sizes (CX_ERR_IO's message: missing, no answer within 5 s, …). */
  error?: string;
}

/** Options of readBytes / readFile / readSmallFiles. */
export interface ReadOptions {
  /** Refuse files larger than this many bytes (CX_ERR_IO); at most the capability's cap (8 MiB). */
  maxBytes?: number;
}

/**
 * Durability of one change. By default a change is durable (fsynced, with its directory) before
 * the call resolves; `sync: false` leaves that to one later `fsync([...])` of every file and
 * directory changed, so many changes share the file system's journal commits.
 */
export interface SyncOptions {
  sync?: boolean;
}

/** Options of copy. */
export interface CopyOptions extends SyncOptions {
  /** Keep mode, owner and times of the source (default true). */
  preserve?: boolean;
  /** The copy's mode, set before it appears under its name (instead of the source's). */
  mode?: number;
  /** The copy's owner and group, set before it appears under its name (root only gives files away). */
  uid?: number;
  gid?: number;
}

/**
 * One operation of `fs.batch`. Paths are absolute paths of the view; a final symlink is never
 * followed (lstat reports it; hash, copy and link refuse it).
 * - `lstat`: the entry (null when nothing is there).
 * - `hash`: sha256 of a regular file.
 * - `copy`: a regular file copied atomically (a temp file beside `to`, renamed over it); keeps
 *   mode, times and (trusted tier) owner unless `preserve: false`; `mode`, `uid`, `gid` as in
 *   CopyOptions; `hash: true` also answers the sha256 of the bytes copied (one read pass).
 * - `link`: `to` (which must not exist) made a hard link of the file `from`; `hash: true` answers
 *   its sha256.
 * - `rename`: a directory entry renamed.
 */
export type FsBatchOp =
  | { op: 'lstat'; path: string }
  | { op: 'hash'; path: string }
  | {
      op: 'copy';
      from: string;
      to: string;
      preserve?: boolean;
      mode?: number;
      uid?: number;
      gid?: number;
      hash?: boolean;
    }
  | { op: 'link'; from: string; to: string; hash?: boolean }
  | { op: 'rename'; from: string; to: string };

/** What one operation of a batch found. */
export interface FsBatchOpResult {
  /** lstat: the entry (null: nothing there); hash, and link with `hash`: the file's own. */
  stat?: LinkStat | null;
  /** hash; copy and link with `hash: true`. */
  sha256?: string;
}

/**
 * The outcome of `fs.batch`: the operations run in order and stop at the first that fails, so
 * what was done is always the first `done` of them (each whole: a copy is in place or absent).
 */
export interface FsBatchResult {
  /** How many operations were carried out (all of them when there is no `error`). */
  done: number;
  /** One entry per operation carried out, in order. */
  results: FsBatchOpResult[];
  /** The operation that failed and why (a catalogue code); those after it were not run. */
  error?: { index: number; code: string; message: string };
}

/** Options of `fs.batch`. */
export interface FsBatchOptions {
  /**
   * Durable before it resolves (default true): each copied file is fsynced before it is renamed
   * into place, then every directory the batch changed is fsynced once. `false` leaves both to
   * the caller (a later `fsync` of the files and directories).
   */
  sync?: boolean;
}

/**
 * File access. Paths are absolute. `ctx.fs` names paths on the host being inspected: under
 * `--root R` the capability reads `R/proc/meminfo` when a plugin names `/proc/meminfo`.
 * `ctx.localFs` has the same methods and takes paths exactly as given: cx-ops' own directories
 * (ctx.env.stateDir, cacheDir, configDir, dataDir) and paths the user typed on the command line.
 */
export interface FsCapability {
  readFile(path: string, options?: ReadOptions): Promise<string>;
  /**
   * A few small kernel files (under /proc or /sys) read in one call, in order: one audit record
   * and no trip through the thread pool per file, for a check or detector that reads the same
   * handful every cycle. The same grants and guards as readFile (a path not granted denies the
   * whole call; where a path really leads must lie under /proc or /sys too); at most 16 paths,
   * each at most `maxBytes` (default 1 MiB, 8 MiB for the whole call). A file that is missing,
   * not a regular file or over the cap is an entry with `text: null` and its `error`.
   */
  readSmallFiles(paths: readonly string[], options?: ReadOptions): Promise<SmallFile[]>;
  /** The file's bytes (a regular file; at most `maxBytes`, and never more than 8 MiB). */
  readBytes(path: string, options?: ReadOptions): Promise<Uint8Array>;
  readDir(path: string): Promise<DirEntry[]>;
  /** stat (a final symlink is followed); null when nothing is there. */
  stat(path: string): Promise<FileStat | null>;
  /** lstat (a final symlink is reported as the link); null when nothing is there. */
  lstat(path: string): Promise<LinkStat | null>;
  /** statfs: sizes in bytes. */
  statfs(path: string): Promise<StatfsResult>;
  /**
   * statfs of several mount points in one call, in order: one audit record, and no trip through
   * the thread pool for a local file system's mount point (ext4, xfs, btrfs, tmpfs, overlay, …:
   * statfs answers from memory there). Network and FUSE file systems (nfs, cifs, fuse.*, ceph,
   * 9p, …), paths that are not mount points and unknown types go through the thread pool, each
   * bounded to 5 s (a hung NFS server is an entry error, never a stalled loop) and not asked
   * again while a previous statfs of it has not answered. The same grants as statfs (one path
   * not granted denies the whole call); at most 64 paths. See StatfsEntry.
   */
  statfsMany(paths: readonly string[]): Promise<StatfsEntry[]>;
  readlink(path: string): Promise<string>;
  writeFile(path: string, data: string, options?: WriteOptions): Promise<void>;
  /** Writes bytes atomically (temp file + fsync + rename + directory fsync). */
  writeBytes(path: string, data: Uint8Array, options?: { mode?: number }): Promise<void>;
  /** Appends text or bytes and fsyncs before it resolves (for write-ahead journals). */
  appendFile(path: string, data: string | Uint8Array, options?: { mode?: number }): Promise<void>;
  /** Creates a symlink at `path` pointing to `target` (stored as given; `path` must not exist). */
  symlink(target: string, path: string): Promise<void>;
  /** Copies a regular file or a symlink atomically; keeps mode, owner and times unless `preserve: false`. */
  copy(from: string, to: string, options?: CopyOptions): Promise<void>;
  mkdir(path: string, options?: { mode?: number }): Promise<void>;
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  rename(from: string, to: string, options?: SyncOptions): Promise<void>;
  /** Makes `path` (which must not exist) a hard link of the file `existing` (same file system). */
  link(existing: string, path: string, options?: SyncOptions): Promise<void>;
  /** fsyncs files and directories, concurrently (a symlink or missing path has nothing to sync). */
  fsync(paths: string[]): Promise<void>;
  /** Hex sha256 of a regular file's bytes (read in pieces: no size cap). */
  hash(path: string): Promise<string>;
  /**
   * Many lstat / hash / copy / link / rename operations in ONE guarded call (at most 10,000):
   * every path is checked against the grants before any operation runs (one not granted denies
   * the whole call, nothing done), one audit record for the batch (its operation counts and the
   * sha256 of the list), the single calls' guards on each file (O_NOFOLLOW, the descriptor's real
   * path checked, atomic temp + rename), fsyncs per `options.sync`. Stops at the first operation
   * that fails: see FsBatchResult. The system calls are synchronous, in slices between which the
   * event loop runs: meant for local files (a thousand of a hotfix), not a network file system.
   */
  batch(ops: readonly FsBatchOp[], options?: FsBatchOptions): Promise<FsBatchResult>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  /**
   * Where a path of this view lies on the machine cx-ops runs on (`R/etc/x` for `/etc/x` under
   * `--root R`; the path itself in ctx.localFs): for program arguments and messages. No I/O.
   */
  diskPath(path: string): string;
}

export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  truncated: boolean;
}

export interface NetCapability {
  /** Open and close a TCP connection; resolves with the connect time. */
  tcpConnect(
    host: string,
    port: number,
    options?: { timeoutMs?: number },
  ): Promise<{ ok: boolean; ms: number; error?: string }>;
  /** Resolve a name (A/AAAA) through the given or system resolver. */
  resolve(
    name: string,
    options?: { server?: string; timeoutMs?: number; type?: 'A' | 'AAAA' },
  ): Promise<{ ok: boolean; addresses: string[]; ms: number; error?: string }>;
  /** An HTTP(S) request; body capped. */
  http(request: HttpRequest): Promise<HttpResponse>;
  /**
   * Downloads bytes with GET (redirects are not followed). Refused beyond `maxBytes`
   * (CX_ERR_IO); with `sha256` the bytes must have that hex digest (CX_ERR_DOWNLOAD_CHECKSUM).
   */
  download(url: string, options: DownloadOptions): Promise<Download>;
}

export interface DownloadOptions {
  /** Largest body accepted, in bytes (at most 256 MiB; 8 MiB for a sandboxed plugin). */
  maxBytes: number;
  /** Expected hex sha256 of the body. */
  sha256?: string;
  timeoutMs?: number;
}

export interface Download {
  bytes: Uint8Array;
  /** Hex sha256 of `bytes`. */
  sha256: string;
  size: number;
}

/** A lock held by this run; release it when done (a dead holder's lock is taken over). */
export interface HeldLock {
  /** The lock's name. */
  name: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for a live holder before CX_ERR_STATE_LOCKED (default 0: fail at once). */
  waitMs?: number;
  /** What the holder is doing, shown to a run that finds the lock taken (default: the command line). */
  what?: string;
  /**
   * Take it in a dry run (--dev) too, where a lock is otherwise only recorded: for a lock that
   * guards state the plugin keeps even in a dry run (heal's cycle state and heal log, which a
   * --dev cycle writes to the history store), so a dry run still takes turns with a real one.
   */
  inDryRun?: boolean;
}

/** The plugin's own files (its directory), read by a path relative to it. */
export interface AssetsCapability {
  readText(relative: string): Promise<string>;
  readBytes(relative: string): Promise<Uint8Array>;
  /** The plugin's directory (absolute). */
  readonly dir: string;
}

export interface Logger {
  debug(message: string, data?: Json): void;
  info(message: string, data?: Json): void;
  warn(message: string, data?: Json): void;
  error(message: string, data?: Json): void;
}

/** Terminal input/output of a command contribution. */
export interface IoCapability {
  /** Writes text to standard output (a newline is not added). */
  out(text: string): void;
  /** Writes text to standard error. */
  err(text: string): void;
  /** Asks a yes/no question; resolves false when not interactive and `assumeYes` is off. */
  confirm(question: string): Promise<boolean>;
  /** Whether standard output is a terminal that takes colour. */
  readonly color: boolean;
  readonly interactive: boolean;
}

/** A contribution of another plugin as the registry lists it (plain data). */
export interface ContributionInfo {
  kind: string;
  id: string;
  plugin: string;
  tier: Tier;
  meta: Record<string, Json>;
}

/** Access to what other plugins contribute. Invoking needs the trusted tier. */
export interface RegistryCapability {
  list(kind: string | ContributionKindDefinition): Promise<ContributionInfo[]>;
  /** Invokes a contribution of a kind given by its token: input and answer are typed. */
  invoke<Input, Output>(
    kind: KindToken<Input, Output>,
    id: string,
    input: Input,
    options?: InvokeOptions,
  ): Promise<Output>;
  invoke(kind: string, id: string, input?: unknown, options?: InvokeOptions): Promise<Json>;
  /**
   * Fires a hook this plugin declared (its token), or a kernel hook that plugins fire (pre_check,
   * post_check, pre_fix, post_fix); resolves with the hook's outcome. Firing another plugin's
   * hook, or startup/shutdown/plugin_loaded, is refused (CX_ERR_HOOK_NOT_OWNER).
   */
  callHook<Payload>(hook: HookToken<Payload>, payload: Payload): Promise<HookOutcome<Payload>>;
  callHook<K extends keyof KernelHookPayloads>(
    hook: K,
    payload: KernelHookPayloads[K],
  ): Promise<HookOutcome<KernelHookPayloads[K]>>;
  callHook(hook: string, payload: unknown): Promise<HookOutcome>;
}

export interface InvokeOptions {
  /** Run the contribution in dry-run mode: side effects are recorded, not performed. */
  dryRun?: boolean;
  /** Wall-clock limit for this call in milliseconds. */
  timeoutMs?: number;
}

export interface HookOutcome<Payload = Json> {
  /** false when a pre_* tap vetoed. */
  proceed: boolean;
  /** The plugin whose tap vetoed, if any. */
  vetoedBy?: string;
  /** The payload after waterfall taps. */
  payload: Payload;
  /** Taps that threw or timed out (reported, never fatal). */
  errors: Array<{ plugin: string; message: string; code: string }>;
}

/** One discovered plugin, as `ctx.plugins.list()` gives it. */
export interface PluginListing {
  name: string;
  version: string;
  enabled: boolean;
  tier: Tier;
  grants: string[];
  dir: string;
  builtin: boolean;
  /** 'failed': enabled but not loaded (invalid config, refused, threw); `error` says why. */
  status: 'active' | 'disabled' | 'failed' | 'not-loaded';
  error?: { code: string; message: string };
  /** For a failed plugin: what its last successful load contributed (from the shape cache), if known. */
  last_contributes?: Array<{ kind: string; id: string; meta: Record<string, Json> }>;
}

/** Plugin management, for trusted plugins (e.g. the registry plugin that installs others). */
export interface PluginsCapability {
  /** Every discovered plugin: name, version, enabled, tier, grants, directory. */
  list(): Promise<PluginListing[]>;
  /** Enables a plugin with the given grant strings (each must be within its manifest's request). */
  enable(name: string, options?: { grants?: string[]; tier?: Tier }): Promise<void>;
  disable(name: string): Promise<void>;
  /** The directory into which installed plugins are unpacked (one sub-directory each). */
  readonly installDir: string;
  /**
   * Boots a fresh kernel with this one's options — config.yaml and plugin state read again — for
   * a long-lived process that reloads (the daemon on SIGHUP). Throws when the new config.yaml
   * does not load; a plugin that fails to boot is in `errors`. Trusted tier only.
   */
  reload?(): Promise<KernelReload>;
}

/** A freshly booted kernel, handed to the plugin that asked for it (PluginsCapability.reload). */
export interface KernelReload {
  /** The new kernel's registry (contributions and hooks as they are now). */
  registry: RegistryCapability;
  /** A plugin's config section in the new kernel (validated, defaults applied); undefined when it did not load. */
  config(plugin: string): unknown;
  /** Boot failures of the new kernel (plugins that did not load). */
  errors: Array<{ code: string; message: string; plugin?: string }>;
  /** Shuts the new kernel down (shutdown hook, deactivate, sandbox closed). */
  shutdown(): Promise<void>;
}

/** Where things live; every path can be moved by flags or environment. */
export interface RuntimeEnv {
  /** Root of the host being inspected/repaired ("/" on a real host, a temp dir in tests). */
  root: string;
  /** This plugin's own state directory (created on demand). */
  stateDir: string;
  /** This plugin's own cache directory. */
  cacheDir: string;
  /** cx-ops' configuration directory (/etc/cx). */
  configDir: string;
  /** cx-ops' state directory (/var/lib/cx). */
  dataDir: string;
  /** Dry run: side-effecting calls are recorded, not performed. */
  dryRun: boolean;
  verbose: boolean;
  /** Answer yes to every confirmation. */
  assumeYes: boolean;
  kernelVersion: string;
  /**
   * How to run cx-ops again with this run's global options, shell-quoted: `cx-ops`, or e.g.
   * `cx-ops --root /tmp/r --config-dir /tmp/c`. Every hint a user may copy starts with it
   * (`${ctx.env.command} update rollback ${id}`), so a hint after a `--root` run acts on the
   * same root, never on the real host.
   */
  command: string;
}

export type Tier = 'trusted' | 'sandboxed';

/** What every plugin function receives. */
export interface PluginContext<Config = unknown> {
  /** This plugin's name (from plugin.yaml). */
  readonly plugin: string;
  readonly tier: Tier;
  /** This plugin's section of config.yaml, validated and with defaults applied. */
  readonly config: Config;
  readonly env: RuntimeEnv;
  readonly log: Logger;
  readonly io: IoCapability;
  readonly exec: ExecCapability;
  /** The inspected host's files: plugins name host paths, the capability applies --root. */
  readonly fs: FsCapability;
  /** Files addressed exactly as given (never rooted): cx-ops' own directories, paths the user typed. */
  readonly localFs: FsCapability;
  readonly net: NetCapability;
  /**
   * Takes the lock `name` (one per host and data directory, shared by all plugins; a sandboxed
   * plugin's names are prefixed with its own name). A live holder makes it throw
   * CX_ERR_STATE_LOCKED (exit 5) naming that holder; a dead holder's lock is taken over.
   * Nothing is taken in a dry run.
   */
  lock(name: string, options?: LockOptions): Promise<HeldLock>;
  /** This plugin's own files. */
  readonly assets: AssetsCapability;
  readonly registry: RegistryCapability;
  /** Trusted tier only; sandboxed plugins get a capability whose every call is denied. */
  readonly plugins: PluginsCapability;
}

// ---------------------------------------------------------------------------
// Contributions
// ---------------------------------------------------------------------------

/** A contribution: a kind, an id, plain metadata and the function that does the work. */
export interface Contribution<Input = unknown, Output = unknown> {
  kind: string;
  id: string;
  meta: Record<string, Json>;
  /**
   * Where the id was chosen when the operator chose it, as a config.yaml field (e.g.
   * `nagios.checks[2].id`): a duplicate id then says to rename it there.
   */
  configField?: string;
  run(ctx: PluginContext<unknown>, input: Input): Promise<Output>;
}

/** A check; `Config` is its plugin's config (the kernel hands each contribution its plugin's validated section). */
export interface CheckDefinition<Config = unknown> {
  id: string;
  name: string;
  description: string;
  category: CheckCategory;
  severity: CheckSeverity;
  /** The fix offered when this check does not pass. */
  fix_id?: string;
  /** Checks that must pass first; when one fails this check is SKIPped. */
  depends_on?: string[];
  run(ctx: PluginContext<Config>): Promise<CheckOutcome>;
}

/** What a fix receives: the failing result. */
export interface FixInput {
  result: CheckResult;
}

export interface FixOutcome {
  /** Whether the fix did (or, in dry run, would do) its job. */
  ok: boolean;
  message: string;
  /** The actions taken (or planned in dry run): commands, files. */
  actions: string[];
}

export interface FixDefinition<Config = unknown> {
  id: string;
  name: string;
  description: string;
  /** Safe fixes may run without asking when doctor.auto_fix_safe is set. */
  safe: boolean;
  run(ctx: PluginContext<Config>, input: FixInput): Promise<FixOutcome>;
}

export interface CommandArgument {
  name: string;
  description?: string;
  required?: boolean;
  variadic?: boolean;
}

export interface CommandOption {
  /** Commander flags, e.g. "-f, --force" or "--check <id...>". */
  flags: string;
  description: string;
  default?: Json;
}

export interface CommandInput {
  args: Record<string, Json>;
  options: Record<string, Json>;
}

export interface CommandDefinition<Config = unknown> {
  /** Space-separated path, e.g. "hello" or "repair apt". */
  name: string;
  description: string;
  arguments?: CommandArgument[];
  options?: CommandOption[];
  /** Extra help text shown after the options. */
  help?: string;
  /**
   * The command offers `--dry-run`, and the kernel runs it as a whole dry run when it is given:
   * side effects are recorded, not performed (trusted `readOnly` execs still run, to diagnose).
   * The kernel adds the option if the command does not declare it.
   */
  dryRun?: boolean;
  /**
   * The exit code is a monitoring status (Nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), as
   * doctor's is: the kernel never raises it for a boot error the command did not need, and when
   * the command cannot run because its plugin failed to load it exits 3 (UNKNOWN), not 2.
   */
  statusExit?: boolean;
  /**
   * The command stops on SIGTERM/SIGINT itself (a long-running one: the daemon), through
   * `takeStopSignals` of `cx-ops/sdk/host`: the kernel does not release them to their default
   * action before it runs, so one that arrives while the kernel boots or the command starts up
   * waits for it. Trusted plugins only (a sandboxed command's signals are released).
   */
  stopSignals?: boolean;
  /** Resolves with the process exit code (0 = success). */
  run(ctx: PluginContext<Config>, input: CommandInput): Promise<number>;
}

/** The kernel's hooks and their payloads: one typed table (defineTap and callHook are typed by it). */
export interface KernelHookPayloads {
  /** When cx-ops starts, after every plugin is activated (fired by the kernel). */
  startup: { version: string; plugins: string[] };
  /** When cx-ops exits, before plugins are deactivated (fired by the kernel). */
  shutdown: { version: string };
  /** After a plugin loads and activates (fired by the kernel). */
  plugin_loaded: { plugin: string; version: string; tier: Tier };
  /** Before a check runs; a tap resolving false skips it (fired by the check runner). */
  pre_check: { check_id: string; name: string; category: string | null; plugin: string };
  /** After a check ran (fired by the check runner). */
  post_check: CheckResult;
  /** Before a fix is applied; a tap resolving false vetoes it (fired by the check runner). */
  pre_fix: { fix_id: string; check_id: string; name: string; safe: boolean; result: CheckResult };
  /** After a fix was applied (fired by the check runner). */
  post_fix: { fix_id: string; check_id: string; outcome: string; message: string; actions: string[] };
}

/** The seed's hooks (the kernel's); plugins declare more with defineHook. */
export type KernelHookName = keyof KernelHookPayloads;

/** The seed's HookPriority: lower runs first. */
export const HookPriority = Object.freeze({ HIGHEST: 0, HIGH: 25, NORMAL: 50, LOW: 75, LOWEST: 100 });

export interface TapDefinition {
  hook: string;
  priority?: number;
  /**
   * For pre_* hooks, resolving `false` vetoes the action. For other hooks the return
   * value is ignored unless the hook is a waterfall, where it replaces the payload.
   */
  run(ctx: PluginContext<unknown>, payload: unknown): Promise<unknown>;
}

/** A new contribution kind a plugin offers for others to fill. */
export interface ContributionKindDefinition {
  kind: string;
  description: string;
  /** JSON Schema the contribution's `meta` must satisfy. */
  metaSchema?: Record<string, Json>;
}

/** A hook a plugin declares as an extension point for others. */
export interface HookDeclaration {
  name: string;
  description: string;
  /** 'series' notifies every tap; 'bail' (veto) stops at the first tap resolving false; 'waterfall' passes the payload along. */
  type: 'series' | 'bail' | 'waterfall';
}

export interface PluginDefinition<Config = Record<string, unknown>> {
  /** Must equal plugin.yaml's name. */
  name: string;
  activate?(ctx: PluginContext<Config>): Promise<void>;
  deactivate?(ctx: PluginContext<Config>): Promise<void>;
  contributes?: Contribution[];
  taps?: TapDefinition[];
  kinds?: ContributionKindDefinition[];
  hooks?: HookDeclaration[];
  /** The plugin's own error codes (defineErrors): the kernel keeps their codes and exit codes. */
  errors?: ErrorSpecs;
}

/** A validated plugin.yaml: generated from schemas/plugin.schema.json (schemas/types/plugin.ts). */
export type { PluginManifest } from '../schemas/types/plugin.js';
