/**
 * checkPreamble: the start every check that grades a host value shares. A warn threshold that
 * is not below its fail threshold is an ERROR naming the config field and file (and offering no
 * fix); a source file the host does not have is a SKIP saying which. Pure: bundled into
 * sandboxed plugins too.
 */
import { readIfExists } from './read-if-exists.js';
import type { CheckOutcome, PluginContext } from './types.js';

/** A warn/fail pair of a check's config (higher is worse, so warn must be below fail). */
export interface ThresholdPair {
  /** Where the pair lives in config.yaml, e.g. `checks.memory`. */
  section: string;
  warn: readonly [key: string, value: number];
  fail: readonly [key: string, value: number];
}

/** What the preamble found: an outcome to return as it is, or the text of the source. */
export type Preamble = { outcome: CheckOutcome; text: null } | { outcome: null; text: string };

/** The ERROR for the first pair whose warn is not below its fail, or null when all are in order. */
export function thresholdError(env: { configDir: string }, pairs: readonly ThresholdPair[]): CheckOutcome | null {
  for (const { section, warn, fail } of pairs) {
    if (warn[1] < fail[1]) continue;
    return {
      status: 'ERROR',
      message: `config ${section}: ${warn[0]} (${warn[1]}) must be below ${fail[0]} (${fail[1]}); fix it in ${env.configDir}/config.yaml`,
      fix_id: null,
    };
  }
  return null;
}

/**
 * Checks the thresholds, then reads `source` (a host path such as /proc/meminfo, under the
 * run's --root). Without a source, `text` is ''.
 */
export async function checkPreamble(
  ctx: PluginContext<unknown>,
  rules: { thresholds?: readonly ThresholdPair[]; source?: string },
): Promise<Preamble> {
  const invalid = thresholdError(ctx.env, rules.thresholds ?? []);
  if (invalid) return { outcome: invalid, text: null };
  if (rules.source === undefined) return { outcome: null, text: '' };
  const text = await readIfExists(ctx.fs, rules.source);
  if (text === null)
    return { outcome: { status: 'SKIP', message: `${rules.source} not found on this host` }, text: null };
  return { outcome: null, text };
}
