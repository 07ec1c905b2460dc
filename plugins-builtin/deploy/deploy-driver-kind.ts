/**
 * The `deploy-driver` contribution kind: what "deploy this service" means. A driver detects
 * whether it can work here, deploys one service from its manifest entry (saying what was there
 * before, so the change can be reverted), reverts it, reports its state, and says whether a
 * run-once service has completed (and how). Built in:
 * supervisord (a program), systemd (a generated unit) and command (start/stop/status commands).
 */
import { defineContribution, type Availability, type Contribution, type Json, type PluginContext } from 'cx-ops/sdk';
import type { ServiceSpec } from './manifest-types.js';
import {
  askServiceManager,
  type ServiceManagerReply,
  type ServiceManagerRequest,
} from '../services/service-manager-contract.js';

export const DEPLOY_DRIVER_KIND = 'deploy-driver';

/** One service as a driver receives it. */
export type DriverTarget = { service: string; spec: ServiceSpec; manifest_file: string };

/** What a deploy did. */
export type DeployOutcome = { ok: boolean; changed: boolean; detail: string; actions: string[] };

export type RevertOutcome = { ok: boolean; detail: string; actions: string[] };

export type DriverStatus = {
  state: 'running' | 'stopped' | 'failed' | 'starting' | 'unknown' | 'absent';
  detail: string;
};

/** Whether a run-once service has run to its end (what `service_completed_successfully` waits for). */
export type Completion = { done: boolean; exit_code: number | null; detail: string };

export type DriverRequest =
  | { op: 'detect' }
  | ({ op: 'capture' } & DriverTarget)
  | ({ op: 'deploy' } & DriverTarget)
  | ({ op: 'revert'; before: Json } & DriverTarget)
  | ({ op: 'status' } & DriverTarget)
  | ({ op: 'completion' } & DriverTarget);

export type DriverDefinition<Config = unknown> = {
  id: string;
  description: string;
  detect(ctx: PluginContext<Config>): Promise<Availability>;
  /** The driver's record of what is there now (null: nothing), journaled before deploy so a revert can put it back. */
  capture(ctx: PluginContext<Config>, t: DriverTarget): Promise<Json>;
  deploy(ctx: PluginContext<Config>, t: DriverTarget): Promise<DeployOutcome>;
  revert(ctx: PluginContext<Config>, t: DriverTarget, before: Json): Promise<RevertOutcome>;
  status(ctx: PluginContext<Config>, t: DriverTarget): Promise<DriverStatus>;
  /** After a deploy: whether the service ran to its end, and its exit code (null: unknown). */
  completion(ctx: PluginContext<Config>, t: DriverTarget): Promise<Completion>;
};

/** Declares a deploy driver. */
export function defineDeployDriver<Config = unknown>(def: DriverDefinition<Config>): Contribution<DriverRequest, Json> {
  return defineContribution<DriverRequest, Json>(
    DEPLOY_DRIVER_KIND,
    def.id,
    { description: def.description },
    async (anyCtx, req) => {
      // The kernel hands each contribution its own plugin's context, so its config is the plugin's.
      const ctx = anyCtx as PluginContext<Config>;
      switch (req.op) {
        case 'detect': {
          const a = await def.detect(ctx);
          return { available: a.available, ...(a.reason ? { reason: a.reason } : {}) };
        }
        case 'capture':
          return await def.capture(ctx, req);
        case 'deploy':
          return await def.deploy(ctx, req);
        case 'revert':
          return await def.revert(ctx, req, req.before);
        case 'status':
          return await def.status(ctx, req);
        case 'completion':
          return await def.completion(ctx, req);
        default:
          throw new Error(
            `deploy driver '${def.id}': unknown op; expected detect, capture, deploy, revert, status or completion`,
          );
      }
    },
  );
}

/** Asks a service manager of the services plugin (the one way deploy reaches systemd and supervisord). */
export function serviceManager<R extends ServiceManagerRequest>(
  ctx: PluginContext<unknown>,
  id: string,
  request: R,
): Promise<ServiceManagerReply<R>> {
  // A contribution invoked from a dry run must run dry too: the registry does not pass it on.
  return askServiceManager(ctx, id, request, { dryRun: ctx.env.dryRun });
}

/** The environment a service gets: the manifest's, plus where it lives. */
export function serviceEnvironment(t: DriverTarget): Record<string, string> {
  return {
    CX_DEPLOY_SERVICE: t.service,
    CX_DEPLOY_IP: t.spec.ip,
    CX_DEPLOY_HOSTNAME: t.spec.hostname,
    ...Object.fromEntries(Object.entries(t.spec.environment ?? {}).map(([k, v]) => [k, String(v)])),
  };
}
