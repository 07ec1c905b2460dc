/**
 * The exec capability: a program run without a shell, in an environment the kernel builds from
 * a fixed allow-list, as the leader of its own session, with capped output. Its whole tree (its
 * process group, then what is left of its session) is killed when its timeout fires, when it
 * exits, when the caller's `signal` aborts (a sandboxed plugin's call ending or being stopped),
 * and — through the process reaper — when cx-ops itself ends for any reason. Never throws for a
 * non-zero exit.
 *
 * node:child_process is used directly rather than execa: output is captured up to a byte cap
 * while the program keeps running (execa's maxBuffer would kill it), and the tree is managed here.
 */
import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import type { ExecCapability, ExecOptions, ExecResult } from '../../sdk/types.js';
import { FIXED_PATH } from '../permissions/command-path.js';
import { checkExec, pathGranted } from '../permissions/match.js';
import { gnuTimePath, measuredArgs, readUsageReport, USAGE_TAIL_BYTES } from './exec-usage.js';
import { killProcessTree, processReaper } from '../process-reaper.js';
import type { Guard } from './guard.js';

/** Capture cap per stream (the default, and the most a sandboxed plugin gets). */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** The most stdout a trusted plugin may ask for with `maxOutputBytes` (e.g. a decompressed package list). */
export const MAX_TRUSTED_OUTPUT_BYTES = 256 * 1024 * 1024;
/** Cap on stdin text. */
export const MAX_INPUT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * The only environment variables a caller may set (locale, time zone, Debian's non-interactive
 * switches). Everything else a program sees is set by the kernel (execEnv); no name outside this
 * list can be added, whatever its case or prefix.
 */
export const ALLOWED_ENV: ReadonlySet<string> = new Set([
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'LC_COLLATE',
  'LC_MESSAGES',
  'LC_NUMERIC',
  'LC_TIME',
  'LC_MONETARY',
  'TZ',
  'DEBIAN_FRONTEND',
  'DEBCONF_NONINTERACTIVE_SEEN',
  'NO_COLOR',
  'COLUMNS',
]);
const ENV_VALUE_MAX = 4096;
/**
 * HOME of a sandboxed plugin's programs: a directory that does not exist and that no grant is
 * meant to cover, so no program finds a ~/.gitconfig, ~/.npmrc, ~/.ssh/config, ~/.wgetrc … that
 * the plugin could have written into its own state directory.
 */
export const SANDBOXED_HOME = '/nonexistent';

/** Fake exec for tests: gets the call after grants allow it; missing result fields are filled in. */
export type ExecFake = (command: string, args: string[], options: ExecOptions) => Promise<Partial<ExecResult>>;

/**
 * For the trusted tier (in-process code the operator trusts), names that are still refused:
 * loader, interpreter and shell hooks, in any case (a trusted plugin may pass e.g. NOTIFY_SOCKET).
 */
const DENIED_TRUSTED_ENV =
  /^(LD_|DYLD_|NODE_|NPM_|PYTHON|PERL|RUBY|GIT_|BASH_FUNC_|MALLOC_|GCONV_|LUA_|JAVA_|_JAVA|GLIBC_|TAR_|MAKE|XDG_)|^(BASH_ENV|ENV|PATH|HOME|IFS|SHELLOPTS|BASHOPTS|PS4|CDPATH|LOCPATH|NLSPATH|HOSTALIASES|RESOLV_HOST_CONF|RES_OPTIONS|LOCALDOMAIN|TMPDIR|SSL_CERT_FILE|SSL_CERT_DIR|OPENSSL_CONF|PROMPT_COMMAND|EDITOR|VISUAL|PAGER|SYSTEMD_PAGER|LESSOPEN|LESSCLOSE|MANPAGER|BROWSER|GPG_AGENT_INFO|SSH_ASKPASS|SUDO_ASKPASS|MFLAGS|GNUMAKEFLAGS)$/i;

/** Why an extra environment variable is refused, or null (sandboxed: the allow-list; trusted: the deny-list). */
export function refusedEnv(name: string, value: unknown, tier: 'trusted' | 'sandboxed' = 'sandboxed'): string | null {
  if (tier === 'trusted') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `'${name}' is not a valid environment variable name`;
    if (DENIED_TRUSTED_ENV.test(name))
      return `the environment variable ${name} can change what the program loads or runs`;
  } else if (!ALLOWED_ENV.has(name))
    return `the environment variable ${name} is not one a program may be given (allowed: ${[...ALLOWED_ENV].join(', ')})`;
  if (typeof value !== 'string' || value.includes('\0') || value.length > ENV_VALUE_MAX)
    return `the value of ${name} is not a string without NUL of at most ${ENV_VALUE_MAX} characters`;
  // A locale or zone value that names a path makes the C library load files from there.
  if (
    tier === 'sandboxed' &&
    /[/\\]/.test(value) &&
    !(name === 'TZ' && /^:?[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(value))
  )
    return `the value of ${name} may not name a path`;
  return null;
}

