/**
 * The heal plugin's durable state, in the daemon's history store (kind `history-state`): the
 * detectors' counters and budgets with the last /proc/stat sample (`state`), and the heal log of
 * actions recorded instead of performed (`log/<id>`, the newest MAX_LOG kept). heal-run.ts runs
 * one cycle at a time per process, so its read-modify-write steps do not interleave.
 */
import type { Json, PluginContext } from 'cx-ops/sdk';
import { historyStateKind, type StateInput } from '../daemon/state-kind.js';
import type { CpuTimes } from './host-readings.js';
import type { ActionPlan, Issue } from './heal-types.js';
import { emptyDetectorState, type DetectorState } from './judge.js';

export interface HealState {
  detector: DetectorState;
  cpu: CpuTimes | null;
  totals: { detected: number; resolved: number; failed: number };
  /** Epoch ms of the last cycle. */
  last_cycle: number | null;
}

/** An action recorded instead of performed (development mode, dry_run: true, --dry-run). */
export interface LogRecord {
  id: string;
  ts: string;
  issue: Issue;
  action: string;
  parameters: ActionPlan['parameters'];
  resolver: string;
  /** The exact commands and file changes the action would have made. */
  would_have_done: string[];
  /** Set once `heal replay` performed it. */
  replayed?: { ts: string; ok: boolean; detail: string; done: string[] };
}

export type HealEvent = NonNullable<StateInput['events']>[number];

export const MAX_LOG = 200;

export const emptyHealState = (): HealState => ({
  detector: emptyDetectorState(),
  cpu: null,
  totals: { detected: 0, resolved: 0, failed: 0 },
  last_cycle: null,
});

export async function loadHealState(ctx: PluginContext<unknown>): Promise<HealState> {
  const out = await ctx.registry.invoke(historyStateKind, 'state', { plugin: ctx.plugin, get: 'state' });
  const v = out.entries.find((e) => e.key === 'state')?.value as unknown as Partial<HealState> | undefined;
  return { ...emptyHealState(), ...(v ?? {}) };
}

export async function loadLog(ctx: PluginContext<unknown>): Promise<LogRecord[]> {
  const out = await ctx.registry.invoke(historyStateKind, 'state', { plugin: ctx.plugin, get: 'log/' });
  return out.entries
    .map((e) => e.value as unknown as LogRecord)
    .sort((a, b) => b.ts.localeCompare(a.ts) || b.id.localeCompare(a.id));
}

/** Writes the state (when given), new log records (the oldest beyond MAX_LOG dropped) and events, in one call. */
export async function saveHeal(
  ctx: PluginContext<unknown>,
  o: { state?: HealState; records?: LogRecord[]; events?: HealEvent[] },
): Promise<void> {
  const put: Array<{ key: string; value: Json }> = [];
  if (o.state) put.push({ key: 'state', value: o.state as unknown as Json });
  if (o.records?.length) {
    for (const r of o.records) put.push({ key: `log/${r.id}`, value: r as unknown as Json });
    const old = (await loadLog(ctx)).slice(MAX_LOG - o.records.length);
    for (const r of old) if (!o.records.some((x) => x.id === r.id)) put.push({ key: `log/${r.id}`, value: null });
  }
  if (!put.length && !o.events?.length) return;
  await ctx.registry.invoke(historyStateKind, 'state', { plugin: ctx.plugin, put, events: o.events ?? [] });
}
