/**
 * The terminal report: results grouped by category, status colours (only when the terminal
 * takes colour), a summary line; verbose adds details, timings and the plugin of each check.
 */
import type { CheckResult, CheckStatus } from 'cx-ops/sdk';
import { byCategory, summaryText, type DoctorReport, type FixReport } from './report-model.js';

const COLORS: Record<CheckStatus, string> = { PASS: '32', WARN: '33', FAIL: '31', SKIP: '90', ERROR: '35' };

export interface TextOptions {
  color: boolean;
  verbose: boolean;
  /** 'cx-ops' with the run's global options (RuntimeEnv.command), for the hints. */
  command: string;
}

const paint = (o: TextOptions, code: string, s: string) => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
const badge = (o: TextOptions, s: CheckStatus) => paint(o, `1;${COLORS[s]}`, `[${s}]`.padEnd(7));

function value(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** One check line (and in verbose mode its details). */
export function renderResultLine(r: CheckResult, report: Pick<DoctorReport, 'checks'>, o: TextOptions): string {
  let out = `  ${badge(o, r.status)} ${r.name.padEnd(22)} ${r.message.replace(/\n/g, `\n${' '.repeat(33)}`)}\n`;
  if (o.verbose) {
    const info = report.checks[r.check_id];
    out += paint(
      o,
      '2',
      `          ${r.check_id} · ${r.duration_ms} ms${info ? ` · plugin ${info.plugin}${info.tier === 'sandboxed' ? ' (sandboxed)' : ''} · severity ${info.severity}` : ''}${r.fix_id ? ` · fix ${r.fix_id}` : ''}\n`,
    );
    for (const [k, v] of Object.entries(r.details)) out += paint(o, '2', `          ${k}: ${value(v)}\n`);
  }
  return out;
}

/** The results, grouped by category. */
export function renderChecks(report: DoctorReport, o: TextOptions): string {
  let out = '';
  for (const [category, results] of byCategory(report)) {
    out += `${paint(o, '1', category.charAt(0).toUpperCase() + category.slice(1))}\n`;
    for (const r of results) out += renderResultLine(r, report, o);
  }
  return out;
}

/** One fix line, with what it did (or would do). */
export function renderFix(f: FixReport, o: TextOptions): string {
  const head =
    f.outcome === 'dry_run'
      ? `  ${paint(o, '36', '[DRY RUN]')} ${f.fix_id} for ${f.check_id} would:`
      : `  ${paint(o, f.outcome === 'applied' && f.verified === 'fixed' ? '32' : f.outcome === 'applied' ? '33' : '31', `[${f.outcome.toUpperCase().replace('_', ' ')}]`)} ${f.fix_id} for ${f.check_id}: ${f.message}${f.verified ? ` -> ${f.verified}` : ''}`;
  let out = `${head}\n`;
  const lines =
    f.outcome === 'dry_run' ? (f.actions.length ? f.actions : f.recorded_actions) : o.verbose ? f.actions : [];
  for (const a of lines) out += `      ${a}\n`;
  if (f.outcome === 'dry_run' && !lines.length) out += `      (nothing: ${f.message})\n`;
  if (f.outcome === 'dry_run' && o.verbose && f.recorded_actions.length) {
    out += paint(o, '2', '      recorded capability calls:\n');
    for (const a of f.recorded_actions) out += paint(o, '2', `        ${a}\n`);
  }
  return out;
}

/** The closing summary line. */
export function renderSummary(report: DoctorReport, o: TextOptions): string {
  const color = report.status === 'PASS' || report.status === 'SKIP' ? '32' : COLORS[report.status];
  const fixable = report.results.filter((r) => r.fix_id && r.status !== 'PASS' && r.status !== 'SKIP');
  let out = `\n${paint(o, `1;${color}`, report.status)}: ${report.summary.total} check${report.summary.total === 1 ? '' : 's'} — ${summaryText(report.summary)} (${(report.duration_ms / 1000).toFixed(2)} s)\n`;
  if (fixable.length && !report.fixes)
    out += `${fixable.length} fix${fixable.length === 1 ? '' : 'es'} available (${[...new Set(fixable.map((r) => r.fix_id))].join(', ')}): run ${o.command} doctor --fix (preview with --fix --dry-run)\n`;
  return out;
}

/** The whole report as text. */
export function renderText(report: DoctorReport, o: TextOptions): string {
  let out = renderChecks(report, o);
  if (report.fixes?.length) {
    out += `\n${paint(o, '1', 'Fixes')}\n`;
    for (const f of report.fixes) out += renderFix(f, o);
  }
  return out + renderSummary(report, o);
}
