/**
 * The alerts plugin inside cx-ops daemon: a tap on `daemon_cycle_end` evaluates the rules over
 * each checks cycle (groups due are notified then too) and starts delivery without waiting for it;
 * the `alerts-delivery` job, every 30 s, does the same between cycles (a daemon.interval longer than
 * group_wait, retries coming due) and hands the plugin's events to the daemon's log. One delivery
 * runs at a time in this process.
 */
import { defineContribution, defineTap, type PluginContext } from 'cx-ops/sdk';
import { daemonJobKind } from '../daemon/job-kind.js';
import { defineDaemonMetric, recordMetrics } from '../daemon/metric-kind.js';
import { cycleEndHook } from '../daemon/state-kind.js';
import { deliverDue, drainEvents, evaluate, NOTIFICATIONS_METRIC, type DeliveryOutcome } from './alerts-runtime.js';

let delivering: Promise<DeliveryOutcome> | undefined;

/** Delivers what is due; resolves undefined when a delivery already runs (it has the outcome). */
export async function deliverOnce(ctx: PluginContext<unknown>): Promise<DeliveryOutcome | undefined> {
  if (delivering) {
    await delivering.catch(() => undefined);
    return undefined;
  }
  delivering = deliverDue(ctx, Date.now());
  try {
    return await delivering;
  } finally {
    delivering = undefined;
  }
}

export const cycleTap = defineTap(cycleEndHook, async (ctx, cycle) => {
  const categories = Object.fromEntries(Object.entries(cycle.checks ?? {}).map(([id, c]) => [id, c.category]));
  const out = await evaluate(ctx, { results: cycle.results, categories, now: cycle.ts });
  if (out.notifications.length || out.due)
    // Not awaited: a slow receiver never holds up the cycle.
    void deliverOnce(ctx)
      .then((d) => (d?.samples.length ? recordMetrics(ctx, d.samples) : undefined))
      .catch((e: unknown) => ctx.log.warn(`alert delivery failed: ${e instanceof Error ? e.message : String(e)}`));
});

export const deliveryJob = defineContribution(
  daemonJobKind,
  'alerts-delivery',
  {
    description: 'notifies alert groups that are due and retries failed notifications',
    interval: '30s',
    deadline_seconds: 300,
  },
  async (ctx) => {
    await evaluate(ctx, { now: Date.now() });
    const d = await deliverOnce(ctx);
    const events = drainEvents().map((e) => ({
      level: e.level,
      message: e.message,
      ...(e.data ? { data: e.data } : {}),
    }));
    return { metrics: d?.samples ?? [], events };
  },
);

export const notificationsMetric = defineDaemonMetric(NOTIFICATIONS_METRIC, {
  type: 'counter',
  help: 'Alert notifications by receiver and outcome (sent, failed: will be retried, dropped: given up)',
  labels: ['receiver', 'outcome'],
});
