// Alerts benchmark (imported by test/bench/run.js as `alerts`; runnable alone: node test/bench/alerts.bench.js).
// Rule evaluation: 1,000 rules over 100 check results per cycle (observe + mutes + dispatch, the
// engine's whole cycle), beside a baseline in the same run: a bare loop matching every rule against
// every result by check id and status. Fan-out: 100 alerts firing in one cycle, 3 receivers,
// group_by [team] over 10 teams: the notifications each receiver gets.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const dist = (p) => new URL(`../../dist/${p}`, import.meta.url).href;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const hr = () => Number(process.hrtime.bigint()) / 1e6;

const CHECKS = Array.from({ length: 100 }, (_, i) => `check_${String(i).padStart(3, '0')}`);
const CATEGORIES = ['disk', 'memory', 'performance', 'packages', 'services', 'network', 'system', 'security'];
const categoryOf = (id) => CATEGORIES[Number(id.slice(6)) % CATEGORIES.length];
const TYPES = [{ kind: 'alert-receiver', id: 'webhook', plugin: 'alerts', tier: 'trusted', meta: {} }];

function rulesYaml(n, o = {}) {
  const lines = ['receivers:', "  a: { type: webhook, url: 'http://127.0.0.1:1/a' }"];
  if (o.receivers > 1)
    lines.push(
      "  b: { type: webhook, url: 'http://127.0.0.1:1/b' }",
      "  c: { type: webhook, url: 'http://127.0.0.1:1/c' }",
    );
  lines.push(`route: { group_by: [${o.groupBy ?? 'alertname'}], group_wait: 0s }`, 'alerts:');
  const acts = o.receivers > 1 ? '[{ receiver: a }, { receiver: b }, { receiver: c }]' : '[{ receiver: a }]';
  for (let i = 0; i < n; i++) {
    const sel = o.oneEach
      ? `check: ${CHECKS[i % 100]}`
      : i % 10 === 9
        ? `category: ${CATEGORIES[i % CATEGORIES.length]}`
        : i % 10 >= 7
          ? `checks: [${CHECKS[i % 100]}, ${CHECKS[(i * 7) % 100]}, ${CHECKS[(i * 13) % 100]}]`
          : `check: ${CHECKS[i % 100]}`;
    lines.push(
      `  - { name: rule-${i}, ${sel}, for: ${o.oneEach ? 1 : 1 + (i % 3)}, labels: { team: t${i % 10} }, actions: ${acts} }`,
    );
  }
  return lines.join('\n');
}

const results = (cycle, failShare) =>
  CHECKS.map((check_id, i) => ({
    check_id,
    name: check_id,
    // A tenth fails; every 7th cycle a few flip (changes, not only a steady state).
    status: (i * 37 + (cycle % 7 === 0 ? cycle : 0)) % 100 < failShare ? 'FAIL' : 'PASS',
    message: `${check_id} at ${cycle}`,
    details: { percent: i },
    fix_id: null,
    duration_ms: 1,
  }));

