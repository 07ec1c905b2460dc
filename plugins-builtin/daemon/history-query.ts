/**
 * The history store as other plugins reach it: the `history-query` contributions `results` and
 * `events` (kind declared by this plugin). Inside a running daemon they read its open store;
 * elsewhere they open the database in the data directory for the one call.
 */
import { join } from 'node:path';
import { defineContribution, type Json, type PluginContext } from 'cx-ops/sdk';
import { parseDuration } from './duration.js';
import { HistoryStore, type StoredEvent, type StoredResult } from './history-store.js';

let active: HistoryStore | undefined;

/** Set by the running daemon (undefined when it stops). */
export function setActiveHistory(store: HistoryStore | undefined): void {
  active = store;
}

/** The daemon's open store, or the one in the data directory opened for `fn` (undefined when none exists and `create` is off). */
export async function withHistory<T>(
  ctx: PluginContext<unknown>,
  fn: (h: HistoryStore) => T,
  create = false,
): Promise<T | undefined> {
  if (active) return fn(active);
  const file = join(ctx.env.dataDir, 'history.db');
  if (!create && !(await ctx.localFs.stat(file))) return undefined;
  const { store } = await HistoryStore.open(file, ctx.localFs);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

interface Query {
  check?: string;
  since?: string;
  limit?: number;
}

const queryOf = (input: Json): Query =>
  input && typeof input === 'object' && !Array.isArray(input)
    ? {
        check: typeof input.check === 'string' ? input.check : undefined,
        since: typeof input.since === 'string' ? input.since : undefined,
        limit: typeof input.limit === 'number' ? input.limit : undefined,
      }
    : {};
const sinceMs = (q: Query) => (q.since ? Date.now() - (parseDuration(q.since) ?? 0) : undefined);

export const historyResults = defineContribution<Json, { results: StoredResult[] }>(
  'history-query',
  'results',
  { description: 'stored check results, newest first: input { check?, since? ("1h"), limit? }' },
  async (ctx, input: Json) => {
    const q = queryOf(input);
    const rows = await withHistory(ctx, (h) =>
      h.results({ check: q.check, since: sinceMs(q), limit: Math.min(q.limit ?? 500, 5000) }),
    );
    return { results: rows ?? [] };
  },
);

export const historyEvents = defineContribution<Json, { events: StoredEvent[] }>(
  'history-query',
  'events',
  { description: 'daemon events, newest first: input { since? ("1h"), limit? }' },
  async (ctx, input: Json) => {
    const q = queryOf(input);
    const rows = await withHistory(ctx, (h) => h.events({ since: sinceMs(q), limit: Math.min(q.limit ?? 200, 1000) }));
    return { events: rows ?? [] };
  },
);
