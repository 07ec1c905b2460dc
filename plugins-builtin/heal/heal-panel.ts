/**
 * The dashboard's healing panel (kind `dashboard-panel`, refreshed after each checks cycle): open
 * issues, unmonitored components, budgets in use, and the recent actions with their outcome.
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import type { StoredEvent } from '../daemon/history-store.js';
import type { PanelOutput } from '../daemon/job-kind.js';
import { loadHealState } from './heal-store.js';
import type { HealConfig } from './heal-types.js';

type Item = PanelOutput['items'][number];

export async function healPanel(ctx: PluginContext<HealConfig>): Promise<PanelOutput> {
  const st = await loadHealState(ctx);
  const items: Item[] = [];
  if (ctx.config.dry_run || ctx.env.dryRun)
    items.push({
      label: 'mode',
      value: 'development: actions are recorded (cx-ops heal log), not performed',
      status: 'SKIP',
    });
  const comps = Object.entries(st.detector.components);
  for (const [key, c] of comps) {
    const component = key.slice(key.indexOf(':') + 1);
    const b = c.budget;
    if (b?.unmonitored)
      items.push({
        label: `${component} unmonitored`,
        value: `budget exhausted since ${b.unmonitored_at ?? '?'}; left alone until healthy`,
        status: 'FAIL',
      });
    else if (c.open)
      items.push({ label: `${component} open`, value: `${c.value ?? '?'} for ${c.bad} cycle(s)`, status: 'WARN' });
    if (b && !b.unmonitored && b.actions.length)
      items.push({
        label: `${component} budget`,
        value: `${b.actions.length} of ${ctx.config.budget.max_actions} actions in ${ctx.config.budget.within_cycles} cycles${b.failures ? `, ${b.failures} failed in a row` : ''}`,
      });
  }
  if (!items.some((i) => i.status === 'WARN' || i.status === 'FAIL'))
    items.push({ label: 'issues', value: st.last_cycle ? 'none open' : 'no heal cycle yet', status: 'PASS' });
  const got = (await ctx.registry.invoke('history-query', 'events', { since: '24h', limit: 1000 })) as unknown as {
    events: StoredEvent[];
  };
  const recent = got.events.filter((e) => e.plugin === ctx.plugin && e.type.startsWith('heal_')).slice(0, 8);
  for (const e of recent)
    items.push({
      label: `${e.ts.slice(11, 19)} ${e.type.slice(5)}`,
      value: e.message,
      status: e.level === 'error' || e.type === 'heal_unmonitored' ? 'FAIL' : e.level === 'warn' ? 'WARN' : 'PASS',
    });
  return { title: 'Healing', items };
}

export const healPanelContribution = defineContribution<null, PanelOutput>(
  'dashboard-panel',
  'heal',
  { title: 'Healing' },
  (ctx) => healPanel(ctx as PluginContext<HealConfig>),
);
