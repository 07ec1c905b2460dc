/** `doctor --alert`'s evaluation (kind alert-evaluation, id once): see evaluation-kind.ts. */
import { defineContribution } from 'cx-ops/sdk';
import { deliverDue, evaluate } from './alerts-runtime.js';
import { alertEvaluationKind } from './evaluation-kind.js';

export const evaluateOnce = defineContribution(
  alertEvaluationKind,
  'once',
  { description: 'the rules of alerts.yaml over one doctor run, notifications delivered before it answers' },
  async (ctx, input) => {
    const now = Date.now();
    const out = await evaluate(ctx, { results: input.results, categories: input.categories, now, flushAll: true });
    const d = await deliverDue(ctx, now);
    const firing = [...new Set(out.firingRules)];
    return {
      firing,
      sent: d.sent,
      failed: d.failed + d.dropped,
      ...(out.rulesError ? { error: out.rulesError.message } : {}),
    };
  },
);
