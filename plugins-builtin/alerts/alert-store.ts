/**
 * The alerts plugin's durable state, in the daemon's history store (kind `history-state`): the
 * rule engine's state (`engine`), silences (`silence/<id>`) and the notification queue
 * (`queue/<id>`). Transitions and deliveries go to the store's event history (`alerts history`).
 * One process serializes its read-modify-write steps through `serially`.
 */
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
}

export interface AlertsState {
  engine: EngineState;
  silences: Silence[];
  queue: QueuedNotification[];
}

export type AlertEvent = NonNullable<StateInput['events']>[number];

/** Reads every entry of the plugin's state. */
export async function loadState(ctx: PluginContext<unknown>): Promise<AlertsState> {
  const out = await ctx.registry.invoke(historyStateKind, 'state', { plugin: ctx.plugin, get: '' });
  const state: AlertsState = { engine: emptyState(), silences: [], queue: [] };
  for (const e of out.entries) {
    if (e.key === 'engine') state.engine = e.value as unknown as EngineState;
    else if (e.key.startsWith('silence/')) {
      const s = e.value as unknown as Silence;
      state.silences.push({ ...s, matchers: matchersOf(s.matchers) });
    } else if (e.key.startsWith('queue/')) state.queue.push(e.value as unknown as QueuedNotification);
  }
  state.queue.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
  return state;
}

/** Writes entries (null deletes) and events in one transaction. */
export async function saveState(
  ctx: PluginContext<unknown>,
  put: Array<{ key: string; value: unknown }>,
  events: AlertEvent[] = [],
): Promise<void> {
  if (!put.length && !events.length) return;
  await ctx.registry.invoke(historyStateKind, 'state', {
    plugin: ctx.plugin,
    put: put.map((p) => ({ key: p.key, value: (p.value ?? null) as Json })),
    events,
  });
}

let chain: Promise<unknown> = Promise.resolve();
/** Runs `fn` after every earlier `serially` call of this process has finished. */
export function serially<T>(fn: () => Promise<T>): Promise<T> {
  const run = chain.then(fn, fn);
  chain = run.catch(() => undefined);
  return run;
}
