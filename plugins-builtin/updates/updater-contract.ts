/**
 * The contract of the `updater` contribution kind, owned by the updates plugin (the built-in
 * updater is apt's). A contribution receives one JSON request `{ op, ... }` and answers plain
 * JSON, so it works across the sandbox boundary; `defineUpdater` builds it from one typed
 * function per operation, and `askUpdater` calls one with the answer typed by the request.
 */
import { defineContribution, defineKind, type Availability, type InvokeOptions, type PluginContext } from 'cx-ops/sdk';

/** One pending package update. */
export interface PackageUpdate {
  name: string;
  current: string;
  candidate: string;
  /** Where the candidate comes from, e.g. "Debian-Security:12/stable-security". */
  origin: string;
  security: boolean;
}

/** The installed packages, when the updater can list them. */
export interface InstalledList extends Availability {
  packages: InstalledPackage[];
}

/** An installed package and its version. */
export interface InstalledPackage {
  name: string;
  version: string;
}

export interface UpdateCheck extends Availability {
  updates: PackageUpdate[];
  rebootRequired: boolean;
  /** With refresh: the sources that could not be fetched (the others' lists were used). */
  sourcesFailed?: Array<{ source: string; error: string }>;
  /** Commands the check ran or (dry run) would run to refresh, e.g. `apt-get update`. */
  actions?: string[];
}

/** How an updater is asked to check: read-only by default; `refresh` fetches the package lists first. */
export interface UpdateCheckRequest {
  refresh?: boolean;
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
  /** Read-only unless `request.refresh` (then with the update lock held by the caller). */
  check(ctx: PluginContext<unknown>, request: UpdateCheckRequest): Promise<UpdateCheck>;
  apply(ctx: PluginContext<unknown>, request: UpdateApplyRequest): Promise<UpdateApplyResult>;
  /** The installed packages with their versions (recorded in snapshots). */
  installed(ctx: PluginContext<unknown>): Promise<InstalledList>;
  /** Puts the given versions back where the archive still has them. */
  restore(ctx: PluginContext<unknown>, packages: InstalledPackage[]): Promise<RestoreResult>;
}

export type UpdaterRequest =
  | ({ op: 'check' } & UpdateCheckRequest)
  | ({ op: 'apply' } & UpdateApplyRequest)
  | { op: 'installed' }
  | { op: 'restore'; packages: InstalledPackage[] };

/** What an updater answers to each request. */
export type UpdaterReply<R extends UpdaterRequest> = R extends { op: 'check' }
  ? UpdateCheck
  : R extends { op: 'apply' }
    ? UpdateApplyResult
    : R extends { op: 'installed' }
      ? InstalledList
      : RestoreResult;

/** The `updater` contribution kind (declared by this plugin; apt fills it). */
export const updaterKind = defineKind<UpdaterRequest, UpdateCheck | UpdateApplyResult | InstalledList | RestoreResult>(
  'updater',
  {
    description:
      'A package updater: check, apply, installed, restore (see defineUpdater in plugins-builtin/updates/updater-contract.ts)',
  },
);

/** Declares an updater (contribution kind `updater`). */
export function defineUpdater(def: UpdaterDefinition) {
  return defineContribution(updaterKind, def.id, { name: def.name, description: def.description }, async (ctx, req) => {
    switch (req?.op) {
      case 'check':
        return def.check(ctx, { refresh: req.refresh === true });
      case 'apply':
        return def.apply(ctx, req);
      case 'installed':
        return def.installed(ctx);
      case 'restore':
        return def.restore(ctx, req.packages);
      default:
        throw new Error(
          `updater '${def.id}': unknown op ${JSON.stringify((req as { op?: unknown })?.op)}; expected check, apply, installed or restore`,
        );
    }
  });
}

/** Asks one updater; the answer is typed by the request. */
export async function askUpdater<R extends UpdaterRequest>(
  ctx: PluginContext<unknown>,
  id: string,
  req: R,
  options?: InvokeOptions,
): Promise<UpdaterReply<R>> {
  return (await ctx.registry.invoke(updaterKind, id, req, options)) as UpdaterReply<R>;
}
