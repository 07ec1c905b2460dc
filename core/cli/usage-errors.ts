/**
 * Commander's own errors (unknown option or command, missing or extra arguments) as catalogue
 * errors: `error[CX_ERR_USAGE]: …` with exit 2 and the help command to try next.
 */
import type { Command, CommanderError } from 'commander';
import { CxError } from '../errors.js';
import type { Kernel } from '../kernel.js';
import { explainUnknownCommand, type UnknownCommandReport } from './unavailable-command.js';

/** The command whose parsing failed (recorded by its outputError hook). */
export interface FailingCommand {
  command?: Command;
}

/** The words naming a command below the program, e.g. ['plugins', 'list']. */
export function commandPath(c: Command | undefined): string[] {
  const words: string[] = [];
  for (let x = c; x?.parent; x = x.parent) words.unshift(x.name());
  return words;
}

/** `cx-ops plugins list --help` for ['plugins', 'list']. */
export function helpHint(words: string[]): string {
  return ['cx-ops', ...words, '--help'].join(' ');
}

/** The deepest command that argv's words name (commander does not say which group showed its help). */
export function namedCommand(program: Command, argv: string[]): Command {
  let c = program;
  for (const w of argv) {
    if (w === '--') break;
    if (w.startsWith('-')) continue;
    const sub = c.commands.find((s) => s.name() === w);
    if (!sub) break;
    c = sub;
  }
  return c;
}

/**
 * Turns a commander error into the error to print (exit 2, or the failed plugin's).
 * `argv` is what commander parsed, to find the command when commander did not record it.
 */
export async function usageErrorOf(
  e: CommanderError,
  failing: FailingCommand,
  argv: string[],
  program?: Command,
  kernel?: Kernel,
): Promise<UnknownCommandReport> {
  const words = commandPath(failing.command ?? (program && namedCommand(program, argv)));
  const detail = e.message.replace(/^error: /, '');
  if (e.code === 'commander.unknownCommand' && failing.command && kernel) {
    const word = String(failing.command.args[0]);
    const suggestion = detail.replace(/^unknown command '[^']*'/, '');
    return explainUnknownCommand(kernel, [...words, word], suggestion);
  }
  if (e.code === 'commander.help') {
    // A command group given no command: commander printed its help (the commands) above.
    return {
      error: new CxError('CX_ERR_USAGE', {
        detail: `${['cx-ops', ...words].join(' ')} needs a command; the commands are listed above.`,
      }),
    };
  }
  return { error: new CxError('CX_ERR_USAGE', { detail, hint: helpHint(words) }) };
}
