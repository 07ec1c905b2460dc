/**
 * What the schema cannot say about the `heal:` section: a clear threshold above its trigger, a
 * critical level below it. Each is a CX_ERR_CONFIG_INVALID naming the field and its line in
 * config.yaml (ranges and types are the schema's, reported by the kernel the same way).
 */
import { join } from 'node:path';
import { CxError, readIfExists, type PluginContext } from 'cx-ops/sdk';
import { parseYaml } from 'cx-ops/sdk/host';
import type { HealConfig, Threshold } from './heal-types.js';

/** The seed's thresholds (cpu 80, memory 85, disk 90, load 3.0) with their clear levels and severities. */
const DEFAULTS: Record<keyof HealConfig['thresholds'], Threshold & { gap: number }> = {
  cpu: { trigger: 80, clear: 70, severity: 'MEDIUM', critical: 95, gap: 10 },
  memory: { trigger: 85, clear: 75, severity: 'HIGH', critical: 95, gap: 10 },
  disk: { trigger: 90, clear: 85, severity: 'HIGH', critical: 97, gap: 5 },
  load: { trigger: 3, clear: 2.5, severity: 'MEDIUM', gap: 0.5 },
};

const normalized = new WeakMap<object, HealConfig>();

/**
 * The section with every threshold complete: a detector given only some fields gets the rest
 * from its defaults (clear: the default distance below the given trigger; critical: only when
 * the trigger was not moved above it).
 */
export function normalizeConfig(cfg: HealConfig): HealConfig {
  const done = normalized.get(cfg);
  if (done) return done;
  const thresholds = { ...cfg.thresholds } as Record<string, Threshold>;
  for (const [name, d] of Object.entries(DEFAULTS)) {
    const given = (cfg.thresholds as Record<string, Partial<Threshold> | undefined>)[name] ?? {};
    const trigger = given.trigger ?? d.trigger;
    const critical = given.critical ?? (d.critical !== undefined && d.critical >= trigger ? d.critical : undefined);
    thresholds[name] = {
      ...given,
      trigger,
      clear: given.clear ?? (given.trigger === undefined ? d.clear : Math.max(0, trigger - d.gap)),
      severity: given.severity ?? d.severity,
      ...(critical !== undefined ? { critical } : {}),
    };
  }
  const out = { ...cfg, thresholds: thresholds as unknown as HealConfig['thresholds'] };
  normalized.set(cfg, out);
  return out;
}

/** The first problem of the section, as [field path under heal, detail, found], or null. */
export function thresholdProblem(cfg: HealConfig): [string[], string, number] | null {
  for (const [name, t] of Object.entries(cfg.thresholds)) {
    if (t.clear > t.trigger)
      return [
        ['thresholds', name, 'clear'],
        `must not be above heal.thresholds.${name}.trigger (${t.trigger}): an issue clears below 'clear' and triggers at 'trigger'`,
        t.clear,
      ];
    if (t.critical !== undefined && t.critical < t.trigger)
      return [
        ['thresholds', name, 'critical'],
        `must not be below heal.thresholds.${name}.trigger (${t.trigger})`,
        t.critical,
      ];
  }
  if (cfg.budget.max_backoff_cycles < cfg.budget.backoff_cycles)
    return [
      ['budget', 'max_backoff_cycles'],
      `must not be below heal.budget.backoff_cycles (${cfg.budget.backoff_cycles})`,
      cfg.budget.max_backoff_cycles,
    ];
  return null;
}

/** The section normalized; CX_ERR_CONFIG_INVALID (file:line, field, the fix) when it cannot work. */
export async function checkHealConfig(ctx: PluginContext<HealConfig>): Promise<HealConfig> {
  const cfg = normalizeConfig(ctx.config);
  const problem = thresholdProblem(cfg);
  if (!problem) return cfg;
  const [path, detail, found] = problem;
  const file = join(ctx.env.configDir, 'config.yaml');
  const text = await readIfExists(ctx.localFs, file).catch(() => null);
  const line = text === null ? undefined : parseYaml(text, file).lineOf(['heal', ...path]);
  throw new CxError('CX_ERR_CONFIG_INVALID', {
    file,
    line,
    field: `heal.${path.join('.')}`,
    detail,
    found,
    plugin: ctx.plugin,
  });
}
