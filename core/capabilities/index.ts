/**
 * The host side of exec / fs / net, shared by both tiers. Every call goes through one Guard:
 * per-plugin concurrency cap, grant check (sandboxed tier), audit record (allowed or denied),
 * and dry-run (side effects recorded, not performed; reads still happen).
 */
import type { ExecCapability, FsCapability, NetCapability } from '../../sdk/types.js';
import type { Grants } from '../permissions/grants.js';
import type { AuditLog } from './audit.js';
import { createExec, type ExecFake } from './exec.js';
import { createFs, type FsFake } from './fs.js';
import { Guard, type DryRunRecorder } from './guard.js';
import { CallLimiter } from './limiter.js';
import { createNet, type NetFake } from './net.js';

export type { DryRunRecorder } from './guard.js';
export type { ExecFake } from './exec.js';
export type { FsFake } from './fs.js';
export type { NetFake } from './net.js';

/** Fake capability implementations (the SDK test harness); grants, audit and dry-run still apply first. */
export interface CapabilityFakes {
  exec?: ExecFake;
  fs?: FsFake;
  net?: NetFake;
}

export interface HostCapabilityOptions {
  plugin: string;
  tier: 'trusted' | 'sandboxed';
  /** The effective grants, or 'all' for the trusted tier (no checks; audit and dry-run still apply). */
  grants: Grants | 'all';
  dryRun: boolean;
  audit: AuditLog;
  recorder?: DryRunRecorder;
  /** Calls in flight per plugin (default 16); up to `maxQueued` (default 256) wait, the rest are refused. */
  maxConcurrent?: number;
  maxQueued?: number;
  /** HOME for programs run by exec (the plugin's state directory; default /nonexistent). */
  home?: string;
  fakes?: CapabilityFakes;
}

export interface HostCapabilities {
  exec: ExecCapability;
  fs: FsCapability;
  net: NetCapability;
}

/** Creates the exec / fs / net capabilities of one plugin. */
export function createHostCapabilities(opts: HostCapabilityOptions): HostCapabilities {
  const limiter = new CallLimiter(opts.plugin, opts.maxConcurrent ?? 16, opts.maxQueued ?? 256);
  const guard = new Guard(opts.plugin, opts.tier, opts.grants, opts.dryRun, opts.audit, limiter, opts.recorder);
  return {
    exec: createExec(guard, { home: opts.home ?? '/nonexistent', fake: opts.fakes?.exec }),
    fs: createFs(guard, opts.fakes?.fs),
    net: createNet(guard, opts.fakes?.net),
  };
}
