/**
 * The doctor report: one result, many renderings. Its JSON form is schemas/doctor-result.schema.json,
 * and its types are generated from that schema (schemas/types/doctor-result.ts).
 */
import type { CheckResult, CheckStatus } from 'cx-ops/sdk';
import type { DoctorReport } from '../../schemas/types/doctor-result.js';

/** One doctor run: results, what the registry said about each check, and fixes (with --fix). */
export type { DoctorReport };

/** What the registry says about a check (for grouping and attribution). */
export type CheckInfoSummary = DoctorReport['checks'][string];

/** What happened to one offered fix. */
export type FixReport = NonNullable<DoctorReport['fixes']>[number];

/** Nagios-style exit code: 0 all PASS/SKIP, 1 any WARN, 2 any FAIL, 3 any ERROR. */
export function exitCodeFor(results: CheckResult[]): DoctorReport['exit_code'] {
  let code: DoctorReport['exit_code'] = 0;
  for (const r of results) {
    const c = r.status === 'ERROR' ? 3 : r.status === 'FAIL' ? 2 : r.status === 'WARN' ? 1 : 0;
    if (c > code) code = c;
  }
  return code;
}

/** The worst status (ERROR > FAIL > WARN > PASS > SKIP); PASS for an empty run. */
export function overallStatus(results: CheckResult[]): CheckStatus {
  const rank: Record<CheckStatus, number> = { SKIP: 0, PASS: 1, WARN: 2, FAIL: 3, ERROR: 4 };
  let worst: CheckStatus = results.length && results.every((r) => r.status === 'SKIP') ? 'SKIP' : 'PASS';
  for (const r of results) if (rank[r.status] > rank[worst]) worst = r.status;
  return worst;
}

/** Counts per status. */
export function summarize(results: CheckResult[]): DoctorReport['summary'] {
  const s = { total: results.length, PASS: 0, WARN: 0, FAIL: 0, SKIP: 0, ERROR: 0 };
  for (const r of results) s[r.status]++;
  return s;
}

/** Category display order: these categories first, others alphabetically. */
export const CATEGORY_ORDER = [
  'disk',
  'memory',
  'performance',
  'packages',
  'services',
  'network',
  'system',
  'security',
];

/** Results grouped by category, in display order. */
export function byCategory(report: DoctorReport): Array<[string, CheckResult[]]> {
  const groups = new Map<string, CheckResult[]>();
  for (const r of report.results) {
    const cat = report.checks[r.check_id]?.category ?? 'other';
    if (!groups.has(cat)) groups.set(cat, []);
    groups.get(cat)!.push(r);
  }
  const rank = (c: string) => (CATEGORY_ORDER.includes(c) ? CATEGORY_ORDER.indexOf(c) : CATEGORY_ORDER.length);
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

/** "8 passed, 2 warnings, 1 failed, 1 skipped, 0 errors". */
export function summaryText(s: DoctorReport['summary']): string {
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  return [
    n(s.PASS, 'passed', 'passed'),
    n(s.WARN, 'warning', 'warnings'),
    n(s.FAIL, 'failed', 'failed'),
    n(s.SKIP, 'skipped', 'skipped'),
    n(s.ERROR, 'error', 'errors'),
  ].join(', ');
}
