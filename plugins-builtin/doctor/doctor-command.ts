/**
 * `cx-ops doctor`: selects checks (--check, --category), runs them, renders one report in the
 * chosen format, optionally applies fixes, and exits the Nagios way (0 ok, 1 warn, 2 fail,
 * 3 error; 2 also for bad usage: a coded error the kernel prints).
 */
import { CxError, defineCommand, type CheckResult, type CommandInput, type ContributionInfo, type PluginContext } from 'cx-ops/sdk';
import { applyFixes } from './apply-fixes.js';
import { closest } from 'cx-ops/sdk';
import { FORMATS, render, type Format } from './render-formats.js';
import { renderChecks, renderFix, renderSummary, type TextOptions } from './render-text.js';
import { CATEGORY_ORDER, exitCodeFor, overallStatus, summarize, type DoctorReport } from './report-model.js';
import { runChecks } from './run-checks.js';

/** The `doctor:` section of config.yaml (the seed's settings). */
export interface DoctorConfig {
  timeout_seconds: number;
  parallel_checks: boolean;
  max_parallel: number;
  auto_fix_safe: boolean;
}

export interface DoctorOptions {
  fix: boolean;
  check: string[];
  category: string[];
  format: Format;
  dryRun: boolean;
  list: boolean;
}

const listOf = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined || v === null || v === false ? [] : [v]).flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean);

/** Reads and checks the command line options. */
export function readOptions(o: Record<string, unknown>): DoctorOptions {
  const format = (o.json ? 'json' : typeof o.format === 'string' ? o.format : 'text') as Format;
  if (!FORMATS.includes(format)) {
    throw new CxError('CX_ERR_USAGE', { detail: `unknown format '${String(o.format)}'; valid formats: ${FORMATS.join(', ')}.`, suggestions: closest(String(o.format), FORMATS) });
  }
  if (o.json && typeof o.format === 'string' && o.format !== 'json') throw new CxError('CX_ERR_USAGE', { detail: `--json and --format ${o.format} contradict each other; use one of them` });
  const dryRun = Boolean(o.dryRun);
  return { fix: Boolean(o.fix) || dryRun, check: listOf(o.check), category: listOf(o.category).map((c) => c.toLowerCase()), format, dryRun, list: Boolean(o.list) };
}

/** The checks to run: all, or those named by --check and/or in a --category. */
export function selectChecks(all: ContributionInfo[], o: Pick<DoctorOptions, 'check' | 'category'>): ContributionInfo[] {
  const ids = new Set(all.map((c) => c.id));
  for (const id of o.check) {
    if (!ids.has(id)) {
      throw new CxError('CX_ERR_CONTRIBUTION_UNKNOWN', { kind: 'check', id, suggestions: closest(id, ids), hint: 'cx-ops doctor --list' });
    }
  }
  const categories = [...new Set([...CATEGORY_ORDER, ...all.map((c) => String(c.meta.category ?? 'other'))])];
  for (const cat of o.category) {
    if (!categories.includes(cat)) throw new CxError('CX_ERR_USAGE', { detail: `unknown category '${cat}'; valid categories: ${categories.join(', ')}` });
  }
  return all.filter((c) => (!o.check.length || o.check.includes(c.id)) && (!o.category.length || o.category.includes(String(c.meta.category ?? 'other'))));
}

function listText(all: ContributionInfo[]): string {
  const rows = [...all].sort((a, b) => String(a.meta.category).localeCompare(String(b.meta.category)) || a.id.localeCompare(b.id));
  return rows.map((c) => `${c.id.padEnd(24)} ${String(c.meta.category ?? '').padEnd(12)} ${String(c.meta.severity ?? '').padEnd(9)} ${c.plugin}${c.tier === 'sandboxed' ? ' (sandboxed)' : ''}${c.meta.fix_id ? `  fix: ${c.meta.fix_id}` : ''}\n`).join('');
}

