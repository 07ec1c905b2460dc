/**
 * The ctx methods a sandboxed plugin may call, as the kernel runs them: each takes the plain JSON
 * arguments the isolate sent and calls the SAME method on the PluginContext the kernel built for
 * this call, so grants, audit and dry-run are enforced exactly as for the trusted tier.
 */
import { randomBytes } from 'node:crypto';
import type { FsCapability, HeldLock, Json, PluginContext } from '../../sdk/types.js';
import { escapeControl, pluginTerminalText } from '../terminal-text.js';

/** What the kernel knows about the call a host call belongs to. */
export interface HostCallInfo {
  /** Aborted when the plugin's call ends (result, error, deadline, crash): programs it started die. */
  ended: AbortSignal;
}

type HostMethod = (ctx: PluginContext, a: any[], call: HostCallInfo) => unknown;

const execOptions = (o: unknown, call: HostCallInfo) => ({
  ...(o && typeof o === 'object' && !Array.isArray(o) ? o : {}),
  signal: call.ended,
});

/** Bytes cross the boundary as `{ b64: '…' }` (JSON has no bytes). */
const toB64 = (b: Uint8Array) => ({ b64: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') });
function fromB64(v: unknown): Uint8Array {
  if (!v || typeof v !== 'object' || typeof (v as { b64?: unknown }).b64 !== 'string')
    throw Object.assign(new Error('bytes must be a Uint8Array'), { code: 'CX_ERR_SANDBOX_LIMIT' });
  const b = Buffer.from((v as { b64: string }).b64, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
const textOrBytes = (v: unknown) => (typeof v === 'string' ? v : fromB64(v));

/** The fs methods of one view (`fs` or `localFs`), as host methods. */
function fsMethods(view: 'fs' | 'localFs'): Record<string, HostMethod> {
  const f = (c: PluginContext): FsCapability => c[view];
  return {
    [`${view}.readFile`]: (c, a) => f(c).readFile(a[0], a[1] ?? {}),
    [`${view}.readSmallFiles`]: (c, a) => f(c).readSmallFiles(a[0], a[1] ?? {}),
    [`${view}.readBytes`]: async (c, a) => toB64(await f(c).readBytes(a[0], a[1] ?? {})),
    [`${view}.readDir`]: (c, a) => f(c).readDir(a[0]),
    [`${view}.stat`]: (c, a) => f(c).stat(a[0]),
    [`${view}.lstat`]: (c, a) => f(c).lstat(a[0]),
    [`${view}.statfs`]: (c, a) => f(c).statfs(a[0]),
    [`${view}.statfsMany`]: (c, a) => f(c).statfsMany(a[0]),
    [`${view}.readlink`]: (c, a) => f(c).readlink(a[0]),
    [`${view}.writeFile`]: (c, a) => f(c).writeFile(a[0], a[1], a[2] ?? {}),
    [`${view}.writeBytes`]: (c, a) => f(c).writeBytes(a[0], fromB64(a[1]), a[2] ?? {}),
    [`${view}.appendFile`]: (c, a) => f(c).appendFile(a[0], textOrBytes(a[1]), a[2] ?? {}),
    [`${view}.symlink`]: (c, a) => f(c).symlink(a[0], a[1]),
    [`${view}.copy`]: (c, a) => f(c).copy(a[0], a[1], a[2] ?? {}),
    [`${view}.mkdir`]: (c, a) => f(c).mkdir(a[0], a[1] ?? {}),
    [`${view}.remove`]: (c, a) => f(c).remove(a[0], a[1] ?? {}),
    [`${view}.rename`]: (c, a) => f(c).rename(a[0], a[1], a[2] ?? {}),
    [`${view}.link`]: (c, a) => f(c).link(a[0], a[1], a[2] ?? {}),
    [`${view}.fsync`]: (c, a) => f(c).fsync(a[0]),
    [`${view}.hash`]: (c, a) => f(c).hash(a[0]),
    [`${view}.batch`]: (c, a) => f(c).batch(a[0], a[1] ?? {}),
    [`${view}.chmod`]: (c, a) => f(c).chmod(a[0], a[1]),
    [`${view}.chown`]: (c, a) => f(c).chown(a[0], a[1], a[2]),
  };
}

/** Locks a sandboxed plugin holds, by plugin and handle (the isolate only ever sees the handle). */
const heldLocks = new Map<string, HeldLock>();

/** Method name -> how the kernel runs it. Fire-and-forget methods (log, io.out/err) return nothing. */
export const HOST_METHODS: Readonly<Record<string, HostMethod>> = Object.freeze({
  'exec.run': (c, a, call) => c.exec.run(a[0], a[1] ?? [], execOptions(a[2], call)),
  ...fsMethods('fs'),
  ...fsMethods('localFs'),
  'net.tcpConnect': (c, a) => c.net.tcpConnect(a[0], a[1], a[2] ?? {}),
  'net.resolve': (c, a) => c.net.resolve(a[0], a[1] ?? {}),
  'net.http': (c, a) => c.net.http(a[0] ?? {}),
  'net.download': async (c, a) => {
    const d = await c.net.download(a[0], a[1] ?? {});
    return { ...toB64(d.bytes), sha256: d.sha256, size: d.size };
  },
  lock: async (c, a) => {
    const lock = await c.lock(a[0], a[1] ?? {});
    const handle = randomBytes(8).toString('hex');
    heldLocks.set(`${c.plugin}\u0000${handle}`, lock);
    return { name: lock.name, handle };
  },
  'lock.release': async (c, a) => {
    const key = `${c.plugin}\u0000${String(a[0])}`;
    const lock = heldLocks.get(key);
    heldLocks.delete(key);
    await lock?.release();
  },
  'assets.readText': (c, a) => c.assets.readText(a[0]),
  'assets.readBytes': async (c, a) => toB64(await c.assets.readBytes(a[0])),
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
    assetsDir: ctx.assets?.dir ?? '',
  };
}
