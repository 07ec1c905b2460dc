/**
 * Doctor's checks feed the service detector, so the two never disagree: inside the daemon a tap
 * on `daemon_cycle_end` reads the result of `systemd_failed` (checks-system), and each unit or
 * program it lists as failed is a SERVICE issue at heal's next cycle (with the manager it named).
 * A service fed once and no longer failed reads as running, so its issue clears. `heal --once`
 * outside the daemon has no checks cycle to read and watches heal.services.names only.
 */
import { defineTap, type CheckResult } from 'cx-ops/sdk';
import { cycleEndHook } from '../daemon/state-kind.js';
import type { Reading } from './heal-types.js';

/** The failed services a systemd_failed result lists: a FAIL's details.failed; PASS: none; anything else: unknown (null). */
export function failedServicesOf(r: CheckResult | undefined): Reading[] | null {
  if (!r || (r.status !== 'FAIL' && r.status !== 'PASS')) return null;
  const failed = Array.isArray(r.details?.failed) ? r.details.failed : [];
  const out: Reading[] = [];
  for (const f of failed) {
    if (!f || typeof f !== 'object' || Array.isArray(f)) continue;
    const manager = typeof f.manager === 'string' ? f.manager : 'systemd';
    const name =
      typeof f.name === 'string' ? f.name : typeof f.unit === 'string' ? f.unit.replace(/\.service$/, '') : null;
    if (!name || (manager === 'systemd' && typeof f.unit === 'string' && !f.unit.endsWith('.service'))) continue;
    const detail = typeof f.detail === 'string' ? f.detail : typeof f.sub === 'string' ? f.sub : 'failed';
    out.push({ detector: 'service', component: name, value: 1, manager, detail: `${detail} (doctor: systemd_failed)` });
  }
  return out;
}

const fed = new Map<string, Reading>();
let failedNow = new Set<string>();

/** Takes a checks cycle's systemd_failed verdict (null: no verdict, the last one stands). */
export function takeVerdict(failed: Reading[] | null): void {
  if (!failed) return;
  failedNow = new Set(failed.map((r) => r.component));
  for (const r of failed) fed.set(r.component, r);
}

/** Readings of the services doctor reported: failed now (1), or fed before and no longer failed (0). */
export function doctorReadings(watched: ReadonlySet<string>): Reading[] {
  const out: Reading[] = [];
  for (const [name, r] of fed) {
    if (watched.has(name)) continue;
    out.push(failedNow.has(name) ? r : { ...r, value: 0, detail: 'no longer failed (doctor: systemd_failed)' });
  }
  return out;
}

export const doctorFeedTap = defineTap(cycleEndHook, async (_ctx, cycle) => {
  takeVerdict(failedServicesOf(cycle.results.find((r) => r.check_id === 'systemd_failed')));
});
