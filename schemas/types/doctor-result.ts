/* Generated from schemas/doctor-result.schema.json by core/bin/gen-schema-types.js: edit the schema, not this file. */
/* schema-hash: 3eab189dbd9aea6a */

export type Count = number;
export type Status = 'PASS' | 'WARN' | 'FAIL' | 'SKIP' | 'ERROR';

export interface DoctorReport {
  /**
   * cx-ops version
   */
  version: string;
  /**
   * root of the inspected host
   */
  root: string;
  started_at: string;
  duration_ms: number;
  /**
   * worst status (ERROR > FAIL > WARN > PASS > SKIP)
   */
  status: 'PASS' | 'WARN' | 'FAIL' | 'SKIP' | 'ERROR';
  /**
   * 0 all PASS/SKIP, 1 any WARN, 2 any FAIL, 3 any ERROR
   */
  exit_code: 0 | 1 | 2 | 3;
  summary: {
    total: Count;
    PASS: Count;
    WARN: Count;
    FAIL: Count;
    SKIP: Count;
    ERROR: Count;
  };
  results: CheckResult[];
  /**
   * what the registry says about each check in results, keyed by check_id
   */
  checks: {
    [k: string]: {
      category: string;
      severity: string;
      plugin: string;
      tier: 'trusted' | 'sandboxed';
    };
  };
  /**
   * present with --fix
   */
  fixes?: {
    check_id: string;
    fix_id: string;
    outcome: 'applied' | 'failed' | 'dry_run' | 'declined' | 'vetoed' | 'unavailable';
    safe: boolean;
    message: string;
    /**
     * the fix's own list of actions (planned in dry run)
     */
    actions: string[];
    /**
     * side-effecting capability calls the kernel recorded in dry run
     */
    recorded_actions: string[];
    /**
     * after an applied fix the check runs again: 'fixed' when it now passes
     */
    verified: 'fixed' | 'not fixed' | null;
    result_after: null | CheckResult;
    vetoed_by?: string;
  }[];
}
/**
 * Exactly the seed's CheckResult
 */
export interface CheckResult {
  check_id: string;
  name: string;
  status: Status;
  message: string;
  details: {
    [k: string]: unknown;
  };
  fix_id: string | null;
  duration_ms: number;
}