/**
 * Set for every program: configuration lookups neutralised where the tool allows it (git reads
 * no system or global config, and command-line-scope settings — which outrank a repository's
 * own .git/config — turn off fsmonitor, hooks, the pager, ssh and the ext:: transport).
 */
export const NEUTRAL_ENV: Readonly<Record<string, string>> = Object.freeze({
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_COUNT: '5',
  GIT_CONFIG_KEY_0: 'core.fsmonitor',
  GIT_CONFIG_VALUE_0: 'false',
  GIT_CONFIG_KEY_1: 'core.hooksPath',
  GIT_CONFIG_VALUE_1: '/dev/null',
  GIT_CONFIG_KEY_2: 'core.pager',
  GIT_CONFIG_VALUE_2: 'cat',
  GIT_CONFIG_KEY_3: 'protocol.ext.allow',
  GIT_CONFIG_VALUE_3: 'never',
  GIT_CONFIG_KEY_4: 'core.sshCommand',
  GIT_CONFIG_VALUE_4: 'false',
});

/** The environment a program runs with: the kernel's fixed set, plus allowed extras. */
export function execEnv(
  home: string,
  extra: Record<string, string> = {},
  tier: 'trusted' | 'sandboxed' = 'sandboxed',
): Record<string, string> {
  const env: Record<string, string> = { PATH: FIXED_PATH, HOME: home, LANG: 'C.UTF-8', ...NEUTRAL_ENV };
  for (const [k, v] of Object.entries(extra)) if (refusedEnv(k, v, tier) === null) env[k] = v;
  return env;
}

class Capture {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap = MAX_OUTPUT_BYTES) {}
  add(b: Buffer): void {
    if (this.size >= this.cap) {
      this.truncated = true;
      return;
    }
    const room = this.cap - this.size;
    if (b.length > room) {
      this.truncated = true;
      b = b.subarray(0, room);
    }
    this.chunks.push(b);
    this.size += b.length;
  }
  text(): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(this.chunks));
  }
}

/** Runs a program (absolute path) and collects its result; kills its process group at the deadline. */
export function runProgram(
  path: string,
  command: string,
  args: string[],
  o: {
    cwd?: string;
    env: Record<string, string>;
    timeoutMs: number;
    input?: string;
    maxOutputBytes?: number;
    signal?: AbortSignal;
    /** GNU time's path: run the program under it and report its usage. */
    measureWith?: string | null;
  },
): Promise<ExecResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const out = new Capture(o.maxOutputBytes);
    const err = new Capture();
    let timedOut = false;
    let settled = false;
    let exited = false;
    if (o.signal?.aborted) {
      resolve({
        command,
        args,
        exitCode: null,
        signal: 'SIGKILL',
        stdout: '',
        stderr: `${command}: not started: the call that asked for it has ended\n`,
        timedOut: false,
        truncated: false,
        dryRun: false,
        durationMs: 0,
      });
      return;
    }
    const reaper = processReaper();
    reaper.ready();
    // detached: the program leads a new session (setsid), so its tree can be found and killed.
    const measured = Boolean(o.measureWith);
    let tail = measured ? Buffer.alloc(0) : undefined;
    const child = spawn(measured ? o.measureWith! : path, measured ? measuredArgs(path, args) : args, {
      cwd: o.cwd,
      env: o.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      argv0: measured || command.includes('/') ? undefined : command,
      windowsHide: true,
    });
    reaper.hold(child.pid);
    const kill = () => killProcessTree(child.pid);
    const onAbort = () => kill();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (exitCode: number | null, signal: string | null, extraErr?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (!exited) kill();
      reaper.release(child.pid);
      if (extraErr) err.add(Buffer.from(extraErr));
      const usage = tail ? readUsageReport(new TextDecoder().decode(tail)) : null;
      let stderr = err.text();
      if (usage) {
        // Under GNU time a signalled program shows as time's exit 128 + N: report the signal.
        if (usage.signal) [exitCode, signal] = [null, usage.signal];
        const own = readUsageReport(stderr);
        if (own) stderr = stderr.slice(0, own.start);
      }
      resolve({
        command,
        args,
        exitCode,
        signal,
        stdout: out.text(),
        stderr,
        timedOut,
        truncated: out.truncated || err.truncated,
        dryRun: false,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        ...(o.measureWith !== undefined ? { usage: usage?.usage ?? null } : {}),
      });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    child.stdout!.on('data', (b: Buffer) => out.add(b));
    child.stderr!.on('data', (b: Buffer) => {
      err.add(b);
      if (tail) tail = Buffer.concat([tail, b]).subarray(-USAGE_TAIL_BYTES);
    });
    child.stdin!.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code === 'ENOENT' ? 127 : 126;
      finish(code, null, `${command}: ${e.code === 'ENOENT' ? 'command not found' : e.message}\n`);
    });
    child.on('exit', () => {
      // Whatever the program left running in its tree goes with it (closing our pipes too).
      exited = true;
      kill();
    });
    child.on('close', (code, signal) => finish(code, signal));
    if (o.input !== undefined) child.stdin!.end(o.input);
    else child.stdin!.end();
  });
}

