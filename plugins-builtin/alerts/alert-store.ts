/**
 * The alerts plugin's durable state, in the daemon's history store (kind `history-state`): the
 * rule engine's state as one entry per alert (`alert/<key>`) and per group (`group/<key>`) plus
 * `meta` (the cycle count), silences (`silence/<id>`) and the notification queue (`queue/<id>`).
 * Transitions and deliveries go to the store's event history (`alerts history`).
 *
 * Cost: a cycle writes only the entries that changed (compared with what this process last read
 * or wrote), and reads nothing but `rev` when no other process wrote since: every write sets
 * `rev`, so a process whose last write `rev` still is keeps its state in memory; any other write
 * (`doctor --alert`, `alerts silence`, a second daemon) makes it read everything again.
 *
 * Processes: a read-modify-write runs under the lock `alerts-state` (`locked`), so `doctor
 * --alert` beside the running daemon neither clobbers its state nor is clobbered; inside one
 * process `locked` also runs them one after another. A notification being sent is claimed
 * (`claimed_until`), so two processes never send the same one.
 */
import { randomUUID } from 'node:crypto';
import type { Json, PluginContext } from 'cx-ops/sdk';
import { historyStateKind, type StateInput } from '../daemon/state-kind.js';
import type { EngineState, Notification, Silence } from './alert-types.js';
import { matchersOf } from './label-matchers.js';
import { emptyState } from './rule-engine.js';

/** A notification waiting for (another) delivery attempt. */
export interface QueuedNotification {
  id: string;
  receiver: string;
  notification: Notification;
  attempts: number;
  /** Epoch ms of the next attempt. */
  next_at: number;
  created: number;
  last_error?: string;
  /** A process is sending it until then (epoch ms): others leave it alone. */
  claimed_until?: number;
}

export interface AlertsState {
  engine: EngineState;
  silences: Silence[];
  queue: QueuedNotification[];
}

export type AlertEvent = NonNullable<StateInput['events']>[number];

/** What this process last read or wrote, per data directory. */
interface Cache {
  /** The `rev` entry as text, as this process last saw it. */
  rev: string;
  state: AlertsState;
  /** Each stored entry as JSON text (what a write compares with). */
  written: Map<string, string>;
}
const caches = new Map<string, Cache>();
const REV = 'rev';
const isEngineKey = (k: string) => k === 'engine' || k === 'meta' || k.startsWith('alert/') || k.startsWith('group/');

const call = (ctx: PluginContext<unknown>, input: Omit<StateInput, 'plugin'>) =>
  ctx.registry.invoke(historyStateKind, 'state', { plugin: ctx.plugin, ...input });

const byAge = (a: QueuedNotification, b: QueuedNotification) => a.created - b.created || a.id.localeCompare(b.id);

/** The plugin's state: from memory when no other process wrote since this one did, else read whole. */
export async function loadState(ctx: PluginContext<unknown>): Promise<AlertsState> {
  const dir = ctx.env.dataDir;
  const revOut = await call(ctx, { get: REV });
  const rev = JSON.stringify(revOut.entries.find((e) => e.key === REV)?.value ?? null);
  const cached = caches.get(dir);
  if (cached && cached.rev === rev) return cached.state;
  const out = await call(ctx, { get: '' });
  const state: AlertsState = { engine: emptyState(), silences: [], queue: [] };
  const written = new Map<string, string>();
  for (const e of out.entries) {
    written.set(e.key, JSON.stringify(e.value));
    const v = e.value as unknown;
    // `engine`: the whole engine in one entry, as written before per-alert entries.
    if (e.key === 'engine') state.engine = { ...emptyState(), ...(v as EngineState) };
    else if (e.key === 'meta') state.engine.cycle = (v as { cycle: number }).cycle;
    else if (e.key.startsWith('alert/')) state.engine.alerts[e.key.slice(6)] = v as EngineState['alerts'][string];
    else if (e.key.startsWith('group/')) state.engine.groups[e.key.slice(6)] = v as EngineState['groups'][string];
    else if (e.key.startsWith('silence/')) {
      const s = v as Silence;
      state.silences.push({ ...s, matchers: matchersOf(s.matchers) });
    } else if (e.key.startsWith('queue/')) state.queue.push(v as QueuedNotification);
  }
  state.queue.sort(byAge);
  caches.set(dir, { rev, state, written });
  return state;
}

/** The engine as stored entries. */
function engineEntries(engine: EngineState): Map<string, unknown> {
  const out = new Map<string, unknown>([['meta', { cycle: engine.cycle }]]);
  for (const [k, a] of Object.entries(engine.alerts)) out.set(`alert/${k}`, a);
  for (const [k, g] of Object.entries(engine.groups)) out.set(`group/${k}`, g);
  return out;
}

/**
 * Writes entries (null deletes) and events in one transaction; with `engine` (the state
 * loadState gave), also the engine's entries that changed since they were read or written.
 */
export async function saveState(
  ctx: PluginContext<unknown>,
  put: Array<{ key: string; value: unknown }>,
  events: AlertEvent[] = [],
  engine?: EngineState,
): Promise<void> {
  const cache = caches.get(ctx.env.dataDir);
  const all = [...put];
  if (engine && cache) {
    const now = engineEntries(engine);
    for (const [key, value] of now) if (cache.written.get(key) !== JSON.stringify(value)) all.push({ key, value });
    for (const key of cache.written.keys()) if (isEngineKey(key) && !now.has(key)) all.push({ key, value: null });
  }
  if (!all.length && !events.length) return;
  const rev = { pid: process.pid, id: randomUUID() };
  // Events are history, not state: only a state write moves `rev`.
  if (all.length) all.push({ key: REV, value: rev });
  await call(ctx, { put: all.map((p) => ({ key: p.key, value: (p.value ?? null) as Json })), events });
  if (!cache || !all.length) return;
  for (const p of all) {
    if (p.value === null || p.value === undefined) cache.written.delete(p.key);
    else cache.written.set(p.key, JSON.stringify(p.value));
    if (p.key.startsWith('queue/')) {
      cache.state.queue = cache.state.queue.filter((q) => q.id !== p.key.slice(6));
      if (p.value) cache.state.queue.push(p.value as QueuedNotification);
    } else if (p.key.startsWith('silence/')) {
      cache.state.silences = cache.state.silences.filter((s) => s.id !== p.key.slice(8));
      if (p.value) cache.state.silences.push(p.value as Silence);
    }
  }
  cache.state.queue.sort(byAge);
  cache.rev = JSON.stringify(rev);
}

let chain: Promise<unknown> = Promise.resolve();
/** Runs `fn` after every earlier `serially` call of this process has finished. */
function serially<T>(fn: () => Promise<T>): Promise<T> {
  const run = chain.then(fn, fn);
  chain = run.catch(() => undefined);
  return run;
}

/** Runs a read-modify-write of the state: one at a time in this process, under the lock `alerts-state` across processes. */
export function locked<T>(ctx: PluginContext<unknown>, fn: () => Promise<T>): Promise<T> {
  return serially(async () => {
    const lock = await ctx.lock('alerts-state', { waitMs: 30_000, what: 'alert evaluation' });
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  });
}
