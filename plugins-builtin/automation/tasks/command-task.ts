/**
 * Task type `command`: runs one program (no shell) for everything the other types do not do.
 * config: { command: [program, args...], user?, working_dir?, env?, timeout? }. Its process
 * group is killed at the task's deadline (or its own `timeout`, whichever comes first); exit 0
 * is Success, anything else Failed with the end of its stderr.
 */
import { defineTask, type Json, type TaskOutcome } from 'cx-ops/sdk';
import { parseDuration } from '../../daemon/duration.js';

interface CommandConfig {
  command: string[];
  user?: string;
  working_dir?: string;
  env?: Record<string, string>;
  timeout?: string;
}

const tail = (text: string, lines = 20) => text.trimEnd().split('\n').slice(-lines).join('\n');

export const commandTask = defineTask<CommandConfig>({
  id: 'command',
  name: 'Command',
  description: 'Runs a program with its arguments (no shell), as a user, in a directory, with a timeout',
  task_type: 'maintenance',
  priority: 'medium',
  estimated_duration_seconds: 60,
  config_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['command'],
    properties: {
      command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
      user: { type: 'string', pattern: '^[a-z_][a-z0-9_-]*$' },
      working_dir: { type: 'string', pattern: '^/' },
      env: { type: 'object', additionalProperties: { type: 'string' } },
      timeout: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$' },
    },
  } as Record<string, Json>,
  async execute(ctx, { config, deadline_ms, dry_run }): Promise<TaskOutcome> {
    const [program, ...args] = config.user ? ['runuser', '-u', config.user, '--', ...config.command] : config.command;
    const own = config.timeout ? (parseDuration(config.timeout) ?? Infinity) : Infinity;
    const timeoutMs = Math.max(1, Math.min(own, deadline_ms - Date.now()));
    const line = config.command.join(' ');
    if (dry_run) return { status: 'Success', output: `would run: ${line}`, changes_made: [] };
    const r = await ctx.exec.run(program!, args, {
      cwd: config.working_dir,
      env: config.env,
      timeoutMs,
      usage: true,
    });
    const resources = r.usage
      ? { programs_cpu_ms: r.usage.cpuMs, programs_max_rss_kb: r.usage.maxRssKb, programs_measured: 1 }
      : {};
    const output = tail(r.stdout);
    const changes_made = [{ type: 'command_run' as const, target: line, detail: `exit ${r.exitCode ?? r.signal}` }];
    if (r.timedOut)
      return {
        status: 'Failed',
        output,
        error: `${line}: stopped after ${timeoutMs} ms (its process group was killed)`,
        changes_made,
        resources,
      };
    if (r.exitCode !== 0)
      return {
        status: 'Failed',
        output,
        error: `${line}: exit ${r.exitCode ?? `signal ${r.signal}`}${r.stderr.trim() ? `: ${tail(r.stderr, 5)}` : ''}`,
        changes_made,
        resources,
      };
    return { status: 'Success', output, changes_made, resources };
  },
});