/** Runs the doctor; resolves with the exit code. */
export async function runDoctor(ctx: PluginContext<DoctorConfig>, input: CommandInput): Promise<number> {
  const all = await ctx.registry.list('check');
  const o = readOptions(input.options);
  const selected = selectChecks(all, o);
  if (o.list) {
    if (o.format === 'json') {
      const rows = [...all].sort((a, b) => a.id.localeCompare(b.id)).map((c) => ({
        check_id: c.id, name: c.meta.name ?? c.id, category: c.meta.category ?? null, severity: c.meta.severity ?? null,
        plugin: c.plugin, tier: c.tier, fix_id: c.meta.fix_id ?? null,
      }));
      ctx.io.out(`${JSON.stringify({ checks: rows }, null, 2)}\n`);
    } else ctx.io.out(listText(all));
    return 0;
  }
  const cfg = ctx.config;
  const text: TextOptions = { color: ctx.io.color, verbose: ctx.env.verbose };
  const started = new Date();
  const t0 = performance.now();
  const showProgress = o.format === 'text' && ctx.io.interactive;
  const results = await runChecks(ctx, selected, {
    maxParallel: cfg.parallel_checks ? cfg.max_parallel : 1,
    timeoutSeconds: cfg.timeout_seconds,
    onProgress: showProgress
      ? ({ done, total, running }) => ctx.io.err(`\r\x1b[K[${done}/${total}] ${running.length ? `running ${running.slice(0, 3).join(', ')}${running.length > 3 ? ', …' : ''}` : 'done'}`)
      : undefined,
  });
  if (showProgress) ctx.io.err('\r\x1b[K');
  const byId = new Map(selected.map((c) => [c.id, c]));
  const report: DoctorReport = {
    version: ctx.env.kernelVersion,
    root: ctx.env.root,
    started_at: started.toISOString(),
    duration_ms: 0,
    status: 'PASS',
    exit_code: 0,
    summary: summarize([]),
    results,
    checks: Object.fromEntries(selected.map((c) => [c.id, { category: String(c.meta.category ?? 'other'), severity: String(c.meta.severity ?? 'medium'), plugin: c.plugin, tier: c.tier }])),
  };
  if (o.format === 'text') ctx.io.out(renderChecks(report, text));
  let final: CheckResult[] = results;
  if (o.fix) {
    if (o.format === 'text') ctx.io.out(`\nFixes${o.dryRun || ctx.env.dryRun ? ' (dry run: nothing is changed)' : ''}\n`);
    const applied = await applyFixes(ctx, results, byId, {
      dryRun: o.dryRun || ctx.env.dryRun,
      autoFixSafe: cfg.auto_fix_safe,
      assumeYes: ctx.env.assumeYes,
      timeoutSeconds: cfg.timeout_seconds,
      onFix: o.format === 'text' ? (f) => ctx.io.out(renderFix(f, text)) : undefined,
    });
    report.fixes = applied.fixes;
    final = applied.results;
    if (o.format === 'text' && !applied.fixes.length) ctx.io.out('  nothing to fix\n');
  }
  report.results = final;
  report.summary = summarize(final);
  report.status = overallStatus(final);
  report.exit_code = exitCodeFor(final);
  report.duration_ms = Math.round((performance.now() - t0) * 100) / 100;
  ctx.io.out(o.format === 'text' ? renderSummary(report, text) : render(o.format, report));
  return report.exit_code;
}

export const doctorCommand = defineCommand({
  name: 'doctor',
  description: 'Run the health checks, report, and optionally fix what they find',
  options: [
    { flags: '--fix', description: 'offer the fix of each check that did not pass (asks per fix unless -y)' },
    { flags: '--check <id...>', description: 'run only this check (repeatable)' },
    { flags: '--category <name...>', description: 'run only checks of this category (disk, memory, performance, packages, services, network, system, security)' },
    { flags: '--json', description: 'JSON output (same as --format json)' },
    { flags: '--format <format>', description: `output format: ${FORMATS.join(', ')}` },
    { flags: '--dry-run', description: 'with --fix: show exactly what each fix would do, change nothing' },
    { flags: '--list', description: 'list the registered checks and exit (with --json: as JSON)' },
  ],
  help: 'Exit codes: 0 all checks PASS or SKIP, 1 a WARN, 2 a FAIL (or bad usage), 3 an ERROR.\nSettings: the doctor: section of config.yaml (timeout_seconds, parallel_checks, max_parallel, auto_fix_safe).\nGlobal -y answers yes to every fix; --verbose adds details and timings.',
  run: (ctx, input) => runDoctor(ctx as PluginContext<DoctorConfig>, input),
});
