/**
 * The alerts plugin at work: rules read from alerts.yaml (the last good set kept when the file
 * turns malformed), one evaluation per checks cycle and per batch of daemon events (observe /
 * observeEvents + dispatch, state in the history store) and the delivery of queued notifications, per receiver, with retries and backoff. A
 * receiver that is slow or down holds up only its own queue: nothing here blocks the cycle, and
 * the receivers are tried side by side.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CxError, messageOf, type CheckResult, type ContributionInfo, type PluginContext } from 'cx-ops/sdk';
import type { MetricSample } from '../daemon/metric-kind.js';
import type { Notification, RuleSet } from './alert-types.js';
import { loadState, locked, saveState, type AlertEvent, type QueuedNotification } from './alert-store.js';
import type { EngineState } from './alert-types.js';
import { alertReceiverKind } from './receiver-kind.js';
import { dispatch, indexRules, mutesAt, observe, type RuleIndex, type Transition } from './rule-engine.js';
import { expireEventAlerts, observeEvents, type ObservedEvent } from './event-rules.js';
import { durationMs, readRules } from './rules-file.js';
import { redact, resolveReceiver } from './secrets.js';

/** The `alerts:` section of config.yaml. */
export interface AlertsConfig {
  file?: string;
  host?: string;
  external_url?: string;
  send_timeout_seconds: number;
  retry: { max_attempts: number; initial_backoff: string; max_backoff: string };
}

export const NOTIFICATIONS_METRIC = 'cx_ops_alert_notifications_total';

/** Events not yet in the daemon's log (the delivery job hands them over: the log is the daemon's). */
const unlogged: AlertEvent[] = [];
const stored = (
  ctx: PluginContext<unknown>,
  put: Array<{ key: string; value: unknown }>,
  events: AlertEvent[],
  engine?: EngineState,
) => {
  unlogged.push(...events);
  unlogged.splice(0, Math.max(0, unlogged.length - 1000));
  return saveState(ctx, put, events, engine);
};

/** Takes the events to log. */
export function drainEvents(): AlertEvent[] {
  return unlogged.splice(0);
}

const cfgOf = (ctx: PluginContext<unknown>) => ctx.config as AlertsConfig;
export const rulesFile = (ctx: PluginContext<unknown>) => cfgOf(ctx).file ?? join(ctx.env.configDir, 'alerts.yaml');
export const hostOf = (ctx: PluginContext<unknown>) => cfgOf(ctx).host ?? hostname();

interface Loaded {
  rules: RuleSet;
  index: RuleIndex;
  mtimeMs: number;
  size: number;
  types: ContributionInfo[];
}
let loaded: Loaded | undefined;
/**
 * The alerts.yaml version (mtime) whose error evaluate() has put in the log: said once per
 * version, by the evaluation (the panel and the delivery job read the rules too, and must not
 * use up the one report).
 */
let reportedError: number | undefined;

export interface CurrentRules {
  file: string;
  rules: RuleSet | null;
  index?: RuleIndex;
  types: ContributionInfo[];
  /** Why the file on disk is not the one in use (the previous good rules are), or why there are none. */
  error?: CxError;
  /** True when `error` is new since the last call (log it once). */
  /** The mtime of the malformed alerts.yaml (with `error`). */
  errorMtime?: number;
}

/** The rules in force: alerts.yaml as it is now, or the last good one when it is malformed. */
export async function currentRules(ctx: PluginContext<unknown>, o: { strict?: boolean } = {}): Promise<CurrentRules> {
  const file = rulesFile(ctx);
  const types = await ctx.registry.list(alertReceiverKind);
  const st = await ctx.localFs.stat(file);
  if (!st) {
    loaded = undefined;
    return { file, rules: null, types };
  }
  if (!o.strict && loaded && loaded.mtimeMs === st.mtimeMs && loaded.size === st.size)
    return { file, rules: loaded.rules, index: loaded.index, types };
  try {
    const checks = new Map((await ctx.registry.list('check')).map((c) => [c.id, String(c.meta.category ?? 'other')]));
    const plugins = (await ctx.plugins.list()).filter((p) => p.status === 'active').map((p) => p.name);
    const rules = (await readRules(ctx.localFs, file, { checks, receiverTypes: types, plugins }))!;
    loaded = { rules, index: indexRules(rules.rules), mtimeMs: st.mtimeMs, size: st.size, types };
    return { file, rules, index: loaded.index, types };
  } catch (e) {
    if (!(e instanceof CxError) || o.strict) throw e;
    return { file, rules: loaded?.rules ?? null, index: loaded?.index, types, error: e, errorMtime: st.mtimeMs };
  }
}

const everyCycle = (rules: RuleSet, types: ContributionInfo[]) =>
  new Set(
    Object.values(rules.receivers)
      .filter((r) => types.find((t) => t.id === r.type)?.meta.delivery === 'every_cycle')
      .map((r) => r.name),
  );

