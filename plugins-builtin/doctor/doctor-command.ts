/**
 * `cx-ops doctor`: selects checks (--check, --category), runs them, renders one report in the
 * chosen format, optionally applies fixes, and exits the Nagios way (0 ok, 1 warn, 2 fail,
 * 3 error or unknown — bad usage too: a coded error the kernel prints). Checks of plugins that failed
 * to load are in the report as ERROR (see unavailable-checks.ts).
 */
import {
  CxError,
  defineCommand,
  type CheckResult,
  type CommandInput,
  type ContributionInfo,
  type PluginContext,
} from 'cx-ops/sdk';
import { applyFixes } from './apply-fixes.js';
import { closest } from 'cx-ops/sdk';
import { FORMATS, render, renderNagiosUnknown, type Format } from './render-formats.js';
import { renderChecks, renderFix, renderSummary, type TextOptions } from './render-text.js';
import { CATEGORY_ORDER, exitCodeFor, overallStatus, summarize, type DoctorReport } from './report-model.js';
import { runChecks } from './run-checks.js';
import { checkSetChecks } from './check-sets.js';
import { UsageProblem } from './usage-problem.js';
import { alertEvaluationKind } from '../alerts/evaluation-kind.js';
import { infoOf, selectUnavailable, unavailableChecks, type UnavailableCheck } from './unavailable-checks.js';

/** The `doctor:` section of config.yaml. */
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
  /** --checks-file: declarative checks files for this run. */
  checksFiles: string[];
  /** --alert: evaluate the alert rules once over the results. */
  alert: boolean;
}

export { UsageProblem };

const listOf = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined || v === null || v === false ? [] : [v])
    .flatMap((x) => String(x).split(','))
    .map((s) => s.trim())
    .filter(Boolean);

/** Reads and checks the command line options. */
export function readOptions(o: Record<string, unknown>): DoctorOptions {
  const format = (o.json ? 'json' : typeof o.format === 'string' ? o.format : 'text') as Format;
  if (!FORMATS.includes(format)) {
    throw new UsageProblem(
      'CX_ERR_USAGE',
      `unknown format '${String(o.format)}'; valid formats: ${FORMATS.join(', ')}.${closest(String(o.format), FORMATS).length ? ` Did you mean: ${closest(String(o.format), FORMATS).join(', ')}?` : ''}`,
    );
  }
  if (o.json && typeof o.format === 'string' && o.format !== 'json')
    throw new UsageProblem('CX_ERR_USAGE', `--json and --format ${o.format} contradict each other; use one of them`);
  const dryRun = Boolean(o.dryRun);
  if (dryRun && !o.fix)
    throw new UsageProblem(
      'CX_ERR_USAGE',
      '--dry-run previews fixes and needs --fix: run cx-ops doctor --fix --dry-run (doctor without --fix never changes anything)',
    );
  return {
    fix: Boolean(o.fix),
    check: listOf(o.check),
    category: listOf(o.category).map((c) => c.toLowerCase()),
    format,
    dryRun,
    list: Boolean(o.list),
    checksFiles: listOf(o.checksFile),
    alert: Boolean(o.alert),
  };
}

/**
 * The checks to run: all, or those named by --check and/or in a --category, and the checks of
 * failed plugins the selection takes. A selection that takes nothing is a usage problem.
 */
export function selectChecks(
  all: ContributionInfo[],
  o: Pick<DoctorOptions, 'check' | 'category'>,
  missing: UnavailableCheck[] = [],
): { selected: ContributionInfo[]; unavailable: UnavailableCheck[] } {
  const ids = new Set([...all.map((c) => c.id), ...missing.filter((m) => m.known).map((m) => m.id)]);
  const unknownIds = missing.some((m) => !m.known);
  for (const id of o.check) {
    if (!ids.has(id) && !unknownIds) {
      const near = closest(id, ids);
      throw new UsageProblem(
        'CX_ERR_CONTRIBUTION_UNKNOWN',
        `no check '${id}' is registered.${near.length ? ` Did you mean: ${near.join(', ')}?` : ''}\nList the checks with: cx-ops doctor --list`,
      );
    }
  }
  const categories = [
    ...new Set([
      ...CATEGORY_ORDER,
      ...all.map((c) => String(c.meta.category ?? 'other')),
      ...missing.map((m) => m.category ?? 'other'),
    ]),
  ];
  for (const cat of o.category) {
    if (!categories.includes(cat))
      throw new UsageProblem('CX_ERR_USAGE', `unknown category '${cat}'; valid categories: ${categories.join(', ')}`);
  }
  const selected = all.filter(
    (c) =>
      (!o.check.length || o.check.includes(c.id)) &&
      (!o.category.length || o.category.includes(String(c.meta.category ?? 'other'))),
  );
  const unavailable = selectUnavailable(missing, o, all);
  if (!selected.length && !unavailable.length) {
    const what = [...o.check.map((c) => `--check ${c}`), ...o.category.map((c) => `--category ${c}`)].join(' ');
    throw new UsageProblem(
      'CX_ERR_USAGE',
      `${what ? `${what} selects` : 'there are'} no checks to run: nothing was looked at, so there is no health to report.\nList the checks with: cx-ops doctor --list`,
    );
  }
  return { selected, unavailable };
}

