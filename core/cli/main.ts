/**
 * The cx-ops command: kernel commands (plugins ...) plus every command plugins contribute.
 * Every error is printed by print-error.ts (text, or JSON under --json) and exits non-zero.
 */
import { Command, CommanderError, Option } from 'commander';
import { processTerminal, type Terminal } from '../context.js';
import { closest, CxError, messageOf } from '../errors.js';
import { errorText, printError, wantsJson, type PrintOptions } from './print-error.js';
import { Kernel } from '../kernel.js';
import { checkPaths, resolvePaths } from '../paths.js';
import { shellQuote } from '../permissions/explain.js';
import { commandPrefix, GLOBAL_OPTION_HELP, readGlobalOptions, type GlobalOptions } from './global-options.js';
import { addPluginCommands, KERNEL_ONLY } from './plugins-commands.js';
import { mountContributedCommands, takesStopSignals } from './mount.js';
import { releaseStopSignals } from '../../sdk/stop-signals.js';
import { reportBootErrors } from './report.js';
import { explainUnknownCommand } from './unavailable-command.js';
import { usageErrorOf, type FailingCommand } from './usage-errors.js';
import { userDirs } from './user-dirs.js';

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

/** Whether argv asks only for help or the version (these work even with a broken config.yaml). */
function asksForHelp(rest: string[]): boolean {
  const end = rest.indexOf('--');
  const args = end === -1 ? rest : rest.slice(0, end);
  const words = args.filter((a) => !a.startsWith('-'));
  return (
    args.length === 0 || words[0] === 'help' || args.some((a) => a === '--help' || a === '-h' || a === '--version')
  );
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const base = options.terminal ?? processTerminal();
  const env = options.env ?? process.env;
  let global: GlobalOptions;
  let rest: string[];
  try {
    ({ global, rest } = readGlobalOptions(argv));
    // The seed's LUMINOUS_DEV_MODE: CX_DEV=1 is --dev, as CX_ROOT is --root.
    if (env.CX_DEV === '1' || env.CX_DEV === 'true') global.devMode = true;
  } catch (e) {
    return printError(base, usageError(messageOf(e), 'cx-ops --help'), { verbose: false, json: wantsJson(argv) });
  }
  const terminal: Terminal = global.noColor ? { ...base, color: false } : base;
  const printing: PrintOptions = { verbose: global.verbose, json: wantsJson(rest) };
  let kernel: Kernel | undefined;
  let code = 0;
  // The boot error the headline already shows, so it is not listed twice.
  let shown: CxError | undefined;
  const failing: FailingCommand = {};
  let program: Command | undefined;
  // The command that ran says its exit code is a monitoring status (doctor): the kernel keeps it.
  let statusExit = false;
  try {
    const resolved = resolvePaths(global.paths, env);
    await checkPaths(global.paths, env, resolved);
    const { paths, notes } = await userDirs(resolved, global.paths, env);
    const fast = kernelOnly(rest) || rest[0] === '--version';
    kernel = await Kernel.boot({
      paths,
      verbose: global.verbose,
      assumeYes: global.assumeYes,
      terminal,
      loadCode: !fast,
      devMode: global.devMode,
      tolerateConfigError: asksForHelp(rest),
      writeCaches: !asksForHelp(rest),
      command: commandPrefix(global),
    });
    for (const note of [...kernel.notes, ...notes]) terminal.err(`note: ${note}\n`);
    if (kernel.configError) {
      terminal.err(
        `warning: ${kernel.config.file} is ignored here (every setting at its default): ${errorText(kernel.configError)}\n\n`,
      );
    }
    program = buildProgram(
      kernel,
      terminal,
      (c, status) => {
        code = c;
        statusExit = status === true;
      },
      failing,
    );
    printing.cli = { prefix: kernel.command, commands: new Set(program.commands.map((c) => c.name())) };
    printing.rerun = [kernel.command, ...rest.map(shellQuote)].join(' ');
    const help = helpAsFlag(program, rest);
    if ('unknown' in help) {
      const report = await explainUnknownCommand(kernel, help.unknown, help.suggestion);
      shown = report.shown;
      code = printError(terminal, report.error, printing);
    } else {
      await program.parseAsync(help.argv, { from: 'user' });
    }
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) code = 0;
      else {
        const report = await usageErrorOf(e, failing, rest, program, kernel);
        shown = report.shown;
        code = printError(terminal, report.error, printing);
      }
    } else {
      code = printError(terminal, e, printing);
    }
  } finally {
    // Help, a usage error or a boot failure ran no command: the signals act as by default again.
    releaseStopSignals();
    if (kernel) {
      if (kernel.bootErrors.some((b) => b !== shown)) reportBootErrors(kernel, terminal, shown, printing.cli);
      if (!asksForHelp(rest) && !statusExit) code = exitWithBootErrors(code, kernel.bootErrors);
      if (global.devMode) {
        const acts = kernel.devRecorder.actions;
        terminal.err(
          `\ndevelopment mode: ${acts.length} side-effecting call${acts.length === 1 ? '' : 's'} recorded, none performed${acts.length ? ':' : '.'}\n${acts.map((a) => `  ${a}\n`).join('')}`,
        );
      }
      try {
        await kernel.shutdown();
      } catch (e) {
        printError(terminal, e, printing);
      }
    }
  }
  return code;
}

