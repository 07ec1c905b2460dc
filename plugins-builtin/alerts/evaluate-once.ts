/**
 * One evaluation outside the daemon: `doctor --alert` (kind alert-evaluation, id once; see
 * evaluation-kind.ts) and `cx-ops alerts check`, which runs the checks itself with doctor's
 * runner. The stored state is used and kept, groups are notified at once, and what is due is
 * delivered before it answers.
 */
import { CxError, defineCommand, defineContribution, type CheckResult, type PluginContext } from 'cx-ops/sdk';
import { runChecks } from '../doctor/run-checks.js';
import { deliverDue, evaluate } from './alerts-runtime.js';
import { alertEvaluationKind, type EvaluationOutput } from './evaluation-kind.js';

async function evaluateNow(
  ctx: PluginContext<unknown>,
  results: CheckResult[],
  categories: Record<string, string>,
): Promise<EvaluationOutput> {
  const now = Date.now();
  const out = await evaluate(ctx, { results, categories, now, flushAll: true });
  const d = await deliverDue(ctx, now);
  return {
    firing: [...new Set(out.firingRules)],
    sent: d.sent,
    failed: d.failed + d.dropped,
    ...(out.rulesError ? { error: out.rulesError.message } : {}),
  };
}

/** The one line both entry points print. */
export const evaluationLine = (out: EvaluationOutput) =>
  `alerts: ${out.firing.length ? `${out.firing.length} firing (${out.firing.join(', ')})` : 'none firing'}; ${out.sent} notification(s) sent${out.failed ? `, ${out.failed} failed (queued for retry)` : ''}\n`;

export const evaluateOnce = defineContribution(
  alertEvaluationKind,
  'once',
  { description: 'the rules of alerts.yaml over one doctor run, notifications delivered before it answers' },
  (ctx, input) => evaluateNow(ctx, input.results, input.categories),
);

export const alertsCheckCommand = defineCommand({
  name: 'alerts check',
  description: 'Run the checks once and evaluate the alert rules over them, sending the notifications due (for cron)',
  options: [
    { flags: '--check <id...>', description: 'only these checks' },
    { flags: '--json', description: 'print the result (or the error) as JSON' },
  ],
  help: 'The same as cx-ops doctor --alert without the report. State is kept between runs (for counts runs), so do not run it beside cx-ops daemon.',
  run: async (ctx, input) => {
    const all = await ctx.registry.list('check');
    const wanted = Array.isArray(input.options.check) ? input.options.check.map(String) : [];
    const unknown = wanted.filter((id) => !all.some((c) => c.id === id));
    if (unknown.length)
      throw new CxError('CX_ERR_USAGE', {
        detail: `no check ${unknown.map((u) => `'${u}'`).join(', ')}`,
        hint: 'cx-ops doctor --list',
        plugin: 'alerts',
      });
    const selected = wanted.length ? all.filter((c) => wanted.includes(c.id)) : all;
    const results = await runChecks(ctx, selected, { maxParallel: 4, timeoutSeconds: 30 });
    const categories = Object.fromEntries(selected.map((c) => [c.id, String(c.meta.category ?? 'other')]));
    const out = await evaluateNow(ctx, results, categories);
    if (input.options.json) ctx.io.out(`${JSON.stringify(out, null, 2)}\n`);
    else {
      if (out.error) ctx.io.err(`alerts: ${out.error}\n`);
      ctx.io.out(evaluationLine(out));
    }
    return 0;
  },
});
