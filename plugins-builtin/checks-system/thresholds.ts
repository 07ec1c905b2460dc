/**
 * Threshold sanity beyond what JSON Schema can say: warn must come before fail. A check whose
 * thresholds are inconsistent returns ERROR naming the config field to change.
 */

/**
 * Returns a message when `warn` is not below `fail` (higher is worse), else null. It names the
 * config file this run really reads (`env.configDir`, which --root and --config-dir move).
 */
export function thresholdProblem(env: { configDir: string }, section: string, warnKey: string, warn: number, failKey: string, failValue: number): string | null {
  if (warn < failValue) return null;
  return `config checks.${section}: ${warnKey} (${warn}) must be below ${failKey} (${failValue}); fix it in ${env.configDir}/config.yaml`;
}

/** Rounds to one decimal for messages and details. */
export const round1 = (n: number): number => Math.round(n * 10) / 10;
