/**
 * The dashboard's alerts panel (kind `dashboard-panel`, refreshed by the daemon after each cycle):
 * what fires (flapping, silenced or inhibited said so), the active silences, broken receivers,
 * a malformed alerts.yaml, and the last notifications with their outcome. Texts are the ones the
 * plugin stores, with the secrets already taken out.
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import type { StoredEvent } from '../daemon/history-store.js';
import type { PanelOutput } from '../daemon/job-kind.js';
import { loadState } from './alert-store.js';
import { currentRules } from './alerts-runtime.js';
import { matcherText } from './label-matchers.js';
import { mutesAt } from './rule-engine.js';
import { resolveReceiver } from './secrets.js';

type Item = PanelOutput['items'][number];
const hhmm = (ms: number) => `${new Date(ms).toISOString().slice(11, 16)} UTC`;

export async function alertsPanel(ctx: PluginContext<unknown>): Promise<PanelOutput> {
  const cur = await currentRules(ctx);
  const items: Item[] = [];
  if (cur.error) items.push({ label: 'alerts.yaml', value: cur.error.message.split('\n')[0]!, status: 'ERROR' });
  if (!cur.rules) {
    if (!cur.error) items.push({ label: 'rules', value: 'none (no alerts.yaml)', status: 'SKIP' });
    return { title: 'Alerts', items };
  }
  const st = await loadState(ctx);
  const now = Date.now();
  const mutes = mutesAt(st.engine, st.silences, cur.rules.inhibit, now);
  const live = Object.values(st.engine.alerts).filter((a) => a.state === 'firing' || a.state === 'pending');
  for (const a of live.sort((x, y) => x.starts_at - y.starts_at)) {
    const silenced = mutes.silencedBy(a);
    const inhibited = mutes.inhibitedBy(a);
    const how = silenced
      ? `silenced until ${hhmm(silenced.ends_at)}`
      : inhibited
        ? `inhibited by ${inhibited.rule}`
        : a.state === 'pending'
          ? 'pending'
          : `firing since ${hhmm(a.starts_at)}${a.flapping ? ', flapping' : ''}`;
    items.push({
      label: `${a.rule} (${a.check})`,
      value: `${how}: ${a.message}`,
      status: silenced || inhibited ? 'SKIP' : a.state === 'pending' || a.flapping ? 'WARN' : 'FAIL',
    });
  }
  if (!live.length) items.push({ label: 'firing', value: 'none', status: 'PASS' });
  for (const s of st.silences.filter((x) => x.starts_at <= now && now < x.ends_at))
    items.push({
      label: `silence ${s.id}`,
      value: `${s.matchers.map(matcherText).join(',')} until ${hhmm(s.ends_at)}: ${s.comment}`,
    });
  for (const r of Object.values(cur.rules.receivers)) {
    const type = cur.types.find((t) => t.id === r.type);
    const res = await resolveReceiver(
      ctx.localFs,
      r,
      Array.isArray(type?.meta.secrets) ? type.meta.secrets.map(String) : [],
      process.env,
    );
    if (res.broken) items.push({ label: `receiver ${r.name}`, value: `broken: ${res.broken}`, status: 'ERROR' });
    const queued = st.queue.filter((q) => q.receiver === r.name && q.attempts > 0).length;
    if (queued)
      items.push({
        label: `receiver ${r.name}`,
        value: `${queued} notification(s) waiting for a retry`,
        status: 'WARN',
      });
  }
  const got = (await ctx.registry.invoke('history-query', 'events', { since: '24h', limit: 1000 })) as unknown as {
    events: StoredEvent[];
  };
  const sends = got.events.filter((e) => e.plugin === ctx.plugin && e.type.startsWith('notification_')).slice(0, 5);
  for (const e of sends)
    items.push({
      label: `${e.ts.slice(11, 19)} ${e.type.slice(13)}`,
      value: e.message,
      status: e.type === 'notification_sent' ? 'PASS' : e.type === 'notification_dropped' ? 'FAIL' : 'WARN',
    });
  return { title: 'Alerts', items };
}

export const alertsPanelContribution = defineContribution<null, PanelOutput>(
  'dashboard-panel',
  'alerts',
  { title: 'Alerts' },
  (ctx) => alertsPanel(ctx),
);
