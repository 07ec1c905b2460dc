/**
 * The one gate every host capability call goes through: the per-plugin call limiter, the
 * audit record (allowed or denied), the denial error, and the dry-run recorder.
 */
import { isCxError, messageOf } from '../errors.js';
import { type Denial, explainDenial } from '../permissions/explain.js';
import { type Grants, noGrants } from '../permissions/grants.js';
import type { AuditLog } from './audit.js';
import type { CallLimiter } from './limiter.js';

/** Side-effecting calls a dry run recorded instead of performing, in human-readable form. */
export interface DryRunRecorder {
  actions: string[];
}

/** Thrown inside a capability to deny the call; turned into CX_ERR_PERMISSION_DENIED by the guard. */
export class DenySignal {
  constructor(readonly denial: Omit<Denial, 'plugin' | 'grants'>) {}
}

/** One audited call. */
export interface CallInfo {
  capability: 'exec' | 'fs' | 'net';
  op: string;
  target: string;
  args?: unknown;
}

export class Guard {
  constructor(
    readonly plugin: string,
    readonly tier: 'trusted' | 'sandboxed',
    readonly grants: Grants | 'all',
    readonly dryRun: boolean,
    private readonly audit: AuditLog,
    private readonly limiter: CallLimiter,
    private readonly recorder?: DryRunRecorder,
    private readonly request?: { grants: Grants; manifest?: string; readOnly?: boolean },
  ) {}

  /** Whether grant checks apply (the trusted tier skips them). */
  get checked(): boolean {
    return this.grants !== 'all';
  }

  /** Grants to compare against; trusted gets an empty set but never consults it. */
  get effective(): Grants {
    return this.grants === 'all' ? noGrants() : this.grants;
  }

  /** Denies the current call (audited, thrown as CX_ERR_PERMISSION_DENIED). */
  deny(denial: Omit<Denial, 'plugin' | 'grants'>): never {
    throw new DenySignal(denial);
  }

  /** Waits until the audit record of this call is written; throws (the change is not made) when it cannot be. */
  audited(): Promise<void> {
    return this.audit.ensureWritten();
  }

  /** Records a side effect a dry run skips. */
  record(action: string): void {
    this.recorder?.actions.push(action);
  }

  private log(info: CallInfo, allowed: boolean, reason?: string): void {
    this.audit.append({
      plugin: this.plugin,
      tier: this.tier,
      capability: info.capability,
      op: info.op,
      target: info.target,
      args: info.args,
      allowed,
      reason,
      dryRun: this.dryRun,
    });
  }

  /**
   * Runs one call: limiter slot, then `fn` (which checks grants and does the work). The call is
   * audited as allowed once `fn` passes its checks (it calls `allow()`), or as denied.
   */
  async call<T>(info: CallInfo, fn: (allow: () => void) => Promise<T>): Promise<T> {
    try {
      this.limiter.admit(`${info.capability}.${info.op} ${info.target}`);
    } catch (e) {
      this.log(info, false, 'too many calls in flight');
      throw e;
    }
    return this.limiter.run(`${info.capability}.${info.op}`, async () => {
      let audited = false;
      const allow = () => {
        if (!audited) this.log(info, true);
        audited = true;
      };
      try {
        return await fn(allow);
      } catch (e) {
        if (e instanceof DenySignal) {
          const err = explainDenial({
            ...e.denial,
            plugin: this.plugin,
            grants: this.effective,
            requested: this.request?.grants,
            manifest: this.request?.manifest,
            readOnly: this.request?.readOnly,
          });
          if (!audited) this.log(info, false, e.denial.reason ?? 'not granted');
          throw err;
        }
        if (!audited) this.log(info, false, isCxError(e) ? e.code : messageOf(e));
        throw e;
      }
    });
  }
}
