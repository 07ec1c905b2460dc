/**
 * `cx-ops alerts list | test | silence | unsilence | silences | history`: the rules and their
 * state, a test notification through a rule's receivers, silences (kept in the history store, so
 * the running daemon sees them at its next evaluation) and the alert history. Every command takes
 * --json; an error under --json is the kernel's JSON error object.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import {
  closest,
  CxError,
  defineCommand,
  type CommandDefinition,
  type CommandInput,
  type PluginContext,
} from 'cx-ops/sdk';
import type { StoredEvent } from '../daemon/history-store.js';
import type { AlertRule, RuleSet, Silence } from './alert-types.js';
import { loadState, locked, saveState } from './alert-store.js';
import { currentRules, hostOf, sendOne } from './alerts-runtime.js';
import { alertsErrors } from './errors.js';
import { matcherText, parseMatcher, type LabelMatcher } from './label-matchers.js';
import { fingerprint, mutesAt, notificationOf } from './rule-engine.js';
import { durationMs } from './rules-file.js';
import { resolveReceiver } from './secrets.js';

const JSON_OPTION = { flags: '--json', description: 'print the result (or the error) as JSON' };
const out = (ctx: PluginContext<unknown>, v: unknown) => ctx.io.out(`${JSON.stringify(v, null, 2)}\n`);
const iso = (ms: number) => new Date(ms).toISOString();
const usage = (detail: string, hint: string) => new CxError('CX_ERR_USAGE', { detail, hint, plugin: 'alerts' });

/** The rules as they are on disk now (a mistake in them is the command's error). */
async function rulesNow(ctx: PluginContext<unknown>): Promise<RuleSet> {
  const cur = await currentRules(ctx, { strict: true });
  if (!cur.rules) throw alertsErrors.CX_ERR_ALERTS_MISSING({ file: cur.file });
  return cur.rules;
}

function ruleNamed(rules: RuleSet, name: string): AlertRule {
  const r = rules.rules.find((x) => x.name === name);
  if (!r)
    throw alertsErrors.CX_ERR_ALERT_UNKNOWN({
      what: 'alert rule',
      name,
      file: rules.file,
      suggestions: closest(
        name,
        rules.rules.map((x) => x.name),
      ),
    });
  return r;
}

async function list(ctx: PluginContext<unknown>, input: CommandInput): Promise<number> {
  const cur = await currentRules(ctx, { strict: true });
  if (!cur.rules) throw alertsErrors.CX_ERR_ALERTS_MISSING({ file: cur.file });
  const rules = cur.rules;
  const st = await loadState(ctx);
  const now = Date.now();
  const mutes = mutesAt(st.engine, st.silences, rules.inhibit, now);
  const receivers = await Promise.all(
    Object.values(rules.receivers).map(async (r) => {
      const type = cur.types.find((t) => t.id === r.type);
      const secrets = Array.isArray(type?.meta.secrets) ? type.meta.secrets.map(String) : [];
      const res = await resolveReceiver(ctx.localFs, r, secrets, process.env);
      return {
        name: r.name,
        type: r.type,
        plugin: type?.plugin ?? null,
        broken: res.broken ?? null,
        queued: st.queue.filter((q) => q.receiver === r.name).length,
      };
    }),
  );
  const alerts = Object.values(st.engine.alerts).map((a) => ({
    rule: a.rule,
    check: a.check,
    state: a.state,
    flapping: a.flapping,
    fingerprint: a.fingerprint,
    labels: a.labels,
    starts_at: iso(a.starts_at),
    ends_at: a.ends_at === null ? null : iso(a.ends_at),
    message: a.message,
    silenced_by: mutes.silencedBy(a)?.id ?? null,
    inhibited_by: mutes.inhibitedBy(a)?.rule ?? null,
  }));
  const body = {
    file: rules.file,
    host: hostOf(ctx),
    rules: rules.rules.map((r) => ({
      name: r.name,
      checks: r.checks ?? null,
      category: r.category ?? null,
      status: r.statuses,
      for: r.for,
      receivers: r.receivers,
      firing: alerts.filter((a) => a.rule === r.name && a.state === 'firing').length,
      pending: alerts.filter((a) => a.rule === r.name && a.state === 'pending').length,
    })),
    receivers,
    receiver_types: cur.types.map((t) => ({
      type: t.id,
      plugin: t.plugin,
      tier: t.tier,
      description: t.meta.description,
    })),
    alerts,
  };
  if (input.options.json) return (out(ctx, body), 0);
  ctx.io.out(`rules (${rules.file}):\n`);
  for (const r of body.rules)
    ctx.io.out(
      `  ${r.name.padEnd(24)} ${(r.checks?.join(',') ?? (r.category ? `category ${r.category}` : 'any check')).padEnd(24)} -> ${r.receivers.join(', ')}${r.firing ? `  FIRING ${r.firing}` : ''}${r.pending ? `  pending ${r.pending}` : ''}\n`,
    );
  ctx.io.out('receivers:\n');
  for (const r of receivers)
    ctx.io.out(
      `  ${r.name.padEnd(24)} ${r.type.padEnd(14)} ${r.broken ? `BROKEN: ${r.broken}` : 'ok'}${r.queued ? `  (${r.queued} queued)` : ''}\n`,
    );
  const live = alerts.filter((a) => a.state !== 'resolved');
  ctx.io.out(live.length ? 'alerts:\n' : 'alerts: none firing\n');
  for (const a of live)
    ctx.io.out(
      `  ${a.state.toUpperCase().padEnd(8)} ${a.rule} (${a.check}) since ${a.starts_at}${a.flapping ? ' flapping' : ''}${a.silenced_by ? ` silenced (${a.silenced_by})` : ''}${a.inhibited_by ? ` inhibited by ${a.inhibited_by}` : ''}: ${a.message}\n`,
    );
  return 0;
}

