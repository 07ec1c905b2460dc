/**
 * The cx-ops command: kernel commands (plugins ...) plus every command plugins contribute.
 * Errors print as `error[CX_ERR_…]: message` with no stack unless --verbose, and exit non-zero.
 */
import { Command, CommanderError, Option } from 'commander';
import { processTerminal, type Terminal } from '../context.js';
import { CxError, messageOf } from '../errors.js';
import { Kernel } from '../kernel.js';
import { resolvePaths } from '../paths.js';
import { GLOBAL_OPTION_HELP, readGlobalOptions, type GlobalOptions } from './global-options.js';
import { addPluginCommands, KERNEL_ONLY } from './plugins-commands.js';
import { mountContributedCommands } from './mount.js';
import { reportBootErrors } from './report.js';

export interface MainOptions {
  terminal?: Terminal;
  env?: NodeJS.ProcessEnv;
}

/** Whether argv runs a kernel command that needs only manifests and state (fast path). */
function kernelOnly(rest: string[]): boolean {
  const words = rest.filter((a) => !a.startsWith('-'));
  if (words[0] !== 'plugins') return false;
  if (!KERNEL_ONLY.has(words[1] ?? '')) return false;
  return !(words[1] === 'list' && rest.includes('--available'));
}

function usageError(detail: string, hint?: string): CxError {
  return new CxError('CX_ERR_USAGE', { detail, hint });
}

/** Prints an error the way users should see it; returns the exit code. */
export function printError(terminal: Terminal, e: unknown, verbose: boolean): number {
  if (e instanceof CxError) {
    terminal.err(`error[${e.code}]: ${e.message}\n`);
    if (verbose && e.cause instanceof Error && e.cause.stack) terminal.err(`caused by: ${e.cause.stack}\n`);
    if (verbose && e.stack) terminal.err(`${e.stack}\n`);
    return e.exitCode;
  }
  terminal.err(`error: ${messageOf(e)}\n`);
  if (verbose && e instanceof Error && e.stack) terminal.err(`${e.stack}\n`);
  else terminal.err('(run with --verbose for the stack trace)\n');
  return 1;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const base = options.terminal ?? processTerminal();
  let global: GlobalOptions;
  let rest: string[];
  try {
    ({ global, rest } = readGlobalOptions(argv));
  } catch (e) {
    return printError(base, usageError(messageOf(e)), false);
  }
  const terminal: Terminal = global.noColor ? { ...base, color: false } : base;
  let kernel: Kernel | undefined;
  let code = 0;
  try {
    const paths = resolvePaths(global.paths, options.env ?? process.env);
    const fast = kernelOnly(rest) || rest[0] === '--version';
    kernel = await Kernel.boot({ paths, verbose: global.verbose, assumeYes: global.assumeYes, terminal, loadCode: !fast, devMode: global.devMode });
    const program = buildProgram(kernel, terminal, (c) => (code = c));
    await program.parseAsync(rest, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      code = e.exitCode === 0 ? 0 : 2;
      if (e.code === 'commander.unknownCommand' && kernel?.bootErrors.length) {
        terminal.err('note: some plugins failed to load (listed below); the command may come from one of them.\n');
      }
    } else {
      code = printError(terminal, e, global.verbose);
    }
  } finally {
    if (kernel) {
      if (kernel.bootErrors.length) reportBootErrors(kernel, terminal);
      if (global.devMode) {
        const acts = kernel.devRecorder.actions;
        terminal.err(`\ndevelopment mode: ${acts.length} side-effecting call${acts.length === 1 ? '' : 's'} recorded, none performed${acts.length ? ':' : '.'}\n${acts.map((a) => `  ${a}\n`).join('')}`);
      }
      try {
        await kernel.shutdown();
      } catch (e) {
        printError(terminal, e, global.verbose);
      }
    }
  }
  return code;
}

function buildProgram(kernel: Kernel, terminal: Terminal, setCode: (c: number) => void): Command {
  const program = new Command('cx-ops')
    .description('Keep Linux hosts healthy: diagnose, repair, update — everything a plugin.')
    .version(kernel.version, '--version', 'print the cx-ops version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => terminal.out(s), writeErr: (s) => terminal.err(s) })
    .addHelpText('after', `\nGlobal options (accepted by every command):\n${GLOBAL_OPTION_HELP.map(([f, d]) => `  ${f.padEnd(22)}${d}`).join('\n')}\n\nExit codes: 0 ok, 1 warning or error, 2 bad input, 3 permission denied, 4 plugin failure, 5 locked/system state.\nDocs: docs/architecture.md, docs/errors.md`);
  addPluginCommands(program, kernel, terminal, setCode);
  mountContributedCommands(program, kernel, setCode);
  // Every command accepts --verbose and --no-color (consumed by the pre-parse).
  const addGlobals = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => terminal.out(s), writeErr: (s) => terminal.err(s) });
    if (!c.options.some((o) => o.long === '--verbose')) c.addOption(new Option('--verbose', 'more output, and stack traces on errors').hideHelp());
    if (!c.options.some((o) => o.long === '--no-color')) c.addOption(new Option('--no-color', 'no colours').hideHelp());
    if (!c.options.some((o) => o.long === '--yes' || o.short === '-y')) c.addOption(new Option('-y, --yes', 'answer yes to every question').hideHelp(c.commands.length > 0));
    c.commands.forEach(addGlobals);
  };
  program.commands.forEach(addGlobals);
  return program;
}

