/**
 * Kind `alert-evaluation`: how `cx-ops doctor --alert` has the rules evaluated once over its
 * results (the alerts plugin's contribution `once`): the stored state is used and kept, groups are
 * notified at once (no group_wait in a one-shot run), and what is due is delivered before it answers.
 */
import { defineKind, type CheckResult } from 'cx-ops/sdk';

export interface EvaluationInput {
  results: CheckResult[];
  categories: Record<string, string>;
}

export interface EvaluationOutput {
  /** Names of the rules with a firing alert. */
  firing: string[];
  sent: number;
  failed: number;
  /** Why alerts.yaml could not be used (the previous rules were, if any). */
  error?: string;
}

export const alertEvaluationKind = defineKind<EvaluationInput, EvaluationOutput>('alert-evaluation', {
  description: 'Evaluates the alert rules once over check results (doctor --alert): input { results, categories }',
});
