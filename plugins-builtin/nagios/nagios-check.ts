/**
 * A Nagios plugin as a cx-ops check: run the executable (no shell), map its exit code
 * (0 OK -> PASS, 1 WARNING -> WARN, 2 CRITICAL -> FAIL, 3 UNKNOWN -> ERROR) and parse its output
 * and perfdata into details. A missing or non-executable plugin, a timeout, an exit code outside
 * 0-3 or output with no readable status line is ERROR with the reason.
 */
import {
  defineCheck,
  type CheckCategory,
  type CheckOutcome,
  type CheckSeverity,
  type Contribution,
  type PluginContext,
} from 'cx-ops/sdk';
import { parsePluginOutput } from './perfdata.js';

/** One entry of `nagios.checks` in config.yaml. */
export interface NagiosCheckConfig {
  id: string;
  name?: string;
  description?: string;
  command: string[];
  category: CheckCategory;
  severity: CheckSeverity;
  timeout_seconds: number;
  fix_id?: string;
}

const STATUS = ['PASS', 'WARN', 'FAIL', 'ERROR'] as const;

/** Turns a finished plugin run into a check outcome. */
export function outcomeFromRun(
  cfg: Pick<NagiosCheckConfig, 'command' | 'timeout_seconds'>,
  r: { exitCode: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean },
): CheckOutcome {
  const base = { command: cfg.command, exit_code: r.exitCode };
  if (r.timedOut)
    return {
      status: 'ERROR',
      message: `UNKNOWN: ${cfg.command[0]} timed out after ${cfg.timeout_seconds}s`,
      details: base,
      fix_id: null,
    };
  if (r.exitCode === null)
    return {
      status: 'ERROR',
      message: `UNKNOWN: ${cfg.command[0]} was killed by ${r.signal ?? 'a signal'}`,
      details: base,
      fix_id: null,
    };
  const out = parsePluginOutput(r.stdout);
  const stderr = r.stderr.trim().split('\n')[0] ?? '';
  if (r.exitCode === 126 || r.exitCode === 127) {
    return {
      status: 'ERROR',
      message: `UNKNOWN: ${cfg.command[0]} could not be run (exit ${r.exitCode})${stderr ? `: ${stderr}` : ''}`,
      details: base,
      fix_id: null,
    };
  }
  if (!out.text || /[\x00-\x08\x0b-\x1f\x7f]/.test(out.text) || out.text.includes('\uFFFD')) {
    return {
      status: 'ERROR',
      message: `UNKNOWN: ${cfg.command[0]} printed no readable status line (exit ${r.exitCode})${stderr ? `; stderr: ${stderr}` : ''}`,
      details: { ...base, stdout: r.stdout.slice(0, 500) },
      fix_id: null,
    };
  }
  const details = {
    ...base,
    text: out.text,
    long_text: out.long_text,
    perfdata: out.perfdata,
    ...(out.perfdata_errors.length ? { perfdata_errors: out.perfdata_errors } : {}),
  };
  if (r.exitCode < 0 || r.exitCode > 3) {
    return {
      status: 'ERROR',
      message: `UNKNOWN: ${cfg.command[0]} exited with ${r.exitCode}, outside the plugin API (0-3): ${out.text}`,
      details,
      fix_id: null,
    };
  }
  const status = STATUS[r.exitCode]!;
  return { status, message: out.text, details, ...(status === 'ERROR' ? { fix_id: null } : {}) };
}

/** The check contribution for the configured plugin at nagios.checks[index]. */
export function nagiosCheck(cfg: NagiosCheckConfig, index: number): Contribution {
  const check = defineCheck({
    id: cfg.id,
    name: cfg.name ?? cfg.id,
    description: cfg.description ?? `Nagios plugin: ${cfg.command.join(' ')}`,
    category: cfg.category,
    severity: cfg.severity,
    fix_id: cfg.fix_id,
    async run(ctx: PluginContext<unknown>) {
      const [cmd, ...args] = cfg.command as [string, ...string[]];
      if (cmd.includes('/')) {
        const st = await ctx.localFs.stat(cmd);
        if (!st)
          return {
            status: 'ERROR',
            message: `UNKNOWN: ${cmd} does not exist; install it or fix nagios.checks (id ${cfg.id}) in ${ctx.env.configDir}/config.yaml`,
            details: { command: cfg.command },
            fix_id: null,
          };
        if (st.type !== 'file' && st.type !== 'symlink')
          return {
            status: 'ERROR',
            message: `UNKNOWN: ${cmd} is not a file`,
            details: { command: cfg.command },
            fix_id: null,
          };
        if ((st.mode & 0o111) === 0) {
          return {
            status: 'ERROR',
            message: `UNKNOWN: ${cmd} is not executable (mode ${(st.mode & 0o777).toString(8)}); make it executable with: chmod +x ${cmd}`,
            details: { command: cfg.command },
            fix_id: null,
          };
        }
      }
      let r;
      try {
        r = await ctx.exec.run(cmd, args, {
          timeoutMs: Math.round(cfg.timeout_seconds * 1000),
          readOnly: true,
          env: { LC_ALL: 'C' },
        });
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'CX_ERR_PERMISSION_DENIED') throw e;
        return {
          status: 'ERROR',
          message: `UNKNOWN: ${cmd} could not be run: ${e instanceof Error ? e.message : String(e)}`,
          details: { command: cfg.command },
          fix_id: null,
        };
      }
      return outcomeFromRun(cfg, r);
    },
  });
  // Where the id comes from: a clash with another plugin's check is fixed by renaming it there.
  return { ...check, configField: `nagios.checks[${index}].id` };
}
