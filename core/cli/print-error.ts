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
}

/** An error as plain data; anything not coded is CX_ERR_INTERNAL (exit 1). */
export function errorData(e: unknown): ErrorData {
  if (e instanceof CxError) return e.toData();
  return new CxError('CX_ERR_INTERNAL', { detail: messageOf(e) }).toData();
}

/** Prints an error the way users should see it; returns the exit code. */
export function printError(terminal: Terminal, e: unknown, o: PrintOptions): number {
  if (o.json) {
    const data = errorData(e);
    terminal.out(`${JSON.stringify({ error: data }, null, 2)}\n`);
    if (o.verbose && e instanceof Error && e.stack) terminal.err(`${e.stack}\n`);
    return data.exit;
  }
  if (e instanceof CxError) {
    // Messages may carry plugin text: control characters escaped (core/terminal-text.ts); a
    // catalogue message keeps its own line breaks.
    terminal.err(`${escapeControl(errorText(e), { keepLines: true })}\n`);
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
