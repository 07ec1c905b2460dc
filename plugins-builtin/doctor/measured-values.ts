/**
 * The values checks measured, as Prometheus gauges named the node_exporter way (base units,
 * `_bytes`, `_ratio`, labels for what varies): disk use per mount point, memory and swap, load,
 * file handles, zombies, pending updates, and every Nagios plugin's perfdata. Any check can add
 * its own with `details.metrics: [{ name, value, labels?, help? }]` (the name gets `cx_ops_`).
 */
import type { CheckResult } from 'cx-ops/sdk';

/** One sample of a gauge. */
export interface Gauge {
  name: string;
  help: string;
  labels: Record<string, string>;
  value: number;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(rec) : []);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const MIB = 1024 * 1024;

/** The gauges one result's details carry (none for a result that measured nothing). */
export function gaugesOf(r: CheckResult): Gauge[] {
  const d = r.details;
  const out: Gauge[] = [];
  const add = (name: string, help: string, value: number | null, labels: Record<string, string> = {}) => {
    if (value !== null) out.push({ name: `cx_ops_${name}`, help, labels: { check: r.check_id, ...labels }, value });
  };
  for (const m of list(d.mounts)) {
    const mountpoint = typeof m.mount === 'string' ? m.mount : '';
    const used = num(m.used_percent);
    add(
      'filesystem_used_ratio',
      'Share of a file system in use (as df counts it), 0..1.',
      used === null ? null : used / 100,
      { mountpoint },
    );
    add('filesystem_avail_bytes', 'Bytes available to unprivileged users.', num(m.available_bytes), { mountpoint });
    add('filesystem_size_bytes', 'File system size in bytes.', num(m.total_bytes), { mountpoint });
    const inodes = num(m.inode_used_percent);
    add('filesystem_files_used_ratio', 'Share of inodes in use, 0..1.', inodes === null ? null : inodes / 100, {
      mountpoint,
    });
  }
  if (r.check_id === 'memory' || r.check_id === 'swap_usage') {
    const kind = r.check_id === 'memory' ? 'memory' : 'swap';
    const used = num(d.used_percent);
    add(`${kind}_used_ratio`, `Share of ${kind} in use, 0..1.`, used === null ? null : used / 100);
    const total = num(d.total_mb);
    add(`${kind}_size_bytes`, `${kind} size in bytes.`, total === null ? null : total * MIB);
    const avail = num(d.available_mb);
    add(`${kind}_available_bytes`, `${kind} available in bytes.`, avail === null ? null : avail * MIB);
  }
  for (const w of ['1', '5', '15']) add(`load${w}`, `Load average over ${w} minute(s).`, num(d[`load${w}`]));
  add('load_per_core', 'Load average per CPU over the configured window.', num(d.per_core));
  add('cpus', 'CPUs counted for the load per core.', num(d.cpus));
  if (r.check_id === 'file_descriptors') {
    add('filefd_allocated', 'File handles in use.', num(d.in_use));
    add('filefd_maximum', 'Most file handles the kernel allows.', num(d.max));
  }
  if (r.check_id === 'zombie_processes') add('zombie_processes', 'Processes in the zombie state.', num(d.count));
  if (r.check_id === 'security_updates') {
    add('updates_pending', 'Package updates pending.', num(d.total), { kind: 'all' });
    add('updates_pending', 'Package updates pending.', num(d.security), { kind: 'security' });
  }
  for (const p of list(d.perfdata)) {
    const label = typeof p.label === 'string' ? p.label : '';
    const uom = typeof p.uom === 'string' ? p.uom : '';
    add('nagios_perfdata', 'A Nagios plugin perfdata value (unit in uom).', num(p.value), { label, uom });
    for (const k of ['min', 'max'] as const)
      add(`nagios_perfdata_${k}`, `A Nagios plugin perfdata ${k}.`, num(p[k]), { label, uom });
  }
  for (const m of list(d.metrics)) {
    if (typeof m.name !== 'string' || !METRIC_NAME.test(m.name)) continue;
    const labels = Object.fromEntries(
      Object.entries(rec(m.labels)).filter(([k, v]) => METRIC_NAME.test(k) && typeof v === 'string'),
    ) as Record<string, string>;
    add(m.name, typeof m.help === 'string' ? m.help : `A value measured by check ${r.check_id}.`, num(m.value), labels);
  }
  return out;
}

const label = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Every result's gauges in the text exposition format: one HELP/TYPE per name. */
export function renderGauges(results: CheckResult[]): string {
  const byName = new Map<string, Gauge[]>();
  for (const g of results.flatMap(gaugesOf)) {
    if (!byName.has(g.name)) byName.set(g.name, []);
    byName.get(g.name)!.push(g);
  }
  let out = '';
  for (const [name, gauges] of byName) {
    out += `# HELP ${name} ${gauges[0]!.help}\n# TYPE ${name} gauge\n`;
    for (const g of gauges)
      out += `${name}{${Object.entries(g.labels)
        .map(([k, v]) => `${k}="${label(v)}"`)
        .join(',')}} ${g.value}\n`;
  }
  return out;
}
