/** The heal tests' config (the schema's defaults, as the kernel applies them) and readings. */
import { normalizeConfig } from '../../../plugins-builtin/heal/heal-config.js';
import type { HealConfig, Reading } from '../../../plugins-builtin/heal/heal-types.js';

/** heal: with every default, then `over` (a shallow merge per section). */
export function healConfig(over: Partial<HealConfig> = {}): HealConfig {
  const base: HealConfig = {
    interval: '60s',
    dry_run: false,
    for_cycles: 3,
    reset_after_cycles: 3,
    grace_cycles: 2,
    max_parallel: 2,
    thresholds: { load: { per_core: false } } as unknown as HealConfig['thresholds'],
    mounts: [],
    services: { names: [], severity: 'HIGH', for_cycles: 1 },
    budget: { max_actions: 3, within_cycles: 10, backoff_cycles: 1, max_backoff_cycles: 16 },
  };
  return normalizeConfig({ ...base, ...over });
}

/** The seed's benchmark inputs as readings: cpu, mem, disk (/), and services (name → running). */
export function readings(v: {
  cpu: number;
  memory: number;
  disk: number;
  services?: Record<string, boolean>;
}): Reading[] {
  return [
    { detector: 'cpu', component: 'cpu', value: v.cpu },
    { detector: 'memory', component: 'memory', value: v.memory },
    { detector: 'disk', component: '/', value: v.disk },
    ...Object.entries(v.services ?? {}).map(([name, up]) => ({
      detector: 'service' as const,
      component: name,
      value: up ? 0 : 1,
      manager: 'supervisord',
      detail: up ? 'RUNNING' : 'FATAL Exited too quickly',
    })),
  ];
}