function listText(all: ContributionInfo[], missing: UnavailableCheck[]): string {
  const rows = [...all].sort(
    (a, b) => String(a.meta.category).localeCompare(String(b.meta.category)) || a.id.localeCompare(b.id),
  );
  const line = (id: string, category: string, severity: string, rest: string) =>
    `${id.padEnd(24)} ${category.padEnd(12)} ${severity.padEnd(9)} ${rest}\n`;
  let out = line('CHECK', 'CATEGORY', 'SEVERITY', 'PLUGIN');
  for (const c of rows)
    out += line(
      c.id,
      String(c.meta.category ?? ''),
      String(c.meta.severity ?? ''),
      `${c.plugin}${c.tier === 'sandboxed' ? ' (sandboxed)' : ''}${c.meta.fix_id ? `  fix: ${c.meta.fix_id}` : ''}`,
    );
  for (const m of missing)
    out += line(
      m.id,
      m.category ?? '?',
      m.severity,
      `${m.plugin}  UNAVAILABLE: the plugin failed to load (cx-ops doctor shows why)`,
    );
  return out;
}

/** Runs the doctor; resolves with the exit code. */
export async function runDoctor(ctx: PluginContext<DoctorConfig>, input: CommandInput): Promise<number> {
  let o: DoctorOptions;
  let selected: ContributionInfo[];
  let unavailable: UnavailableCheck[];
  const registered = await ctx.registry.list('check');
  const missing = await unavailableChecks(ctx);
  let all: ContributionInfo[];
  let setErrors: CheckResult[];
  try {
    o = readOptions(input.options);
    const sets = await checkSetChecks(ctx, o.checksFiles);
    all = [...registered, ...sets.checks];
    setErrors = sets.errors;
    ({ selected, unavailable } = o.list ? { selected: all, unavailable: missing } : selectChecks(all, o, missing));
  } catch (e) {
    if (!(e instanceof UsageProblem)) throw e;
    if (input.options.format === 'nagios') ctx.io.out(renderNagiosUnknown(e.code, e.message));
    // Exit 3 (UNKNOWN: nothing was judged); the kernel prints it.
    throw CxError.fromData({ code: e.code, message: e.message, exit: 3 });
  }
  if (o.list) {
    if (o.format === 'json') {
      const rows = [...all]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((c) => ({
          check_id: c.id,
          name: c.meta.name ?? c.id,
          category: c.meta.category ?? null,
          severity: c.meta.severity ?? null,
          plugin: c.plugin,
          tier: c.tier,
          fix_id: c.meta.fix_id ?? null,
        }));
      const gone = missing.map((m) => ({
        check_id: m.id,
        plugin: m.plugin,
        category: m.category,
        known: m.known,
        error: m.result.details,
      }));
      ctx.io.out(`${JSON.stringify({ checks: rows, unavailable: gone }, null, 2)}\n`);
    } else ctx.io.out(listText(all, missing));
    return missing.length ? 3 : 0;
  }
  const cfg = ctx.config;
  const text: TextOptions = { color: ctx.io.color, verbose: ctx.env.verbose, command: ctx.env.command };
  const started = new Date();
  const t0 = performance.now();
  const showProgress = o.format === 'text' && ctx.io.interactive;
  const ran = await runChecks(ctx, selected, {
    maxParallel: cfg.parallel_checks ? cfg.max_parallel : 1,
    timeoutSeconds: cfg.timeout_seconds,
    onProgress: showProgress
      ? ({ done, total, running }) =>
          ctx.io.err(
            `\r\x1b[K[${done}/${total}] ${running.length ? `running ${running.slice(0, 3).join(', ')}${running.length > 3 ? ', …' : ''}` : 'done'}`,
          )
      : undefined,
  });
  if (showProgress) ctx.io.err('\r\x1b[K');
  const results = [...ran, ...unavailable.map((u) => u.result), ...setErrors];
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
    checks: Object.fromEntries([
      ...selected.map(
        (c) =>
          [
            c.id,
            {
              category: String(c.meta.category ?? 'other'),
              severity: String(c.meta.severity ?? 'medium'),
              plugin: c.plugin,
              tier: c.tier,
            },
          ] as const,
      ),
      ...unavailable.map((u) => [u.id, infoOf(u)] as const),
      ...setErrors.map(
        (r) =>
          [
            r.check_id,
            { category: 'other', severity: 'high', plugin: String(r.details.plugin ?? 'unknown'), tier: 'trusted' },
          ] as const,
      ),
    ]),
  };
  if (o.format === 'text') ctx.io.out(renderChecks(report, text));
  let final: CheckResult[] = results;
  if (o.fix) {
    if (o.format === 'text')
      ctx.io.out(`\nFixes${o.dryRun || ctx.env.dryRun ? ' (dry run: nothing is changed)' : ''}\n`);
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
  if (o.alert) await alertOnce(ctx, report);
  return report.exit_code;
}