export interface EvaluationOutcome {
  transitions: Transition[];
  notifications: Notification[];
  /** Rules with a firing alert after this evaluation. */
  firingRules: string[];
  /** When the next group falls due (epoch ms; undefined: none waits). */
  nextFlush?: number;
  /** Queued notifications due for a (re)try, new ones included. */
  due: number;
  rulesError?: CxError;
}

/**
 * One evaluation: a cycle's results (or none: only the groups due by now are looked at) applied to
 * the stored state; the notifications due are queued.
 */
export async function evaluate(
  ctx: PluginContext<unknown>,
  input: {
    results?: CheckResult[];
    categories?: Record<string, string>;
    /** Daemon events (event rules). */
    events?: ObservedEvent[];
    now: number;
    flushAll?: boolean;
  },
): Promise<EvaluationOutcome> {
  const cur = await currentRules(ctx);
  const events: AlertEvent[] = [];
  if (!cur.error) reportedError = undefined;
  else if (cur.errorMtime !== reportedError) {
    reportedError = cur.errorMtime;
    events.push({
      level: 'error',
      type: 'alerts_rules_invalid',
      message: `${cur.error.message}${cur.rules ? '\nThe previous rules stay in force.' : ''}`,
    });
  }
  if (!cur.rules) {
    await stored(ctx, [], events);
    return { transitions: [], notifications: [], firingRules: [], due: 0, rulesError: cur.error };
  }
  const rules = cur.rules;
  return locked(ctx, async () => {
    const st = await loadState(ctx);
    const host = hostOf(ctx);
    const transitions = [
      ...(input.results
        ? observe(st.engine, {
            rules,
            index: cur.index!,
            results: input.results,
            categories: input.categories ?? {},
            host,
            now: input.now,
          })
        : []),
      ...(input.events?.length
        ? observeEvents(st.engine, { index: cur.index!, events: input.events, host, now: input.now })
        : []),
      ...expireEventAlerts(st.engine, input.now),
    ];
    const ungrouped = everyCycle(rules, cur.types);
    const notifications = dispatch(st.engine, rules, mutesAt(st.engine, st.silences, rules.inhibit, input.now), {
      now: input.now,
      host,
      externalUrl: cfgOf(ctx).external_url ?? '',
      ungrouped,
      cycle: Boolean(input.results || input.events?.length),
      flushAll: input.flushAll,
    });
    const put: Array<{ key: string; value: unknown }> = [];
    for (const n of notifications) {
      // An every-cycle receiver (Alertmanager) needs only the newest state of each alert (one being sent stays).
      const stale = ungrouped.has(n.receiver)
        ? st.queue.filter((q) => q.receiver === n.receiver && !((q.claimed_until ?? 0) > input.now))
        : [];
      const merged = new Map(stale.flatMap((q) => q.notification.alerts).map((a) => [a.fingerprint, a]));
      for (const a of n.alerts) merged.set(a.fingerprint, a);
      for (const q of stale) put.push({ key: `queue/${q.id}`, value: null });
      const id = `${String(input.now).padStart(15, '0')}-${randomUUID().slice(0, 8)}`;
      const entry: QueuedNotification = {
        id,
        receiver: n.receiver,
        notification: { ...n, alerts: [...merged.values()] },
        attempts: 0,
        next_at: input.now,
        created: input.now,
      };
      put.push({ key: `queue/${id}`, value: entry });
    }
    for (const t of transitions)
      events.push({
        level: t.type === 'alert_firing' || t.type === 'alert_flapping' ? 'warn' : 'info',
        type: t.type,
        message: `${t.rule} (${t.check}): ${t.type.slice(6)}: ${t.message}`,
        data: { rule: t.rule, check: t.check, fingerprint: t.fingerprint },
      });
    await stored(ctx, put, events, st.engine);
    const firingRules = Object.values(st.engine.alerts)
      .filter((a) => a.state === 'firing')
      .map((a) => a.rule);
    const due = notifications.length + st.queue.filter((q) => q.next_at <= input.now).length;
    const flushes = Object.values(st.engine.groups).map((g) => g.next_flush);
    return {
      transitions,
      notifications,
      firingRules,
      due,
      ...(flushes.length ? { nextFlush: Math.min(...flushes) } : {}),
      ...(cur.error ? { rulesError: cur.error } : {}),
    };
  });
}

export interface DeliveryOutcome {
  samples: MetricSample[];
  sent: number;
  failed: number;
  dropped: number;
}

const backoffMs = (cfg: AlertsConfig, attempts: number) =>
  Math.min(durationMs(cfg.retry.max_backoff), durationMs(cfg.retry.initial_backoff) * 2 ** Math.max(0, attempts - 1));

