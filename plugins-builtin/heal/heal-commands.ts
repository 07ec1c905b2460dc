/**
 * `cx-ops heal --once [--dry-run] [--json]` (the seed's quick_heal), `heal status`, `heal log`
 * and `heal replay ID`. Every command takes --json; an error under --json is the kernel's JSON
 * error object. Actions performed from the CLI follow doctor --fix's rule: asked on a terminal,
 * -y without one.
 */
import { closest, CxError, defineCommand, type CommandInput, type PluginContext } from 'cx-ops/sdk';
import { recordedBy } from './actions/recorded.js';
import { healErrors } from './errors.js';
import { checkHealConfig } from './heal-config.js';
import { healActionKind } from './heal-kinds.js';
import { runHeal, type HealRun } from './heal-run.js';
import { loadHealState, loadLog, saveHeal } from './heal-store.js';
import type { HealConfig, HealingResult } from './heal-types.js';

const JSON_OPTION = { flags: '--json', description: 'print the result (or the error) as JSON' };
const json = (ctx: PluginContext<unknown>, v: unknown) => ctx.io.out(`${JSON.stringify(v, null, 2)}\n`);

/** Development mode: --dev (or CX_DEV=1) makes every call a dry run; heal.dry_run does the same for heal. */
export const devMode = (ctx: PluginContext<HealConfig>) => ctx.env.dryRun || ctx.config.dry_run;

function resultLine(r: HealingResult, dryRun: boolean): string[] {
  const lines = [`  ${r.issue.severity.padEnd(8)} ${r.issue.component}: ${r.issue.description}`];
  const by = r.resolver ? ` (${r.resolver})` : '';
  if (r.action_taken && dryRun) {
    lines.push(`           -> ${r.action_taken}${by}: would have done:`);
    for (const w of r.would_have_done ?? []) lines.push(`                ${w}`);
    if (r.log_id) lines.push(`              recorded as ${r.log_id}`);
  } else if (r.action_taken)
    lines.push(
      `           -> ${r.action_taken}${by}: ${r.success ? 'ok' : `FAILED: ${r.error}`} (${Math.round(r.duration_ms)} ms)`,
    );
  else if (r.skipped === 'monitor_only') lines.push(`           -> no action (monitor only)`);
  else lines.push(`           -> no action: ${r.error ?? r.skipped}`);
  return lines;
}

function formatRun(run: HealRun, command: string): string {
  const lines = [`heal cycle ${run.cycle}${run.dry_run ? ' (dry run: actions recorded, not performed)' : ''}`];
  for (const r of run.results) lines.push(...resultLine(r, run.dry_run));
  for (const p of run.pending)
    lines.push(
      `  pending  ${p.key.slice(p.key.indexOf(':') + 1)}: ${p.value} over its trigger (${p.bad} of ${p.needed} cycles)`,
    );
  for (const e of run.resolver_errors) lines.push(`  ERROR    ${e.message}`);
  if (!run.results.length && !run.pending.length) lines.push('  no issues');
  if (run.results.some((r) => r.log_id)) lines.push(`Replay one for real with: ${command} heal replay ID`);
  return `${lines.join('\n')}\n`;
}

async function once(ctx: PluginContext<HealConfig>, input: CommandInput): Promise<number> {
  const o = input.options;
  if (!o.once)
    throw new CxError('CX_ERR_USAGE', {
      detail: 'heal needs --once (one detect, resolve, act cycle) or a command: status, log, replay',
      hint: `${ctx.env.command} heal --once --dry-run   (the daemon runs the loop every heal.interval)`,
      plugin: ctx.plugin,
    });
  const dryRun = Boolean(o.dryRun) || devMode(ctx);
  const run = await runHeal(ctx, {
    dryRun,
    keepState: !o.dryRun,
    inDaemon: false,
    cpuSampleMs: 250,
    async confirm(issue, plan) {
      if (ctx.env.assumeYes) return true;
      if (!ctx.io.interactive) return false;
      return ctx.io.confirm(`${issue.description}: run ${plan.action} ${JSON.stringify(plan.parameters)}?`);
    },
  });
  if (o.json) {
    const { events: _e, metrics: _m, ...shown } = run;
    json(ctx, shown);
  } else ctx.io.out(formatRun(run, ctx.env.command));
  const healthy = run.results.every((r) => r.success && !dryRun) && !run.resolver_errors.length;
  return run.results.length === 0 || healthy ? 0 : 1;
}

