/**
 * The contract of the `service-manager` contribution kind, owned by the services plugin
 * (systemd and supervisord are built in). A contribution receives one JSON request
 * `{ op, ... }` and answers plain JSON; `defineServiceManager` builds it from one typed function
 * per operation, and `askServiceManager` calls one with the answer typed by the request.
 */
import { defineContribution, defineKind, type Availability, type InvokeOptions, type PluginContext } from 'cx-ops/sdk';

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
export interface ServiceManagerDefinition<Config = unknown> {
  id: string;
  name: string;
  description: string;
  /** Whether this manager runs on the host (systemd: `${root}/run/systemd/system` exists). */
  detect(ctx: PluginContext<Config>): Promise<Availability>;
  list(ctx: PluginContext<Config>): Promise<ServiceStatus[]>;
  status(ctx: PluginContext<Config>, name: string): Promise<ServiceStatus>;
  /** Restarts one service; resolves once the manager accepted the request. */
  restart(ctx: PluginContext<Config>, name: string): Promise<RestartResult>;
  /** Starts / stops one service (used by `deploy`); optional for a manager. */
  start?(ctx: PluginContext<Config>, name: string): Promise<RestartResult>;
  stop?(ctx: PluginContext<Config>, name: string): Promise<RestartResult>;
  /** Makes one service re-read its configuration (systemctl reload, SIGHUP through supervisorctl); optional. */
  reloadService?(ctx: PluginContext<Config>, name: string): Promise<RestartResult>;
  /** Re-reads service definitions written to disk (supervisorctl reread+update, systemctl daemon-reload). */
  reload?(ctx: PluginContext<Config>): Promise<RestartResult>;
}

export type ServiceManagerRequest =
  | { op: 'detect' }
  | { op: 'list' }
  | { op: 'status'; name: string }
  | { op: 'restart'; name: string }
  | { op: 'start'; name: string }
  | { op: 'stop'; name: string }
  | { op: 'reload_service'; name: string }
  | { op: 'reload' };

/** What a service manager answers to each request. */
export type ServiceManagerReply<R extends ServiceManagerRequest> = R extends { op: 'detect' }
  ? Availability
  : R extends { op: 'list' }
    ? ServiceStatus[]
    : R extends { op: 'status' }
      ? ServiceStatus
      : RestartResult;

/** The answer to a restart request. */
export interface RestartResult {
  ok: boolean;
  detail: string;
}

/** The `service-manager` contribution kind (declared by this plugin; systemd and supervisord are built in). */
export const serviceManagerKind = defineKind<
  ServiceManagerRequest,
  Availability | ServiceStatus[] | ServiceStatus | RestartResult
>('service-manager', {
  description:
    'A service manager: detect, list, status, restart (see defineServiceManager in plugins-builtin/services/service-manager-contract.ts)',
});

/** Declares a service manager (contribution kind `service-manager`). */
export function defineServiceManager<Config = unknown>(def: ServiceManagerDefinition<Config>) {
  return defineContribution(
    serviceManagerKind,
    def.id,
    { name: def.name, description: def.description },
    async (anyCtx, req) => {
      // The kernel hands each contribution its own plugin's context, so its config is the plugin's.
      const ctx = anyCtx as PluginContext<Config>;
      switch (req?.op) {
        case 'detect':
          return def.detect(ctx);
        case 'list':
          return def.list(ctx);
        case 'status':
          return def.status(ctx, req.name);
        case 'restart':
          return def.restart(ctx, req.name);
        case 'start':
        case 'stop': {
          const fn = def[req.op];
          if (!fn) throw new Error(`service manager '${def.id}' does not support ${req.op}`);
          return fn(ctx, req.name);
        }
        case 'reload_service': {
          if (!def.reloadService) throw new Error(`service manager '${def.id}' does not support reloading a service`);
          return def.reloadService(ctx, req.name);
        }
        case 'reload': {
          if (!def.reload) throw new Error(`service manager '${def.id}' does not support reload`);
          return def.reload(ctx);
        }
        default:
          throw new Error(
            `service manager '${def.id}': unknown op ${JSON.stringify((req as { op?: unknown })?.op)}; expected detect, list, status, restart, start, stop, reload_service or reload`,
          );
      }
    },
  );
}

/** Asks one service manager; the answer is typed by the request. */
export async function askServiceManager<R extends ServiceManagerRequest>(
  ctx: PluginContext<unknown>,
  id: string,
  req: R,
  options?: InvokeOptions,
): Promise<ServiceManagerReply<R>> {
  return (await ctx.registry.invoke(serviceManagerKind, id, req, options)) as ServiceManagerReply<R>;
}
