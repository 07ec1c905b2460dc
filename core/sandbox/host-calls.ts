/**
 * The ctx methods a sandboxed plugin may call, as the kernel runs them: each takes the plain JSON
 * arguments the isolate sent and calls the SAME method on the PluginContext the kernel built for
 * this call, so grants, audit and dry-run are enforced exactly as for the trusted tier.
 */
import type { Json, PluginContext } from '../../sdk/types.js';
import { escapeControl, pluginTerminalText } from '../terminal-text.js';

/** What the kernel knows about the call a host call belongs to. */
export interface HostCallInfo {
  /** Aborted when the plugin's call ends (result, error, deadline, crash): programs it started die. */
  ended: AbortSignal;
}

type HostMethod = (ctx: PluginContext, a: any[], call: HostCallInfo) => unknown;


const execOptions = (o: unknown, call: HostCallInfo) => ({ ...(o && typeof o === 'object' && !Array.isArray(o) ? o : {}), signal: call.ended });

/** Method name -> how the kernel runs it. Fire-and-forget methods (log, io.out/err) return nothing. */
export const HOST_METHODS: Readonly<Record<string, HostMethod>> = Object.freeze({
  'exec.run': (c, a, call) => c.exec.run(a[0], a[1] ?? [], execOptions(a[2], call)),
  'fs.readFile': (c, a) => c.fs.readFile(a[0]),
  'fs.readDir': (c, a) => c.fs.readDir(a[0]),
  'fs.stat': (c, a) => c.fs.stat(a[0]),
  'fs.statfs': (c, a) => c.fs.statfs(a[0]),
  'fs.readlink': (c, a) => c.fs.readlink(a[0]),
  'fs.writeFile': (c, a) => c.fs.writeFile(a[0], a[1], a[2] ?? {}),
  'fs.mkdir': (c, a) => c.fs.mkdir(a[0], a[1] ?? {}),
  'fs.remove': (c, a) => c.fs.remove(a[0], a[1] ?? {}),
  'fs.rename': (c, a) => c.fs.rename(a[0], a[1]),
  'fs.chmod': (c, a) => c.fs.chmod(a[0], a[1]),
  'fs.chown': (c, a) => c.fs.chown(a[0], a[1], a[2]),
  'net.tcpConnect': (c, a) => c.net.tcpConnect(a[0], a[1], a[2] ?? {}),
  'net.resolve': (c, a) => c.net.resolve(a[0], a[1] ?? {}),
  'net.http': (c, a) => c.net.http(a[0] ?? {}),
  'registry.list': (c, a) => c.registry.list(a[0]),
  'registry.invoke': (c, a) => c.registry.invoke(a[0], a[1], a[2] ?? null, a[3] ?? {}),
  'registry.callHook': (c, a) => c.registry.callHook(a[0], a[1] ?? null),
  'plugins.list': (c) => c.plugins.list(),
  'plugins.enable': (c, a) => c.plugins.enable(a[0], a[1] ?? {}),
  'plugins.disable': (c, a) => c.plugins.disable(a[0]),
  'log.debug': (c, a) => c.log.debug(String(a[0]), a[1] ?? undefined),
  'log.info': (c, a) => c.log.info(String(a[0]), a[1] ?? undefined),
  'log.warn': (c, a) => c.log.warn(String(a[0]), a[1] ?? undefined),
  'log.error': (c, a) => c.log.error(String(a[0]), a[1] ?? undefined),
  'io.out': (c, a) => c.io.out(pluginTerminalText(c.plugin, a[0])),
  'io.err': (c, a) => c.io.err(pluginTerminalText(c.plugin, a[0])),
  'io.confirm': (c, a) => c.io.confirm(escapeControl(String(a[0]))),
});

/** The data part of a context, copied into the isolate for each call. */
export function contextData(ctx: PluginContext): Json {
  return {
    plugin: ctx.plugin,
    tier: ctx.tier,
    config: ctx.config as Json,
    env: ctx.env as unknown as Json,
    color: Boolean(ctx.io?.color),
    interactive: Boolean(ctx.io?.interactive),
    installDir: ctx.plugins?.installDir ?? '',
  };
}
