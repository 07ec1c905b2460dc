/**
 * Mounts the commands plugins contribute. A command named "repair apt" becomes the sub-command
 * `apt` of a `repair` group (created on demand); "plugins install" joins the kernel's own
 * `plugins` group; "heal status" becomes a sub-command of the command "heal". Arguments and
 * options come from the contribution's metadata.
 */
import { Command, Option } from 'commander';
import { compareCodeUnits } from '../../sdk/compare-code-units.js';
import type { CommandArgument, CommandOption, Json } from '../../sdk/types.js';
import { CxError } from '../errors.js';
import type { Kernel } from '../kernel.js';

function group(parent: Command, name: string): Command {
  const existing = parent.commands.find((c) => c.name() === name);
  if (existing) return existing;
  return parent.command(name).description(`${name} commands`);
}

/** The commands that stop on SIGTERM/SIGINT themselves: the kernel leaves the launcher's hold on them. */
export const takesStopSignals = new WeakSet<Command>();

export function mountContributedCommands(
  program: Command,
  kernel: Kernel,
  setCode: (c: number, statusExit?: boolean) => void,
): void {
  // Code-unit order, not localeCompare: every boot mounts the commands, the daemon's too, and ICU's
  // collation data would stay resident in it.
  const commands = kernel.registry.list('command').sort((a, b) => compareCodeUnits(a.id, b.id));
  for (const info of commands) {
    const words = info.id.split(/\s+/);
    const leaf = words.pop()!;
    let parent = program;
    for (const w of words) parent = group(parent, w);
    if (parent.commands.some((c) => c.name() === leaf)) {
      kernel.bootErrors.push(
        new CxError('CX_ERR_CONTRIBUTION_DUPLICATE', {
          kind: 'command',
          id: info.id,
          first: 'another command',
          second: info.plugin,
          plugin: info.plugin,
        }),
      );
      continue;
    }
    const meta = info.meta as {
      description?: string;
      arguments?: CommandArgument[];
      options?: CommandOption[];
      help?: string | null;
      dry_run?: boolean;
      status_exit?: boolean;
      stop_signals?: boolean;
    };
    const cmd = parent
      .command(leaf)
      .description(`${meta.description ?? ''}${info.tier === 'sandboxed' ? ' (sandboxed plugin)' : ''}`);
    const args = meta.arguments ?? [];
    for (const a of args) {
      const spec = a.required ? `<${a.name}${a.variadic ? '...' : ''}>` : `[${a.name}${a.variadic ? '...' : ''}]`;
      cmd.argument(spec, a.description ?? '');
    }
    for (const o of meta.options ?? []) {
      const opt = new Option(o.flags, o.description);
      if (o.default !== undefined) opt.default(o.default);
      cmd.addOption(opt);
    }
    if (meta.dry_run && !(meta.options ?? []).some((o) => /--dry-run\b/.test(o.flags))) {
      cmd.addOption(new Option('--dry-run', 'show what would be done; change nothing'));
    }
    if (meta.stop_signals === true && info.tier !== 'sandboxed') takesStopSignals.add(cmd);
    if (meta.help) cmd.addHelpText('after', `\n${meta.help}`);
    cmd.addHelpText('after', `\n(from plugin '${info.plugin}')`);
    cmd.action(async (...received: unknown[]) => {
      const command = received[received.length - 1] as Command;
      const values: Record<string, Json> = {};
      args.forEach((a, i) => {
        values[a.name] = (received[i] ?? null) as Json;
      });
      // With the parent's: commander hands an option given after a sub-command's word to the
      // parent when both have it (`heal status --json`, where `heal` is a command too).
      const options = JSON.parse(JSON.stringify(command.optsWithGlobals())) as Record<string, Json>;
      const out = await kernel.invoke('command', info.id, { args: values, options } as unknown as Json);
      setCode(typeof out === 'number' ? out : 0, meta.status_exit === true);
    });
  }
}
