/**
 * The host side of exec / fs / localFs / net / lock / assets, shared by both tiers. Every call goes through one Guard:
 * per-plugin concurrency cap, grant check (sandboxed tier), audit record (allowed or denied),
 * and dry-run (side effects recorded, not performed; reads still happen).
 */
import { realpathSync } from 'node:fs';
import type {
  AssetsCapability,
  ExecCapability,
  FsCapability,
  HeldLock,
  LockOptions,
  NetCapability,
} from '../../sdk/types.js';
import type { Grants } from '../permissions/grants.js';
import type { AuditLog } from './audit.js';
import { createExec, type ExecFake } from './exec.js';
import { createAssets } from './assets.js';
import { createFs, type FsFake } from './fs.js';
import { DirCache } from './fs-open.js';
import { WriteQuota, type WriteQuotaLimits } from './quota.js';
import { createLock } from './lock.js';
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
  /** --root: ctx.fs resolves host paths under it (default '/'). */
  root?: string;
  /** The plugin's own directories (state, cache): a sandboxed plugin may always read and write them. */
  ownDirs?: string[];
  /** Where ctx.lock keeps its lock files (<dataDir>/locks). */
  lockDir?: string;
  /** The plugin's directory (ctx.assets). */
  pluginDir?: string;
  /** What the plugin's manifest requests, and its file: named when a denial is beyond it. */
  request?: { grants: Grants; manifest?: string; readOnly?: boolean };
  /** Permission bits a sandboxed plugin may set (default 0o777: never setuid, setgid or sticky). */
  modeMask?: number;
  /** What a sandboxed plugin may add to disk in this run (config.yaml plugins.sandbox; the trusted tier is not counted). */
  writeQuota?: WriteQuotaLimits;
  fakes?: CapabilityFakes;
}

export interface HostCapabilities {
  /**
   * The same capabilities as a dry run recording into `recorder` (paths already resolved, so a
   * dry-run invocation costs no path resolution; its own limiter and recorder as before).
   */
  dryRun(recorder?: DryRunRecorder): HostCapabilities;
  exec: ExecCapability;
  fs: FsCapability;
  localFs: FsCapability;
  net: NetCapability;
  lock: (name: string, options?: LockOptions) => Promise<HeldLock>;
  assets: AssetsCapability;
}

/** The real path of `p`, or of its deepest existing ancestor plus the rest (grants compare real paths). */
function realish(p: string): string {
  const rest: string[] = [];
  let at = p.replace(/\/+$/, '') || '/';
  for (;;) {
    try {
      const real = realpathSync(at);
      return [real === '/' ? '' : real, ...rest].join('/') || '/';
    } catch {
      if (at === '/' || at === '') return p;
      rest.unshift(at.slice(at.lastIndexOf('/') + 1));
      at = at.slice(0, at.lastIndexOf('/')) || '/';
    }
  }
}

/** Creates the exec / fs / net capabilities of one plugin. */
export function createHostCapabilities(opts: HostCapabilityOptions): HostCapabilities {
  return build(opts, {
    root: opts.root && opts.root !== '/' ? realish(opts.root) : '/',
    ownDirs: (opts.ownDirs ?? []).map(realish),
    dirs: new DirCache(),
    quota: opts.tier === 'sandboxed' && opts.writeQuota ? new WriteQuota(opts.plugin, opts.writeQuota) : undefined,
  });
}

function build(
  opts: HostCapabilityOptions,
  real: { root: string; ownDirs: string[]; dirs: DirCache; quota?: WriteQuota },
): HostCapabilities {
  const limiter = new CallLimiter(opts.plugin, opts.maxConcurrent ?? 16, opts.maxQueued ?? 256);
  const guard = new Guard(
    opts.plugin,
    opts.tier,
    opts.grants,
    opts.dryRun,
    opts.audit,
    limiter,
    opts.recorder,
    opts.request,
  );
  const scope = {
    guard,
    root: real.root,
    ownDirs: real.ownDirs,
    dirs: real.dirs,
    quota: real.quota,
    modeMask: (opts.modeMask ?? 0o777) & 0o777,
    fake: opts.fakes?.fs,
  };
  return {
    dryRun: (recorder) => build({ ...opts, dryRun: true, recorder }, real),
    exec: createExec(guard, { home: opts.home ?? '/nonexistent', fake: opts.fakes?.exec }),
    fs: createFs({ ...scope, view: 'host' }),
    localFs: createFs({ ...scope, view: 'local' }),
    net: createNet(guard, opts.fakes?.net),
    lock: createLock(guard, opts.lockDir ?? '/nonexistent/locks'),
    assets: createAssets(guard, opts.pluginDir ?? ''),
  };
}