async function status(ctx: PluginContext<HealConfig>, input: CommandInput): Promise<number> {
  const cfg = await checkHealConfig(ctx);
  const st = await loadHealState(ctx);
  const components = Object.entries(st.detector.components).map(([key, c]) => ({
    key,
    detector: key.slice(0, key.indexOf(':')),
    component: key.slice(key.indexOf(':') + 1),
    value: c.value ?? null,
    open: c.open,
    since: c.since ? new Date(c.since).toISOString() : null,
    bad_cycles: c.bad,
    healthy_cycles: c.good,
    grace_until_cycle: c.grace_until ?? null,
    budget: c.budget
      ? {
          actions: c.budget.actions.length,
          max_actions: cfg.budget.max_actions,
          within_cycles: cfg.budget.within_cycles,
          failures: c.budget.failures,
          next_cycle: c.budget.next_cycle,
          unmonitored: c.budget.unmonitored,
          unmonitored_at: c.budget.unmonitored_at ?? null,
        }
      : null,
  }));
  const out = {
    cycle: st.detector.cycle,
    last_cycle: st.last_cycle ? new Date(st.last_cycle).toISOString() : null,
    dev_mode: devMode(ctx),
    open: components.filter((c) => c.open),
    unmonitored: components.filter((c) => c.budget?.unmonitored).map((c) => c.component),
    components,
    totals: st.totals,
  };
  if (input.options.json) {
    json(ctx, out);
    return 0;
  }
  const lines = [
    `heal: cycle ${out.cycle}${out.last_cycle ? `, last at ${out.last_cycle}` : ' (no cycle yet: run cx-ops heal --once or the daemon)'}${out.dev_mode ? ', development mode (actions recorded, not performed)' : ''}`,
  ];
  for (const c of components) {
    const b = c.budget;
    lines.push(
      `  ${c.open ? 'OPEN   ' : c.grace_until_cycle ? 'GRACE  ' : 'ok     '} ${c.component.padEnd(16)} ${c.value ?? '-'}  bad ${c.bad_cycles}, healthy ${c.healthy_cycles}${b ? `; budget ${b.actions}/${b.max_actions} in ${b.within_cycles} cycles${b.unmonitored ? ', UNMONITORED since ' + b.unmonitored_at : ''}` : ''}`,
    );
  }
  lines.push(
    `actions: ${out.totals.resolved} succeeded, ${out.totals.failed} failed; ${out.totals.detected} issues opened`,
  );
  ctx.io.out(`${lines.join('\n')}\n`);
  return 0;
}

async function log(ctx: PluginContext<HealConfig>, input: CommandInput): Promise<number> {
  const records = await loadLog(ctx);
  if (input.options.json) {
    json(ctx, records);
    return 0;
  }
  if (!records.length) {
    ctx.io.out(
      'No recorded actions. Development mode (--dev, CX_DEV=1 or heal.dry_run: true) and heal --once --dry-run record what they would have done here.\n',
    );
    return 0;
  }
  for (const r of records) {
    ctx.io.out(
      `${r.id}  ${r.ts}  ${r.action} ${JSON.stringify(r.parameters)} for ${r.issue.component} (${r.issue.severity}: ${r.issue.description})${r.replayed ? `  [replayed ${r.replayed.ts}: ${r.replayed.ok ? 'ok' : 'failed'}]` : ''}\n`,
    );
    for (const w of r.would_have_done) ctx.io.out(`    ${w}\n`);
  }
  return 0;
}

