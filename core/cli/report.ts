/** Reports every plugin that failed to load, together, after the command's own output. */
import type { Terminal } from '../context.js';
import type { Kernel } from '../kernel.js';
import { errorLine, type CommandLine } from './print-error.js';

export function reportBootErrors(kernel: Kernel, terminal: Terminal, shown?: unknown, cli?: CommandLine): void {
  // `shown`: the error the headline already printed.
  const errs = kernel.bootErrors.filter((e) => e !== shown);
  terminal.err(`\n${errs.length} plugin problem${errs.length === 1 ? '' : 's'} (the other plugins loaded and ran):\n`);
  for (const e of errs) terminal.err(`  ${errorLine(e, cli).replace(/\n/g, '\n    ')}\n`);
}
