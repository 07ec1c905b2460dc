/**
 * The one printer of errors: every error that ends a command, every boot problem and every
 * error shown inside a listing goes through here. Text is `error[CODE]: message` on stderr (no
 * stack unless --verbose); under --json the error is one JSON object on stdout,
 * `{ "error": { code, message, exit, plugin, hook, contribution, hint, suggestions, docs } }`,
 * so a script reading stdout gets JSON whether the command worked or not (stderr stays for people).
 */
import type { Terminal } from '../context.js';
import { CxError, errorText, messageOf, type ErrorData } from '../errors.js';
import { escapeControl } from '../terminal-text.js';

export { errorText };

export interface PrintOptions {
  verbose: boolean;
  /** The command ran with --json (or --format json). */
  json: boolean;
  /** The run's command line, so that a hint copied from an error acts on the same host. */
  cli?: CommandLine;
  /** The whole command line of this run, quoted, for a hint to run it again (e.g. with sudo). */
  rerun?: string;
}

/** errno codes that mean "this user may not", where root may. */
const NOT_PERMITTED = new Set(['EACCES', 'EPERM']);
const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
};

/**
 * A file-system error that escaped uncaught (EACCES from opening a lock as an unprivileged user)
 * as CX_ERR_IO naming the path; "this user may not" says the command needs root, with the line
 * to run. Anything else is returned as it is.
 */
export function systemError(e: unknown, rerun?: string): unknown {
  const uid = process.getuid?.();
  // A CX_ERR_IO some reader raised for EACCES/EPERM: the same hint, when it has none.
  if (e instanceof CxError) {
    const denied = e.code === 'CX_ERR_IO' && !e.hint && /\b(EACCES|EPERM)\b/.test(e.message);
    return denied && uid !== 0 && rerun
      ? new CxError('CX_ERR_IO', { ...e.params, hint: `sudo ${rerun}` }, { cause: e.cause })
      : e;
  }
  if (!(e instanceof Error)) return e;
  const { code, syscall } = e as NodeJS.ErrnoException;
  // A lock's or an atomic write's temp name says less than the file it stands for.
  const path = (e as NodeJS.ErrnoException).path?.replace(/\.\d+\.[0-9a-f]{8,}\.tmp$/, '');
  if (typeof code !== 'string' || typeof path !== 'string' || !/^E[A-Z]+$/.test(code)) return e;
  const needsRoot = NOT_PERMITTED.has(code) && uid !== 0;
  const what = `${syscall ? `${syscall} failed: ` : ''}${code} (${ERRNO_WORDS[code] ?? 'system error'})`;
  return new CxError(
    'CX_ERR_IO',
    {
      path,
      detail: needsRoot
        ? `${what}: this user (uid ${uid}) may not change it, so this command needs root`
        : `${what}; nothing more was changed`,
      hint: needsRoot && rerun ? `sudo ${rerun}` : undefined,
    },
    { cause: e },
  );
}

/** `cx-ops` with the run's global options, and the top-level command words. */
export interface CommandLine {
  prefix: string;
  commands: ReadonlySet<string>;
}

/**
 * Puts the run's global options into every `cx-ops COMMAND` of a text (a catalogue message or
 * hint is written for the plain host): after a `--root R` run, `cx-ops update rollback ID`
 * becomes `cx-ops --root R update rollback ID`. Only a known top-level command word counts, so
 * "works with cx-ops 0.1.0" stays as it is.
 */
export function withGlobalOptions(text: string, cli: CommandLine | undefined): string {
  if (!cli || cli.prefix === 'cx-ops') return text;
  return text.replace(/(^|[^\w./-])cx-ops (?=([a-z][a-z0-9-]*))/g, (m, lead: string, word: string) =>
    cli.commands.has(word) ? `${lead}${cli.prefix} ` : m,
  );
}

/** An error as plain data; anything not coded is CX_ERR_INTERNAL (exit 1). */
export function errorData(e: unknown, cli?: CommandLine): ErrorData {
  if (!(e instanceof CxError)) return new CxError('CX_ERR_INTERNAL', { detail: messageOf(e) }).toData();
  const data = e.toData();
  return {
    ...data,
    message: withGlobalOptions(data.message, cli),
    ...(data.hint ? { hint: withGlobalOptions(data.hint, cli) } : {}),
  };
}

/** `error[CODE]: message`, its hints carrying the run's global options. */
export function errorLine(e: CxError, cli?: CommandLine): string {
  return withGlobalOptions(errorText(e), cli);
}

/** Prints an error the way users should see it; returns the exit code. */
export function printError(terminal: Terminal, thrown: unknown, o: PrintOptions): number {
  const e = systemError(thrown, o.rerun);
  if (o.json) {
    const data = errorData(e, o.cli);
    terminal.out(`${JSON.stringify({ error: data }, null, 2)}\n`);
    if (o.verbose && e instanceof Error && e.stack) terminal.err(`${e.stack}\n`);
    return data.exit;
  }
  if (e instanceof CxError) {
    // Messages may carry plugin text: control characters escaped (core/terminal-text.ts); a
    // catalogue message keeps its own line breaks.
    terminal.err(`${escapeControl(errorLine(e, o.cli), { keepLines: true })}\n`);
    if (o.verbose && e.cause instanceof Error && e.cause.stack) terminal.err(`caused by: ${e.cause.stack}\n`);
    if (o.verbose && e.stack) terminal.err(`${e.stack}\n`);
    return e.exitCode;
  }
  terminal.err(`error: ${escapeControl(messageOf(e))}\n`);
  if (o.verbose && e instanceof Error && e.stack) terminal.err(`${e.stack}\n`);
  else terminal.err('(run with --verbose for the stack trace)\n');
  return 1;
}

/** Whether argv (before a `--`) asks for JSON output: --json, or --format json. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end);
  return args.some((a, i) => a === '--json' || a === '--format=json' || (a === '--format' && args[i + 1] === 'json'));
}
