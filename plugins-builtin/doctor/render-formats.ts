/**
 * Machine renderings of the doctor report: JSON (schemas/doctor-result.schema.json),
 * Markdown, JUnit XML, a Nagios plugin line and the Prometheus text exposition format.
 */
import type { CheckStatus } from 'cx-ops/sdk';
import { renderGauges } from './measured-values.js';
import { byCategory, summaryText, type DoctorReport } from './report-model.js';

/** Every rendering of the report (`--format`); `--json` is short for json. */
export const FORMATS = ['text', 'json', 'markdown', 'junit', 'nagios', 'prometheus'] as const;
export type Format = (typeof FORMATS)[number];

/** The report as JSON (schemas/doctor-result.schema.json). */
export function renderJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const mdCell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
const MD_ICON: Record<CheckStatus, string> = { PASS: '✅', WARN: '⚠️', FAIL: '❌', SKIP: '⏭️', ERROR: '🛑' };

/** A Markdown report: a table per category, then the fixes. */
export function renderMarkdown(report: DoctorReport): string {
  let out = `# cx-ops doctor report\n\n**${report.status}** (exit ${report.exit_code}) — ${report.summary.total} checks: ${summaryText(report.summary)}, ${report.started_at}, root \`${report.root}\`\n`;
  for (const [category, results] of byCategory(report)) {
    out += `\n## ${category.charAt(0).toUpperCase() + category.slice(1)}\n\n| Status | Check | Message | Fix | Time |\n|---|---|---|---|---:|\n`;
    for (const r of results) {
      out += `| ${MD_ICON[r.status]} ${r.status} | ${mdCell(r.name)} (\`${r.check_id}\`) | ${mdCell(r.message)} | ${r.fix_id ? `\`${r.fix_id}\`` : ''} | ${Math.round(r.duration_ms)} ms |\n`;
    }
  }
  if (report.fixes?.length) {
    out += '\n## Fixes\n\n| Fix | Check | Outcome | Message | Actions |\n|---|---|---|---|---|\n';
    for (const f of report.fixes) {
      out += `| \`${f.fix_id}\` | \`${f.check_id}\` | ${f.outcome}${f.verified ? ` (${f.verified})` : ''} | ${mdCell(f.message)} | ${mdCell(f.actions.map((a) => `\`${a}\``).join('<br>'))} |\n`;
    }
  }
  return out;
}

const xml = (s: string) =>
  s
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

/** JUnit XML: a testsuite per category; FAIL -> <failure>, ERROR -> <error>, SKIP -> <skipped>, WARN passes with a note. */
export function renderJunit(report: DoctorReport): string {
  const groups = byCategory(report);
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="cx-ops doctor" tests="${report.summary.total}" failures="${report.summary.FAIL}" errors="${report.summary.ERROR}" skipped="${report.summary.SKIP}" time="${secs(report.duration_ms)}" timestamp="${xml(report.started_at)}">\n`;
  for (const [category, results] of groups) {
    const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
    out += `  <testsuite name="${xml(category)}" tests="${results.length}" failures="${count('FAIL')}" errors="${count('ERROR')}" skipped="${count('SKIP')}" time="${secs(results.reduce((a, r) => a + r.duration_ms, 0))}">\n`;
    for (const r of results) {
      out += `    <testcase classname="cx-ops.doctor.${xml(category)}" name="${xml(r.check_id)}" time="${secs(r.duration_ms)}">\n`;
      if (r.status === 'FAIL')
        out += `      <failure message="${xml(r.message)}" type="FAIL">${xml(JSON.stringify(r.details))}</failure>\n`;
      else if (r.status === 'ERROR')
        out += `      <error message="${xml(r.message)}" type="ERROR">${xml(JSON.stringify(r.details))}</error>\n`;
      else if (r.status === 'SKIP') out += `      <skipped message="${xml(r.message)}"/>\n`;
      else out += `      <system-out>${xml(`${r.status}: ${r.message}`)}</system-out>\n`;
      out += '    </testcase>\n';
    }
    out += '  </testsuite>\n';
  }
  return `${out}</testsuites>\n`;
}

const NAGIOS_WORD = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];

/** '1 passed, 11 skipped': only the statuses that occurred (ERROR counts as unknown). */
function nagiosCounts(s: DoctorReport['summary']): string {
  const parts: Array<[number, string]> = [
    [s.PASS, 'passed'],
    [s.WARN, s.WARN === 1 ? 'warning' : 'warnings'],
    [s.FAIL, 'critical'],
    [s.ERROR, 'unknown'],
    [s.SKIP, 'skipped'],
  ];
  return (
    parts
      .filter(([n]) => n > 0)
      .map(([n, w]) => `${n} ${w}`)
      .join(', ') || 'none ran'
  );
}