export async function benchAlerts() {
  const { parseRules } = await import(dist('plugins-builtin/alerts/rules-file.js'));
  const { observe, dispatch, mutesAt, indexRules, emptyState } = await import(
    dist('plugins-builtin/alerts/rule-engine.js')
  );
  const checks = new Map(CHECKS.map((c) => [c, categoryOf(c)]));
  const categories = Object.fromEntries(checks);
  // The webhook's settings schema, as the real receiver declares it.
  const { webhookReceiver } = await import(dist('plugins-builtin/alerts/receivers/webhook.js'));
  TYPES[0].meta = webhookReceiver.meta;

  const rules = parseRules(rulesYaml(1000), '/etc/cx/alerts.yaml', { checks, receiverTypes: TYPES });
  const index = indexRules(rules.rules);
  const state = emptyState();
  let now = Date.UTC(2026, 0, 1);
  const cycle = (c) => {
    now += 60_000;
    observe(state, { rules, index, results: results(c, 10), categories, host: 'web1', now });
    return dispatch(state, rules, mutesAt(state, [], rules.inhibit, now), {
      now,
      host: 'web1',
      externalUrl: '',
      ungrouped: new Set(),
      cycle: true,
    });
  };
  for (let c = 0; c < 50; c++) cycle(c); // warm up (JIT, state)
  const evals = [];
  for (let c = 50; c < 550; c++) {
    const t = hr();
    cycle(c);
    evals.push(hr() - t);
  }
  const firing = Object.values(state.alerts).filter((a) => a.state === 'firing').length;
  const stateBytes = JSON.stringify(state).length;
  const ser = [];
  for (let i = 0; i < 50; i++) {
    const t = hr();
    JSON.parse(JSON.stringify(state));
    ser.push(hr() - t);
  }

  // The same cycles with the store write (alert-store.ts): only changed entries go out, here into
  // an in-memory history-state that counts what it is handed.
  const { loadState, saveState } = await import(dist('plugins-builtin/alerts/alert-store.js'));
  let writtenBytes = 0;
  let writtenEntries = 0;
  const rows = new Map();
  const storeCtx = {
    plugin: 'alerts',
    env: { dataDir: '/bench' },
    registry: {
      invoke: async (_k, _id, input) => {
        for (const p of input.put ?? []) {
          const text = JSON.stringify(p.value);
          writtenBytes += text.length;
          writtenEntries++;
          if (p.value === null) rows.delete(p.key);
          else rows.set(p.key, text);
        }
        const entries =
          input.get === undefined
            ? []
            : [...rows]
                .filter(([k]) => k.startsWith(input.get))
                .map(([key, v]) => ({ key, ts: 0, value: JSON.parse(v) }));
        return { entries, stored: true };
      },
    },
  };
  const stored = await loadState(storeCtx);
  Object.assign(stored.engine, state);
  await saveState(storeCtx, [], [], stored.engine);
  // Two runs: the bench's results (every message names its cycle: every alert changes every
  // cycle, the worst case) and steady messages (what a host whose checks say the same sees).
  const storeRun = async (from, steady) => {
    const times = [];
    writtenBytes = writtenEntries = 0;
    for (let c = from; c < from + 500; c++) {
      const t = hr();
      const st = await loadState(storeCtx);
      now += 60_000;
      const rs = steady
        ? results(c, 10).map((r) => ({ ...r, message: `${r.check_id} is ${r.status}` }))
        : results(c, 10);
      observe(st.engine, { rules, index, results: rs, categories, host: 'web1', now });
      dispatch(st.engine, rules, mutesAt(st.engine, [], rules.inhibit, now), {
        now,
        host: 'web1',
        externalUrl: '',
        ungrouped: new Set(),
        cycle: true,
      });
      await saveState(storeCtx, [], [], st.engine);
      times.push(hr() - t);
    }
    return { times, entries: writtenEntries / 500, kib: writtenBytes / 500 / 1024 };
  };
  const changing = await storeRun(550, false);
  const steady = await storeRun(1050, true);
  const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

  // Baseline: the least any evaluator does: every rule against every result, by id and status.
  const flat = rules.rules.map((r) => ({ checks: r.checks ?? [], statuses: r.statuses }));
  const base = [];
  let hits = 0;
  for (let c = 0; c < 500; c++) {
    const rs = results(c, 10);
    const t = hr();
    for (const r of flat)
      for (const x of rs) if (r.checks.includes(x.check_id) && r.statuses.includes(x.status)) hits++;
    base.push(hr() - t);
  }

  // Fan-out: 100 alerts fire at once, 3 receivers, grouped by team (10 teams).
  const fan = parseRules(rulesYaml(100, { oneEach: true, receivers: 3, groupBy: 'team' }), '/etc/cx/alerts.yaml', {
    checks,
    receiverTypes: TYPES,
  });
  const fanState = emptyState();
  const t0 = hr();
  const allFail = CHECKS.map((check_id) => ({ ...results(0, 0)[0], check_id, name: check_id, status: 'FAIL' }));
  let sent = [];
  for (let c = 0; c < 3; c++) {
    now += 60_000;
    observe(fanState, { rules: fan, index: indexRules(fan.rules), results: allFail, categories, host: 'web1', now });
    sent.push(
      ...dispatch(fanState, fan, mutesAt(fanState, [], [], now), {
        now,
        host: 'web1',
        externalUrl: '',
        ungrouped: new Set(),
        cycle: true,
      }),
    );
  }
  const fanMs = hr() - t0;
  const perReceiver = Math.max(...['a', 'b', 'c'].map((r) => sent.filter((n) => n.receiver === r).length));
  const alertsOut = sent.filter((n) => n.receiver === 'a').reduce((k, n) => k + n.alerts.length, 0);
  const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  void hits;
  return [
    { name: 'alerts: bare loop, 1,000 rules × 100 results (baseline)', median: median(base), unit: 'ms' },
    {
      name: `alerts: rule evaluation, 1,000 rules × 100 results, a cycle (${firing} firing)`,
      median: median(evals),
      unit: 'ms',
      baseline: { name: 'bare loop', value: median(base) },
      target: '≤ 5 ms',
    },
    {
      name: `  p99 of the cycle`,
      median: p99(evals),
      unit: 'ms',
    },
    { name: '  p99 of the bare loop (baseline)', median: p99(base), unit: 'ms' },
    ...[
      ['every message changes', changing],
      ['steady messages', steady],
    ].flatMap(([what, r]) => [
      {
        name: `alerts: a cycle with its store write, ${what} (${r.entries.toFixed(1)} entries, ${r.kib.toFixed(1)} KiB written a cycle)`,
        median: median(r.times),
        unit: 'ms',
        baseline: { name: 'bare loop', value: median(base) },
        target: '≤ 5 ms',
      },
      { name: `  p99 (${what})`, median: p99(r.times), unit: 'ms' },
    ]),
    {
      name: `  the whole state to JSON and back (${(stateBytes / 1024).toFixed(0)} KiB, what each cycle wrote before)`,
      median: median(ser),
      unit: 'ms',
    },
    {
      name: `alerts: fan-out, 100 alerts firing → notifications per receiver (group_by team, 10 teams, ${alertsOut} alerts in them)`,
      median: perReceiver,
      unit: '',
      target: '≤ 10',
    },
    { name: '  fan-out: 3 cycles of observe + dispatch, 3 receivers', median: fanMs, unit: 'ms' },
    { name: `  load average after the run: ${load}`, median: NaN, unit: '' },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await benchAlerts())
    process.stdout.write(
      `${r.name}: ${Number.isFinite(r.median) ? r.median.toFixed(3) : '-'} ${r.unit}${r.target ? ` (target ${r.target})` : ''}\n`,
    );
}
