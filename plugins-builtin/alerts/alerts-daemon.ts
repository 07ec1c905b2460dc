/**
 * The alerts plugin inside cx-ops daemon: a tap on `daemon_cycle_end` evaluates the rules over
 * each checks cycle (groups due are notified then too) and starts delivery without waiting for it;
 * a tap on `daemon_events` does the same for event rules when an event is recorded; a group
 * due before the job's next tick (group_wait) gets a timer;
 * the `alerts-delivery` job, every 30 s, does the same between cycles (a daemon.interval longer than
 * group_wait, retries coming due) and hands the plugin's events to the daemon's log. One delivery
 * runs at a time in this process.
 */
import { defineContribution, defineTap, type PluginContext } from 'cx-ops/sdk';
import { daemonJobKind } from '../daemon/job-kind.js';
import { defineDaemonMetric, recordMetrics } from '../daemon/metric-kind.js';
import { cycleEndHook, daemonEventsHook } from '../daemon/state-kind.js';
import {
  deliverDue,
  drainEvents,
  evaluate,
  NOTIFICATIONS_METRIC,
  type DeliveryOutcome,
  type EvaluationOutcome,
} from './alerts-runtime.js';

let delivering: Promise<DeliveryOutcome> | undefined;
/** How often the alerts-delivery job runs. */
const DELIVERY_TICK_MS = 30_000;

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

let flushTimer: { at: number; timer: NodeJS.Timeout } | undefined;

/**
 * A group that falls due before the delivery job's next tick (group_wait after an event) is
 * looked at then, not up to 30 s later. The timer never keeps a process alive (unref).
 */
function flushAt(ctx: PluginContext<unknown>, at: number | undefined): void {
  if (at === undefined || at - Date.now() >= DELIVERY_TICK_MS) return;
  if (flushTimer && flushTimer.at <= at) return;
  if (flushTimer) clearTimeout(flushTimer.timer);
  const timer = setTimeout(
    () => {
      flushTimer = undefined;
      void evaluate(ctx, { now: Date.now() })
        .then((out) => deliverSoon(ctx, out))
        .catch((e: unknown) => ctx.log.warn(`alert evaluation failed: ${e instanceof Error ? e.message : String(e)}`));
    },
    Math.max(0, at - Date.now()),
  );
  timer.unref();
  flushTimer = { at, timer };
}

/** Starts delivery when something is due; not awaited: a slow receiver never holds up the cycle. */
function deliverSoon(ctx: PluginContext<unknown>, out: EvaluationOutcome): void {
  flushAt(ctx, out.nextFlush);
  if (!out.notifications.length && !out.due) return;
  void deliverOnce(ctx)
    .then((d) => (d?.samples.length ? recordMetrics(ctx, d.samples) : undefined))
    .catch((e: unknown) => ctx.log.warn(`alert delivery failed: ${e instanceof Error ? e.message : String(e)}`));
}

export const cycleTap = defineTap(cycleEndHook, async (ctx, cycle) => {
  const categories = Object.fromEntries(Object.entries(cycle.checks ?? {}).map(([id, c]) => [id, c.category]));
  deliverSoon(ctx, await evaluate(ctx, { results: cycle.results, categories, now: cycle.ts }));
});

/** Event rules see an event when it is recorded (the alerts plugin's own events are not for them). */
export const eventsTap = defineTap(daemonEventsHook, async (ctx, payload) => {
  const events = payload.events.filter((e) => e.plugin !== ctx.plugin && e.type !== 'plugin_event');
  if (!events.length) return;
  const observed = events.map((e) => ({
    ...e,
    data: e.data && typeof e.data === 'object' && !Array.isArray(e.data) ? e.data : undefined,
  }));
  deliverSoon(ctx, await evaluate(ctx, { events: observed, now: Date.now() }));
});

export const deliveryJob = defineContribution(
  daemonJobKind,
  'alerts-delivery',
  {
    description: 'notifies alert groups that are due and retries failed notifications',
    interval: `${DELIVERY_TICK_MS / 1000}s`,
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