async function replay(ctx: PluginContext<HealConfig>, input: CommandInput): Promise<number> {
  const id = String(input.args.id ?? '');
  const records = await loadLog(ctx);
  const rec = records.find((r) => r.id === id);
  if (!rec)
    throw healErrors.CX_ERR_HEAL_RECORD_UNKNOWN({
      id,
      known: records.slice(0, 5).map((r) => r.id),
      suggestions: closest(
        id,
        records.map((r) => r.id),
      ),
    });
  const o = input.options;
  ctx.io.err(
    `heal replay ${rec.id}: ${rec.action} ${JSON.stringify(rec.parameters)} for ${rec.issue.component}, recorded ${rec.ts}; it will:\n${rec.would_have_done.map((w) => `  - ${w}\n`).join('')}`,
  );
  if (ctx.env.dryRun) {
    ctx.io.err('development mode (--dev / CX_DEV): nothing is performed; run without it to replay for real.\n');
    return 1;
  }
  if (!ctx.env.assumeYes) {
    if (!ctx.io.interactive) {
      ctx.io.err('not replayed: no terminal to ask. Run again with -y to perform it.\n');
      return 1;
    }
    if (!(await ctx.io.confirm(`Perform ${rec.action} now?`))) {
      ctx.io.err('not replayed: not confirmed.\n');
      return 1;
    }
  }
  // What it does now, recorded once more in a dry run first, so the output says if the host has changed since.
  const now = await ctx.registry.invoke(
    healActionKind,
    rec.action,
    { issue: rec.issue, parameters: rec.parameters },
    { dryRun: true },
  );
  const plannedNow = [...recordedBy(now), ...(now.recorded ?? [])];
  const out = await ctx.registry.invoke(healActionKind, rec.action, { issue: rec.issue, parameters: rec.parameters });
  const same = JSON.stringify(plannedNow) === JSON.stringify(rec.would_have_done);
  rec.replayed = { ts: new Date().toISOString(), ok: out.ok, detail: out.detail, done: plannedNow };
  await saveHeal(ctx, {
    records: [rec],
    events: [
      {
        level: out.ok ? 'info' : 'warn',
        type: 'heal_replayed',
        message: `replayed ${rec.id}: ${rec.action} for ${rec.issue.component}: ${out.ok ? 'ok' : `failed: ${out.detail}`}`,
        data: { log_id: rec.id, action: rec.action, success: out.ok },
      },
    ],
  });
  if (o.json)
    json(ctx, {
      id: rec.id,
      action: rec.action,
      success: out.ok,
      detail: out.detail,
      done: plannedNow,
      as_recorded: same,
    });
  else
    ctx.io.out(
      `${out.ok ? 'OK' : 'FAILED'}: ${rec.action}: ${out.detail}${same ? '' : `\nnote: the host has changed since it was recorded; this time it did:\n${plannedNow.map((w) => `  ${w}`).join('\n')}`}\n`,
    );
  return out.ok ? 0 : 1;
}

export const healCommands = [
  defineCommand<HealConfig>({
    name: 'heal',
    description: 'Self-healing: one detect, resolve, act cycle (--once); heal status | log | replay',
    options: [
      {
        flags: '--once',
        description: "run one cycle: detect issues, resolve each to an action, act (the seed's quick_heal)",
      },
      {
        flags: '--dry-run',
        description: 'record the actions (exact commands and file changes) instead of performing them',
      },
      JSON_OPTION,
    ],
    help: [
      'Detectors: cpu (from /proc/stat deltas), memory, disk per mount, load, and the services in heal.services.names;',
      'thresholds, for_cycles, clear thresholds, budgets: the heal: section of config.yaml (plugins-builtin/heal/README.md).',
      'Actions performed here are asked on a terminal; without one they need -y. Development mode (--dev, CX_DEV=1,',
      'heal.dry_run: true) records every action in the heal log instead (cx-ops heal log; cx-ops heal replay ID).',
      'Exit codes: 0 no issue, or every action succeeded; 1 an issue remains (also a dry run that found one).',
    ].join('\n'),
    run: once,
  }),
  defineCommand<HealConfig>({
    name: 'heal status',
    description: 'Open issues, counters, budgets and unmonitored components',
    options: [JSON_OPTION],
    run: status,
  }),
  defineCommand<HealConfig>({
    name: 'heal log',
    description: 'The actions recorded instead of performed (development mode, --dry-run), newest first',
    options: [JSON_OPTION],
    run: log,
  }),
  defineCommand<HealConfig>({
    name: 'heal replay',
    description: 'Perform one recorded action for real, after showing it and asking (or -y)',
    arguments: [{ name: 'id', description: 'its id in cx-ops heal log', required: true }],
    options: [JSON_OPTION],
    help: 'Shows what it will do and asks on a terminal; without one it needs -y. Under --dev it only shows.',
    run: replay,
  }),
];
