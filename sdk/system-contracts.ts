/**
 * Contracts of two contribution kinds that built-in plugins declare and others may fill:
 * `updater` (declared by the `updates` plugin; the built-in one is apt) and `service-manager`
 * (declared by the `services` plugin; systemd and supervisord are built in).
 *
 * A contribution of these kinds receives one JSON request `{ op, ... }` and answers plain JSON,
 * so it works across the sandbox boundary. `defineUpdater` / `defineServiceManager` build the
 * contribution from one typed function per operation.
 */
import type { Contribution, Json, PluginContext } from './types.js';

/** Whether a backend can work on this host; when not, `reason` says why (the caller SKIPs). */
export interface Availability {
  available: boolean;
  reason?: string;
}

/** One pending package update. */
export interface PackageUpdate {
  name: string;
  current: string;
  candidate: string;
  /** Where the candidate comes from, e.g. "Debian-Security:12/stable-security". */
  origin: string;
  security: boolean;
}

/** An installed package and its version. */
export interface InstalledPackage {
  name: string;
  version: string;
}

export interface UpdateCheck extends Availability {
  updates: PackageUpdate[];
  rebootRequired: boolean;
}

export interface UpdateApplyRequest {
  /** Only updates whose origin is a security archive. */
  security?: boolean;
  /** Only these packages (default: every pending update). */
  packages?: string[];
  /** Full distribution upgrade (`update apply --system`) instead of upgrading installed packages. */
  system?: boolean;
}

export interface UpdateApplyResult {
  ok: boolean;
  /** Packages changed, with the version before and after. */
  applied: Array<{ name: string; from: string; to: string }>;
  /** Commands run (or planned in dry run). */
  actions: string[];
  message: string;
}

export interface RestoreResult {
  ok: boolean;
  /** Packages put back at the recorded version. */
  restored: InstalledPackage[];
  /** Recorded versions the archive no longer has (or that failed to install), with why. */
  unavailable: Array<InstalledPackage & { reason: string }>;
  /** Installed now but not recorded (installed since): left as they are, listed for the user. */
  added?: InstalledPackage[];
  actions: string[];
}

/** The operations of an updater. */
export interface UpdaterDefinition {
  id: string;
  name: string;
  description: string;
  check(ctx: PluginContext<any>): Promise<UpdateCheck>;
  apply(ctx: PluginContext<any>, request: UpdateApplyRequest): Promise<UpdateApplyResult>;
  /** The installed packages with their versions (recorded in snapshots). */
  installed(ctx: PluginContext<any>): Promise<Availability & { packages: InstalledPackage[] }>;
  /** Puts the given versions back where the archive still has them. */
  restore(ctx: PluginContext<any>, packages: InstalledPackage[]): Promise<RestoreResult>;
}

export type UpdaterRequest =
  | { op: 'check' }
  | ({ op: 'apply' } & UpdateApplyRequest)
  | { op: 'installed' }
  | { op: 'restore'; packages: InstalledPackage[] };

/** Declares an updater (contribution kind `updater`). */
export function defineUpdater(def: UpdaterDefinition): Contribution<UpdaterRequest, Json> {
  return {
    kind: 'updater',
    id: def.id,
    meta: { name: def.name, description: def.description },
    run: async (ctx, req) => {
      switch (req?.op) {
        case 'check': return (await def.check(ctx)) as unknown as Json;
        case 'apply': return (await def.apply(ctx, req)) as unknown as Json;
        case 'installed': return (await def.installed(ctx)) as unknown as Json;
        case 'restore': return (await def.restore(ctx, req.packages)) as unknown as Json;
        default: throw new Error(`updater '${def.id}': unknown op ${JSON.stringify((req as { op?: unknown })?.op)}; expected check, apply, installed or restore`);
      }
    },
  };
}

/** The seed's service states, as a backend reports them. */
export type ServiceState = 'running' | 'failed' | 'stopped' | 'starting' | 'unknown';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  /** The backend's own words (e.g. supervisord's "Exited too quickly"). */
  detail: string;
  /** Process id when running. */
  pid?: number;
}

/** The operations of a service manager. */
export interface ServiceManagerDefinition {
  id: string;
  name: string;
  description: string;
  /** Whether this manager runs on the host (systemd: `${root}/run/systemd/system` exists). */
  detect(ctx: PluginContext<any>): Promise<Availability>;
  list(ctx: PluginContext<any>): Promise<ServiceStatus[]>;
  status(ctx: PluginContext<any>, name: string): Promise<ServiceStatus>;
  /** Restarts one service; resolves once the manager accepted the request. */
  restart(ctx: PluginContext<any>, name: string): Promise<{ ok: boolean; detail: string }>;
  /** Starts / stops one service (used by `deploy`); optional for a manager. */
  start?(ctx: PluginContext<any>, name: string): Promise<{ ok: boolean; detail: string }>;
  stop?(ctx: PluginContext<any>, name: string): Promise<{ ok: boolean; detail: string }>;
  /** Re-reads service definitions written to disk (supervisorctl reread+update, systemctl daemon-reload). */
  reload?(ctx: PluginContext<any>): Promise<{ ok: boolean; detail: string }>;
}

export type ServiceManagerRequest =
  | { op: 'detect' }
  | { op: 'list' }
  | { op: 'status'; name: string }
  | { op: 'restart'; name: string }
  | { op: 'start'; name: string }
  | { op: 'stop'; name: string }
  | { op: 'reload' };

/** Declares a service manager (contribution kind `service-manager`). */
export function defineServiceManager(def: ServiceManagerDefinition): Contribution<ServiceManagerRequest, Json> {
  return {
    kind: 'service-manager',
    id: def.id,
    meta: { name: def.name, description: def.description },
    run: async (ctx, req) => {
      switch (req?.op) {
        case 'detect': return (await def.detect(ctx)) as unknown as Json;
        case 'list': return (await def.list(ctx)) as unknown as Json;
        case 'status': return (await def.status(ctx, req.name)) as unknown as Json;
        case 'restart': return (await def.restart(ctx, req.name)) as unknown as Json;
        case 'start':
        case 'stop':
        case 'reload': {
          const fn = def[req.op];
          if (!fn) throw new Error(`service manager '${def.id}' does not support ${req.op}`);
          return (await fn(ctx, req.op === 'reload' ? '' : req.name)) as unknown as Json;
        }
        default: throw new Error(`service manager '${def.id}': unknown op ${JSON.stringify((req as { op?: unknown })?.op)}; expected detect, list, status, restart, start, stop or reload`);
      }
    },
  };
}