/** A Nagios plugin answer: status line with perfdata, then one line per check. */
export function renderNagios(report: DoctorReport): string {
  const s = report.summary;
  const bad = report.results.filter((r) => r.status !== 'PASS' && r.status !== 'SKIP');
  // The line counts what happened: '12 checks: 1 passed, 11 skipped' is not 'OK - 12 checks passed'.
  const counts = `${s.total} check${s.total === 1 ? '' : 's'}: ${nagiosCounts(s)}`;
  const head = bad.length
    ? `${bad
        .map((r) => `${r.check_id}: ${r.message.split('\n')[0]}`)
        .slice(0, 3)
        .join('; ')}${bad.length > 3 ? `; … (${bad.length - 3} more)` : ''} (${counts})`
    : counts;
  const perf = [
    `pass=${s.PASS};;;0;${s.total}`,
    `warn=${s.WARN};;;0;${s.total}`,
    `fail=${s.FAIL};;;0;${s.total}`,
    `error=${s.ERROR};;;0;${s.total}`,
    `skip=${s.SKIP};;;0;${s.total}`,
    `duration=${(report.duration_ms / 1000).toFixed(3)}s`,
  ].join(' ');
  let out = `CX-OPS ${NAGIOS_WORD[report.exit_code] ?? 'UNKNOWN'} - ${head.replace(/\|/g, '/')} | ${perf}\n`;
  for (const r of report.results)
    out += `[${r.status}] ${r.check_id}: ${r.message.replace(/\|/g, '/').replace(/\s*\n\s*/g, ' ')}\n`;
  return out;
}

const label = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text format (for node_exporter's textfile collector or a scrape endpoint): statuses, then the measured values. */
export function renderPrometheus(report: DoctorReport): string {
  const statuses: CheckStatus[] = ['PASS', 'WARN', 'FAIL', 'SKIP', 'ERROR'];
  let out =
    '# HELP cx_ops_check_status Status of a cx-ops check in the last doctor run (1 for its status, 0 otherwise).\n# TYPE cx_ops_check_status gauge\n';
  for (const r of report.results) {
    const cat = report.checks[r.check_id]?.category ?? 'other';
    for (const s of statuses)
      out += `cx_ops_check_status{check="${label(r.check_id)}",category="${label(cat)}",status="${s.toLowerCase()}"} ${r.status === s ? 1 : 0}\n`;
  }
  out +=
    '# HELP cx_ops_check_duration_seconds How long a check took in the last doctor run.\n# TYPE cx_ops_check_duration_seconds gauge\n';
  for (const r of report.results)
    out += `cx_ops_check_duration_seconds{check="${label(r.check_id)}"} ${(r.duration_ms / 1000).toFixed(6)}\n`;
  out += '# HELP cx_ops_checks Number of checks per status in the last doctor run.\n# TYPE cx_ops_checks gauge\n';
  for (const s of statuses) out += `cx_ops_checks{status="${s.toLowerCase()}"} ${report.summary[s]}\n`;
  out += `# HELP cx_ops_doctor_exit_code Exit code of the last doctor run (Nagios convention).\n# TYPE cx_ops_doctor_exit_code gauge\ncx_ops_doctor_exit_code ${report.exit_code}\n`;
  out += renderGauges(report.results);
  out += `# HELP cx_ops_doctor_last_run_timestamp_seconds When the last doctor run started.\n# TYPE cx_ops_doctor_last_run_timestamp_seconds gauge\ncx_ops_doctor_last_run_timestamp_seconds ${Math.floor(Date.parse(report.started_at) / 1000)}\n`;
  return out;
}

/** Renders the report in a machine format. */
export function render(format: Exclude<Format, 'text'>, report: DoctorReport): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'junit':
      return renderJunit(report);
    case 'nagios':
      return renderNagios(report);
    case 'prometheus':
      return renderPrometheus(report);
  }
}

/** Doctor could not judge anything (bad usage): the line a Nagios agent reads, UNKNOWN. */
export function renderNagiosUnknown(code: string, message: string): string {
  return `CX-OPS UNKNOWN - error[${code}]: ${message.split('\n')[0]!.replace(/\|/g, '/')}\n`;
}