/**
 * A command that succeeded still exits 2 when a reported boot error is bad input (an invalid
 * config section, a broken plugin.yaml: catalogue exit 2): a script must not read "all well"
 * while a plugin it relies on was skipped for a mistake in a file. Other exit codes stand.
 */
function exitWithBootErrors(code: number, bootErrors: readonly CxError[]): number {
  return code === 0 && bootErrors.some((e) => e.exitCode === 2) ? 2 : code;
}

/**
 * `help [words...]` becomes `words... --help`, so `cx-ops help plugins list` shows that
 * command's help; a word that names no command is reported as an unknown command.
 */
function helpAsFlag(program: Command, rest: string[]): { argv: string[] } | { unknown: string[]; suggestion: string } {
  const i = rest.indexOf('help');
  const end = rest.indexOf('--');
  if (i === -1 || (end !== -1 && end < i)) return { argv: rest };
  // Only when 'help' is in a command position: after the words naming a command group.
  let c = program;
  const before = rest.slice(0, i).filter((w) => !w.startsWith('-'));
  for (const w of before) {
    const sub = c.commands.find((s) => s.name() === w);
    if (!sub) return { argv: rest };
    c = sub;
  }
  if (c.commands.length === 0 || c.commands.some((s) => s.name() === 'help')) return { argv: rest };
  const path = [...before];
  for (const w of rest.slice(i + 1).filter((x) => !x.startsWith('-'))) {
    const sub = c.commands.find((s) => s.name() === w);
    path.push(w);
    if (!sub) {
      const near = closest(
        w,
        c.commands.map((s) => s.name()),
      );
      return { unknown: path, suggestion: near.length ? `\n(Did you mean ${near.join(', ')}?)` : '' };
    }
    c = sub;
    if (c.commands.length === 0) break;
  }
  return { argv: [...path, '--help'] };
}

function buildProgram(
  kernel: Kernel,
  terminal: Terminal,
  setCode: (c: number, statusExit?: boolean) => void,
  failing: FailingCommand,
): Command {
  const program = new Command('cx-ops')
    .description('Keep Linux hosts healthy: diagnose, repair, update — everything a plugin.')
    .version(kernel.version, '--version', 'print the cx-ops version')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `\nGlobal options (accepted by every command, before or after it):\n${GLOBAL_OPTION_HELP.map(([f, d]) => `  ${f.padEnd(22)}${d}`).join('\n')}\n\nExit codes: 0 ok, 1 warning or error, 2 bad input, 3 permission denied, 4 plugin failure, 5 locked/system state.\nDocs: docs/architecture.md, docs/errors.md`,
    );
  addPluginCommands(program, kernel, terminal, setCode);
  mountContributedCommands(program, kernel, setCode);
  // The launcher held SIGTERM/SIGINT through the boot; a command that does not stop on them itself gets their default action back.
  program.hook('preAction', (_program, action) => {
    if (!takesStopSignals.has(action)) releaseStopSignals();
  });
  // Commander's errors are not printed by commander: main prints them from the catalogue,
  // naming the command whose --help to try. The global flags never reach commander
  // (readGlobalOptions takes them out); -y after the command word is the command's own.
  const configure = (c: Command) => {
    c.exitOverride();
    c.configureOutput({
      writeOut: (s) => terminal.out(s),
      writeErr: (s) => terminal.err(s),
      outputError: () => {
        failing.command = c;
      },
    });
    // Every command accepts -y (it is global); only one that changes the system (it has
    // --dry-run) and so asks first lists it in its --help.
    if (c !== program && !c.options.some((o) => o.long === '--yes' || o.short === '-y')) {
      const asks = c.commands.length === 0 && c.options.some((o) => o.long === '--dry-run');
      c.addOption(new Option('-y, --yes', 'answer yes to every question').hideHelp(!asks));
    }
    c.commands.forEach(configure);
  };
  configure(program);
  return program;
}
