/**
 * The seed's pre_checks and post_checks: `command` + `expected` (+ `description`). A command is
 * split into words (single and double quotes, backslashes) and run through ctx.exec without a
 * shell; one that uses shell syntax (a pipe, redirection, `;`, `&`, `$`, backquotes, globs) is
 * run with `sh -c`, and the result says so. The command's trimmed standard output must equal
 * `expected`; a mismatch shows both.
 */
import type { PluginContext } from 'cx-ops/sdk';
import type { Check } from './module-types.js';

/** What a check did. */
export interface CheckRun {
  phase: 'pre' | 'post';
  command: string;
  description?: string;
  /** The argv run (['sh', '-c', command] when it needed a shell). */
  argv: string[];
  /** Why a shell was used, or null. */
  shell: string | null;
  expected: string;
  actual: string;
  exit_code: number | null;
  stderr: string;
  ok: boolean;
}

const SHELL_SYNTAX: Array<[RegExp, string]> = [
  [/\|/, "a pipe '|'"],
  [/[<>]/, 'a redirection'],
  [/;/, "';'"],
  [/&/, "'&'"],
  [/\$/, "'$' (a variable or command substitution)"],
  [/`/, 'backquotes'],
  [/[*?[]/, 'a glob'],
  [/[(){}]/, 'grouping'],
  [/(^|\s)~/, "'~'"],
  [/\n/, 'a newline'],
];

/**
 * Words of a command line, or the reason it needs a shell. Quotes and backslashes are honoured;
 * shell syntax outside single quotes means a shell is needed.
 */
export function splitCommand(command: string): { argv: string[]; shell: null } | { argv: null; shell: string } {
  const words: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
      continue;
    }
    if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      has = true;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '$' || c === '`') return { argv: null, shell: SHELL_SYNTAX.find(([r]) => r.test(c))![1] };
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      has = true;
      continue;
    }
    if (/\s/.test(c) && c !== '\n') {
      if (has || cur) words.push(cur);
      cur = '';
      has = false;
      continue;
    }
    const syntax = SHELL_SYNTAX.find(([r]) => r.test(c) || (c === '~' && !cur && !has));
    if (syntax) return { argv: null, shell: syntax[1] };
    cur += c;
  }
  if (quote) return { argv: null, shell: 'an unclosed quote' };
  if (has || cur) words.push(cur);
  return { argv: words, shell: null };
}

/** Runs the checks of one phase in order; every check runs, the caller decides on failures. */
export async function runChecks(
  ctx: PluginContext<unknown>,
  phase: 'pre' | 'post',
  checks: Check[],
  env: Record<string, string>,
): Promise<CheckRun[]> {
  const out: CheckRun[] = [];
  for (const c of checks) {
    const split = splitCommand(c.command);
    const argv = split.argv ?? ['sh', '-c', c.command];
    // A check only looks; it runs even in a dry run so the plan says whether it would pass.
    const r = argv.length
      ? await ctx.exec.run(argv[0]!, argv.slice(1), { readOnly: true, timeoutMs: 120_000, env })
      : { exitCode: 127, stdout: '', stderr: 'empty command' };
    const actual = r.stdout.trim();
    out.push({
      phase,
      command: c.command,
      ...(c.description ? { description: c.description } : {}),
      argv,
      shell: split.shell,
      expected: c.expected,
      actual,
      exit_code: r.exitCode,
      stderr: r.stderr.trim().split('\n').slice(-3).join(' | '),
      ok: actual === c.expected.trim(),
    });
  }
  return out;
}
