/**
 * Plugins' durable state in the one history store, and the hook fired after each checks cycle:
 *
 * - `history-state` (id `state`): a trusted plugin reads and writes its own keyed JSON entries
 *   (`plugin_state` table) and appends events to the event history in one call. A daemon restart
 *   keeps them (the alerts plugin keeps what is firing, its silences and its notification queue here).
 * - `daemon_cycle_end`: fired (series) by the daemon after each checks cycle with its results,
 *   so a plugin can act on every cycle (the alerts plugin evaluates its rules there).
 * - `daemon_events`: fired (series) when plugins' events are recorded — a daemon job's or
 *   service's events, or events written through `history-state` (in whichever process writes
 *   them) — so a plugin acts on an event when it happens (the alerts plugin's event rules).
 */
import { defineContribution, defineHook, defineKind, type CheckResult, type Json } from 'cx-ops/sdk';
import { withHistory } from './history-query.js';

export interface StateInput {
  /** Whose entries (the calling plugin's name). */
  plugin: string;
  /** Entries whose key starts with this are returned (after `put` is applied). */
  get?: string;
  /** Entries to set (value) or delete (null). */
  put?: Array<{ key: string; value: Json }>;
  /** Events to append to the event history. */
  events?: Array<{ level: 'info' | 'warn' | 'error'; type: string; message: string; data?: Json }>;
}

export interface StateOutput {
  entries: Array<{ key: string; ts: number; value: Json }>;
  /** False when there is no history store (no daemon ran here yet and nothing was written). */
  stored: boolean;
}

/** Kind `history-state`: the daemon's one contribution `state` reads and writes plugins' state entries. */
export const historyStateKind = defineKind<StateInput, StateOutput>('history-state', {
  description:
    "Plugins' durable state in the daemon history store: id state, input { plugin, get?: prefix, put?: [{ key, value | null }], events? }",
});

/** What `daemon_cycle_end` carries. */
export interface CycleEnd {
  cycle: number;
  /** Epoch milliseconds at the end of the cycle. */
  ts: number;
  results: CheckResult[];
  checks: Record<string, { category: string; severity: string; plugin: string }>;
}

/** Fired by the daemon after each checks cycle. */
export const cycleEndHook = defineHook<CycleEnd>('daemon_cycle_end', {
  type: 'series',
  description: "After each checks cycle of cx-ops daemon: { cycle, ts, results, checks } (the alerts plugin's rules)",
});

/** One recorded event, as `daemon_events` carries it. */
export interface RecordedEvent {
  /** Epoch milliseconds. */
  ts: number;
  level: 'info' | 'warn' | 'error';
  /** `<plugin>_<what>` (heal_unmonitored), or plugin_event. */
  type: string;
  plugin: string | null;
  message: string;
  data?: Json;
}

/** Fired after plugins' events are recorded: { events }. */
export const daemonEventsHook = defineHook<{ events: RecordedEvent[] }>('daemon_events', {
  type: 'series',
  description:
    "After plugins' events are recorded (daemon jobs and services, history-state writes): { events: [{ ts, level, type, plugin, message, data? }] } (the alerts plugin's event rules)",
});

export const historyState = defineContribution(
  historyStateKind,
  'state',
  {
    description: "a plugin's state entries: input { plugin, get?: key prefix, put?: [{ key, value | null }], events? }",
  },
  async (ctx, input) => {
    const now = Date.now();
    const write = Boolean(input.put?.length || input.events?.length);
    if (write) await ctx.localFs.mkdir(ctx.env.dataDir);
    const out = await withHistory(
      ctx,
      (h) => {
        if (input.put?.length) h.putState(input.plugin, now, input.put);
        for (const e of input.events ?? [])
          h.addEvent(now, { level: e.level, type: e.type, plugin: input.plugin, message: e.message, data: e.data });
        return input.get !== undefined ? h.state(input.plugin, input.get) : [];
      },
      write,
    );
    if (input.events?.length) {
      const fired = await ctx.registry.callHook(daemonEventsHook, {
        events: input.events.map((e) => ({ ts: now, plugin: input.plugin, ...e })),
      });
      for (const e of fired.errors) ctx.log.warn(e.message, { code: e.code, plugin: e.plugin ?? null });
    }
    return { entries: (out ?? []) as StateOutput['entries'], stored: out !== undefined };
  },
);