const result = (command: string, args: string[], r: Partial<ExecResult>, dryRun: boolean): ExecResult => ({
  command,
  args,
  exitCode: 0,
  signal: null,
  stdout: '',
  stderr: '',
  timedOut: false,
  truncated: false,
  durationMs: 0,
  ...r,
  dryRun,
});

/** The stdout cap for a call: a trusted plugin may raise it (bounded), a sandboxed one only lower it. */
export function outputCap(tier: 'trusted' | 'sandboxed', requested: unknown): number {
  const n =
    typeof requested === 'number' && Number.isFinite(requested) && requested > 0
      ? Math.floor(requested)
      : MAX_OUTPUT_BYTES;
  return Math.min(n, tier === 'trusted' ? MAX_TRUSTED_OUTPUT_BYTES : MAX_OUTPUT_BYTES);
}

/** The exec capability over a guard. */
export function createExec(guard: Guard, opts: { home: string; fake?: ExecFake }): ExecCapability {
  return {
    run(command: string, args: string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
      const list = Array.isArray(args) ? args : [];
      return guard.call({ capability: 'exec', op: 'run', target: String(command), args: list }, async (allow) => {
        const decision = checkExec(guard.grants, String(command), list);
        if (!decision.allowed)
          guard.deny({
            capability: 'exec',
            target: String(command),
            args: list,
            reason:
              decision.reason === 'the command has no exec grant' ||
              decision.reason === 'its arguments match no exec grant'
                ? undefined
                : decision.reason,
            grantable: decision.grantable,
          });
        const extra: Record<string, string> = {};
        for (const [k, v] of Object.entries(options.env ?? {})) {
          const why = refusedEnv(k, v, guard.tier);
          if (why)
            guard.deny({ capability: 'exec', target: String(command), args: list, reason: why, grantable: false });
          extra[k] = v;
        }
        if (
          options.input !== undefined &&
          (typeof options.input !== 'string' || Buffer.byteLength(options.input) > MAX_INPUT_BYTES)
        ) {
          guard.deny({
            capability: 'exec',
            target: String(command),
            args: list,
            reason: `stdin input must be a string of at most ${MAX_INPUT_BYTES} bytes`,
            grantable: false,
          });
        }
        let cwd: string | undefined;
        if (options.cwd !== undefined) {
          if (typeof options.cwd !== 'string' || !options.cwd.startsWith('/'))
            guard.deny({
              capability: 'exec',
              target: String(command),
              args: list,
              reason: 'cwd must be an absolute path',
              grantable: false,
            });
          cwd = opts.fake ? options.cwd : await realpath(options.cwd).catch(() => options.cwd);
          if (guard.checked && !pathGranted(guard.effective.read, cwd!))
            guard.deny({ capability: 'read', target: cwd!, reason: `working directory of '${command}'` });
        }
        allow();
        const timeoutMs = Math.min(Math.max(1, Number(options.timeoutMs) || DEFAULT_TIMEOUT_MS), MAX_TIMEOUT_MS);
        const maxOutputBytes = outputCap(guard.tier, options.maxOutputBytes);
        if (guard.dryRun) {
          guard.record(`exec: ${[command, ...list].join(' ')}`);
          return result(String(command), list, options.usage === true ? { usage: null } : {}, true);
        }
        if (opts.fake)
          return result(
            String(command),
            list,
            await opts.fake(String(command), list, { ...options, timeoutMs }),
            false,
          );
        if (!decision.path)
          return result(String(command), list, { exitCode: 127, stderr: `${command}: command not found\n` }, false);
        const signal = options.signal instanceof AbortSignal ? options.signal : undefined;
        return runProgram(decision.path, String(command), list, {
          cwd,
          env: execEnv(guard.tier === 'sandboxed' ? SANDBOXED_HOME : opts.home, extra, guard.tier),
          timeoutMs,
          input: options.input,
          maxOutputBytes,
          signal,
          measureWith: options.usage === true ? await gnuTimePath() : undefined,
        });
      });
    },
  };
}