/** --alert: the alerts plugin evaluates its rules over this run and notifies (said on stderr; the report is unchanged). */
async function alertOnce(ctx: PluginContext<DoctorConfig>, report: DoctorReport): Promise<void> {
  if (!(await ctx.registry.list(alertEvaluationKind)).some((c) => c.id === 'once')) {
    ctx.io.err('alerts: not evaluated: the alerts plugin is not enabled (cx-ops plugins enable alerts)\n');
    return;
  }
  const categories = Object.fromEntries(Object.entries(report.checks).map(([id, c]) => [id, c.category]));
  const out = await ctx.registry.invoke(alertEvaluationKind, 'once', { results: report.results, categories });
  if (out.error) ctx.io.err(`alerts: ${out.error}\n`);
  ctx.io.err(
    `alerts: ${out.firing.length ? `${out.firing.length} firing (${out.firing.join(', ')})` : 'none firing'}; ${out.sent} notification(s) sent${out.failed ? `, ${out.failed} failed (queued for retry)` : ''}\n`,
  );
}

export const doctorCommand = defineCommand({
  name: 'doctor',
  statusExit: true,
  description: 'Run the health checks, report, and optionally fix what they find',
  options: [
    { flags: '--fix', description: 'offer the fix of each check that did not pass (asks per fix unless -y)' },
    { flags: '--check <id...>', description: 'run only this check (repeatable)' },
    {
      flags: '--category <name...>',
      description:
        'run only checks of this category (disk, memory, performance, packages, services, network, system, security)',
    },
    { flags: '--json', description: 'JSON output (same as --format json)' },
    { flags: '--format <format>', description: `output format: ${FORMATS.join(', ')}` },
    { flags: '--dry-run', description: 'with --fix: show exactly what each fix would do, change nothing' },
    { flags: '--list', description: 'list the registered checks and exit (with --json: as JSON)' },
    {
      flags: '--checks-file <file...>',
      description:
        'also run the declarative checks of this YAML file (schemas/declarative-checks.schema.json; write one with cx-ops checks init)',
    },
    {
      flags: '--alert',
      description:
        'evaluate the alert rules (alerts.yaml) once over the results and send the notifications due (state kept between runs)',
    },
  ],
  help: 'Exit codes (Nagios): 0 all checks PASS or SKIP, 1 a WARN, 2 a FAIL, 3 an ERROR or UNKNOWN: a check that could not run (its plugin failed to load), bad usage, or a selection with no checks.\nDoctor only reads: it never refreshes package lists (that is cx-ops update check --refresh) and changes nothing without --fix.\nSettings: the doctor: section of config.yaml (timeout_seconds, parallel_checks, max_parallel, auto_fix_safe).\nGlobal -y answers yes to every fix; --verbose adds details and timings.',
  run: (ctx, input) => runDoctor(ctx as PluginContext<DoctorConfig>, input),
});