/** Sends one notification through its receiver (secrets resolved); never throws. */
export async function sendOne(
  ctx: PluginContext<unknown>,
  rules: RuleSet,
  types: ContributionInfo[],
  n: Notification,
): Promise<{ ok: boolean; detail: string; status?: number }> {
  const r = rules.receivers[n.receiver];
  if (!r) return { ok: false, detail: `receiver '${n.receiver}' is no longer in ${rules.file}` };
  const type = types.find((t) => t.id === r.type);
  if (!type) return { ok: false, detail: `receiver type '${r.type}' is no longer registered` };
  const secretNames = Array.isArray(type.meta.secrets) ? type.meta.secrets.map(String) : [];
  const resolved = await resolveReceiver(ctx.localFs, r, secretNames, process.env);
  if (resolved.broken) return { ok: false, detail: `receiver '${r.name}' is broken: ${resolved.broken}` };
  try {
    const out = await ctx.registry.invoke(
      alertReceiverKind,
      r.type,
      { receiver: r.name, settings: resolved.settings, notification: n },
      { timeoutMs: cfgOf(ctx).send_timeout_seconds * 1000 },
    );
    const ok = Boolean(out && out.ok === true);
    const detail = redact(String(out?.detail ?? (ok ? 'delivered' : 'the receiver said it failed')), resolved.secrets);
    return { ok, detail, ...(typeof out?.status === 'number' ? { status: out.status } : {}) };
  } catch (e) {
    return { ok: false, detail: redact(messageOf(e), resolved.secrets) };
  }
}

/** Delivers the queued notifications that are due: receivers side by side, each one's queue in order. */
export async function deliverDue(ctx: PluginContext<unknown>, now: number): Promise<DeliveryOutcome> {
  const cur = await currentRules(ctx);
  const cfg = cfgOf(ctx);
  const outcome: DeliveryOutcome = { samples: [], sent: 0, failed: 0, dropped: 0 };
  if (!cur.rules) return outcome;
  const rules = cur.rules;
  // Claimed while this process sends them: another process (doctor --alert, the daemon) leaves them be.
  const claimMs = cfg.send_timeout_seconds * 1000 + 30_000;
  const due = await locked(ctx, async () => {
    const mine = (await loadState(ctx)).queue.filter((q) => q.next_at <= now && !((q.claimed_until ?? 0) > now));
    if (mine.length)
      await saveState(
        ctx,
        mine.map((q, i) => ({ key: `queue/${q.id}`, value: { ...q, claimed_until: now + claimMs * (i + 1) } })),
      );
    return mine;
  });
  const byReceiver = new Map<string, QueuedNotification[]>();
  for (const q of due) byReceiver.set(q.receiver, [...(byReceiver.get(q.receiver) ?? []), q]);
  const put: Array<{ key: string; value: unknown }> = [];
  const events: AlertEvent[] = [];
  const count = (receiver: string, outcomeName: string) =>
    outcome.samples.push({ metric: NOTIFICATIONS_METRIC, labels: { receiver, outcome: outcomeName }, inc: 1 });
  await Promise.all(
    [...byReceiver].map(async ([receiver, queue]) => {
      for (const q of queue) {
        const r = await sendOne(ctx, rules, cur.types, q.notification);
        const what = `${q.notification.status} notification of ${q.notification.alerts.length} alert(s) (${q.notification.group_key})`;
        if (r.ok) {
          outcome.sent++;
          count(receiver, 'sent');
          put.push({ key: `queue/${q.id}`, value: null });
          events.push({
            level: 'info',
            type: 'notification_sent',
            message: `${receiver}: sent the ${what}`,
            data: {
              receiver,
              status: q.notification.status,
              alerts: q.notification.alerts.map((a) => a.labels.alertname ?? ''),
            },
          });
          continue;
        }
        const attempts = q.attempts + 1;
        if (attempts >= cfg.retry.max_attempts) {
          outcome.dropped++;
          count(receiver, 'dropped');
          put.push({ key: `queue/${q.id}`, value: null });
          events.push({
            level: 'error',
            type: 'notification_dropped',
            message: `${receiver}: gave up on the ${what} after ${attempts} attempts: ${r.detail}`,
            data: { receiver, attempts },
          });
        } else {
          outcome.failed++;
          count(receiver, 'failed');
          const next = now + backoffMs(cfg, attempts);
          put.push({ key: `queue/${q.id}`, value: { ...q, attempts, next_at: next, last_error: r.detail } });
          events.push({
            level: 'warn',
            type: 'notification_failed',
            message: `${receiver}: the ${what} failed (attempt ${attempts} of ${cfg.retry.max_attempts}, next in ${Math.round((next - now) / 1000)}s): ${r.detail}`,
            data: { receiver, attempts },
          });
        }
        // The rest of this receiver's queue waits behind the failed one (order kept); other receivers go on.
        for (const rest of queue.slice(queue.indexOf(q) + 1))
          put.push({
            key: `queue/${rest.id}`,
            value: { ...rest, next_at: Math.max(rest.next_at, now + backoffMs(cfg, attempts)) },
          });
        break;
      }
    }),
  );
  await locked(ctx, async () => {
    // Only entries still queued are written back (an every-cycle receiver's may have been merged meanwhile).
    const queued = new Set((await loadState(ctx)).queue.map((q) => q.id));
    await stored(
      ctx,
      put.filter((p) => p.value === null || queued.has(p.key.slice(6))),
      events,
    );
  });
  return outcome;
}