async function test(ctx: PluginContext<unknown>, input: CommandInput): Promise<number> {
  const rules = await rulesNow(ctx);
  const rule = ruleNamed(rules, String(input.args.name));
  const only = typeof input.options.receiver === 'string' ? input.options.receiver : undefined;
  if (only && !rules.receivers[only])
    throw alertsErrors.CX_ERR_ALERT_UNKNOWN({
      what: 'receiver',
      name: only,
      file: rules.file,
      suggestions: closest(only, Object.keys(rules.receivers)),
    });
  const host = hostOf(ctx);
  const check = rule.checks?.[0] ?? 'test';
  const labels = { alertname: rule.name, check, host, ...rule.labels };
  const now = Date.now();
  const alert = {
    status: 'firing' as const,
    fingerprint: fingerprint(labels),
    labels,
    annotations: {
      summary: `[TEST] ${rule.name}: a test notification from cx-ops on ${host}`,
      description: `sent by cx-ops alerts test ${rule.name}; nothing is wrong`,
      ...(rule.runbook ? { runbook_url: rule.runbook } : {}),
    },
    starts_at: iso(now),
    ends_at: null,
    check,
    check_status: 'FAIL' as const,
    message: 'test notification',
    value: '',
    flapping: false,
  };
  const cur = await currentRules(ctx);
  const results = [];
  for (const receiver of only ? [only] : rule.receivers) {
    const n = { ...notificationOf(receiver, `${receiver}:{test}`, {}, [alert], { host, externalUrl: '' }), test: true };
    const r = await sendOne(ctx, rules, cur.types, n);
    results.push({ receiver, type: rules.receivers[receiver]!.type, ok: r.ok, detail: r.detail });
  }
  await saveState(
    ctx,
    [],
    results.map((r) => ({
      level: r.ok ? 'info' : 'warn',
      type: 'notification_test',
      message: `${r.receiver}: test notification for ${rule.name} ${r.ok ? 'sent' : `failed: ${r.detail}`}`,
      data: { receiver: r.receiver, ok: r.ok },
    })),
  );
  if (input.options.json) out(ctx, { rule: rule.name, results });
  else for (const r of results) ctx.io.out(`${r.ok ? 'sent  ' : 'FAILED'} ${r.receiver} (${r.type}): ${r.detail}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

async function silence(ctx: PluginContext<unknown>, input: CommandInput): Promise<number> {
  const rules = await rulesNow(ctx);
  const rule = input.args.name == null ? undefined : ruleNamed(rules, String(input.args.name));
  const texts = Array.isArray(input.options.match) ? input.options.match.map(String) : [];
  const matchers: LabelMatcher[] = [
    ...(rule ? [{ name: 'alertname', op: '=' as const, value: rule.name }] : []),
    ...(typeof input.options.check === 'string'
      ? [{ name: 'check', op: '=' as const, value: input.options.check }]
      : []),
  ];
  for (const t of texts) {
    const m = parseMatcher(t);
    if (typeof m === 'string') throw usage(m, `cx-ops alerts silence --match 'task=backup' --for 2h --comment 'why'`);
    matchers.push(m);
  }
  const what = rule?.name ?? (texts.map((t) => `--match '${t}'`).join(' ') || 'NAME');
  if (!matchers.length)
    throw usage(
      'a silence needs an alert rule name or at least one --match label matcher',
      `cx-ops alerts silence disk-critical --for 2h --comment 'disk swap', or: cx-ops alerts silence --match 'host=~"web.*"' --for 2h --comment 'maintenance'`,
    );
  const forText = typeof input.options.for === 'string' ? input.options.for : '';
  const ms = durationMs(forText);
  if (!forText || !Number.isFinite(ms) || ms <= 0)
    throw usage(
      `--for ${forText || '(missing)'} is not a duration`,
      `cx-ops alerts silence ${what} --for 2h --comment 'maintenance'`,
    );
  const comment = typeof input.options.comment === 'string' ? input.options.comment.trim() : '';
  if (!comment)
    throw usage(
      'a silence needs --comment saying why',
      `cx-ops alerts silence ${what} --for ${forText} --comment 'disk swap'`,
    );
  const now = Date.now();
  const s: Silence = {
    id: randomUUID().slice(0, 8),
    matchers,
    starts_at: now,
    ends_at: now + ms,
    comment,
    created_by: safeUser(),
  };
  const shown = matchers.map(matcherText).join(',');
  await locked(ctx, () =>
    saveState(
      ctx,
      [{ key: `silence/${s.id}`, value: s }],
      [
        {
          level: 'info',
          type: 'silence_added',
          message: `silence ${s.id} of {${shown}} until ${iso(s.ends_at)}: ${comment}`,
          data: { id: s.id },
        },
      ],
    ),
  );
  if (input.options.json) out(ctx, silenceView(s, now));
  else
    ctx.io.out(
      `silenced {${shown}} until ${iso(s.ends_at)} (silence ${s.id}); undo with: cx-ops alerts unsilence ${s.id}\n`,
    );
  return 0;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

const silenceView = (s: Silence, now: number) => ({
  id: s.id,
  matchers: s.matchers,
  starts_at: iso(s.starts_at),
  ends_at: iso(s.ends_at),
  comment: s.comment,
  created_by: s.created_by,
  active: s.starts_at <= now && now < s.ends_at,
});

async function unsilence(ctx: PluginContext<unknown>, input: CommandInput): Promise<number> {
  const what = String(input.args.id);
  const now = Date.now();
  const st = await loadState(ctx);
  const live = st.silences.filter((s) => s.ends_at > now);
  const ruleOf = (s: Silence) => s.matchers.find((m) => m.name === 'alertname' && m.op === '=')?.value;
  const hit = live.filter((s) => s.id === what || ruleOf(s) === what);
  if (!hit.length)
    throw alertsErrors.CX_ERR_ALERT_UNKNOWN({
      what: 'active silence (id or alert name)',
      name: what,
      file: 'the history store',
      suggestions: closest(what, [...live.map((s) => s.id), ...live.map((s) => ruleOf(s) ?? '')]),
    });
  const ended = hit.map((s) => ({ ...s, ends_at: now }));
  await locked(ctx, () =>
    saveState(
      ctx,
      ended.map((s) => ({ key: `silence/${s.id}`, value: s })),
      ended.map((s) => ({
        level: 'info' as const,
        type: 'silence_expired',
        message: `silence ${s.id} ({${s.matchers.map(matcherText).join(',')}}) ended by hand`,
        data: { id: s.id },
      })),
    ),
  );
  if (input.options.json) out(ctx, { ended: ended.map((s) => silenceView(s, now)) });
  else for (const s of ended) ctx.io.out(`ended silence ${s.id} ({${s.matchers.map(matcherText).join(',')}})\n`);
  return 0;
}

async function silences(ctx: PluginContext<unknown>, input: CommandInput): Promise<number> {
  const now = Date.now();
  const all = (await loadState(ctx)).silences
    .filter((s) => input.options.all || s.ends_at > now)
    .sort((a, b) => a.ends_at - b.ends_at);
  if (input.options.json) return (out(ctx, { silences: all.map((s) => silenceView(s, now)) }), 0);
  if (!all.length) ctx.io.out('no active silences\n');
  for (const s of all)
    ctx.io.out(
      `${s.id}  ${s.matchers.map(matcherText).join(',').padEnd(30)} until ${iso(s.ends_at)}${s.ends_at <= now ? ' (expired)' : ''}  ${s.created_by}: ${s.comment}\n`,
    );
  return 0;
}

async function history(ctx: PluginContext<unknown>, input: CommandInput): Promise<number> {
  const since = typeof input.options.since === 'string' ? input.options.since : '24h';
  const ms = durationMs(since);
  if (!Number.isFinite(ms)) throw usage(`--since ${since} is not a duration`, 'cx-ops alerts history --since 24h');
  const got = (await ctx.registry.invoke('history-query', 'events', { since, limit: 1000 })) as unknown as {
    events: StoredEvent[];
  };
  const events = got.events.filter((e) => e.plugin === ctx.plugin).reverse();
  if (input.options.json) return (out(ctx, { since, events }), 0);
  if (!events.length) ctx.io.out(`nothing in the last ${since}\n`);
  for (const e of events) ctx.io.out(`${e.ts}  ${e.type.padEnd(20)} ${e.message}\n`);
  return 0;
}

const command = (def: CommandDefinition<unknown>) => defineCommand(def);

export const alertsCommands = [
  command({
    name: 'alerts list',
    description: 'List the alert rules of alerts.yaml, their receivers (broken ones with why) and the alerts firing',
    options: [JSON_OPTION],
    help: 'Rules come from <config-dir>/alerts.yaml (or alerts.file); the format is schemas/alerts.schema.json.',
    run: list,
  }),
  command({
    name: 'alerts test',
    description: "Send a test notification through an alert rule's receivers",
    arguments: [{ name: 'name', description: 'the alert rule', required: true }],
    options: [{ flags: '--receiver <name>', description: 'only this receiver' }, JSON_OPTION],
    help: 'Exit 1 when a receiver did not take it (its error is shown, secrets taken out).',
    run: test,
  }),
  command({
    name: 'alerts silence',
    description:
      'Silence alerts for a while (an alert rule, and/or label matchers): they are not notified until the silence ends',
    arguments: [{ name: 'name', description: 'the alert rule (optional with --match)', required: false }],
    options: [
      { flags: '--for <duration>', description: 'how long: 30m, 2h, 1d' },
      { flags: '--comment <text>', description: 'why (shown in cx-ops alerts silences)' },
      { flags: '--check <id>', description: "only this rule's alert on this check" },
      {
        flags: '--match <matcher...>',
        description:
          "label matchers, all must hold (Alertmanager's): name=value, name!=value, name=~regex, name!~regex",
      },
      JSON_OPTION,
    ],
    help: 'Examples: cx-ops alerts silence disk-critical --for 2h --comment "disk swap"\n  cx-ops alerts silence --match task=backup --match \'host=~"web.*"\' --for 1d --comment "backup server moves"\nRegexes are anchored at both ends; an absent label is empty (team="" matches alerts without one).\nThe running daemon honours it at its next evaluation; end it early with cx-ops alerts unsilence.',
    run: silence,
  }),
  command({
    name: 'alerts unsilence',
    description: 'End silences early, by silence id or alert rule name',
    arguments: [
      { name: 'id', description: 'a silence id (cx-ops alerts silences) or an alert rule name', required: true },
    ],
    options: [JSON_OPTION],
    run: unsilence,
  }),
  command({
    name: 'alerts silences',
    description: 'List the active silences',
    options: [{ flags: '--all', description: 'expired ones too' }, JSON_OPTION],
    run: silences,
  }),
  command({
    name: 'alerts history',
    description: 'Show what the alerts did: alerts firing and resolved, notifications sent and failed, silences',
    options: [{ flags: '--since <duration>', description: 'how far back (default 24h)' }, JSON_OPTION],
    help: 'From the daemon history store (<data-dir>/history.db).',
    run: history,
  }),
];
