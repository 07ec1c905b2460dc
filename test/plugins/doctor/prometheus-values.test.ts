import { afterEach, describe, expect, test } from 'vitest';
import { gaugesOf, renderGauges } from '../../../plugins-builtin/doctor/measured-values.js';
import { doctorHost, type DoctorHost } from '../../helpers/doctor-host.js';

let h: DoctorHost | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('doctor --format prometheus exports measured values, node_exporter style', () => {
  test('the healthy fixture host: memory, swap, load, file handles, zombies and disk as gauges with labels', async () => {
    h = await doctorHost('healthy');
    const run = await h.run(['doctor', '--format', 'prometheus']);
    expect(run.exitCode).toBe(0);
    const out = run.stdout;
    expect(out).toContain('# TYPE cx_ops_memory_used_ratio gauge\ncx_ops_memory_used_ratio{check="memory"} 0.25\n');
    expect(out).toContain('cx_ops_load5{check="cpu_load"} 0.5\n');
    expect(out).toContain('cx_ops_cpus{check="cpu_load"} 4\n');
    expect(out).toContain('cx_ops_filefd_allocated{check="file_descriptors"} 2048\n');
    expect(out).toContain('cx_ops_filefd_maximum{check="file_descriptors"} 1000000\n');
    expect(out).toContain('cx_ops_zombie_processes{check="zombie_processes"} 0\n');
    expect(out).toMatch(/\ncx_ops_filesystem_used_ratio\{check="disk_space",mountpoint="\/"\} 0\.\d+\n/);
    expect(out).toMatch(/\ncx_ops_filesystem_avail_bytes\{check="disk_space",mountpoint="\/"\} \d+\n/);
    // One HELP/TYPE per metric name, every sample line well formed.
    const names = out
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]);
    expect(new Set(names).size).toBe(names.length);
    for (const l of out.split('\n').filter((x) => x && !x.startsWith('#')))
      expect(l).toMatch(/^[a-z_:][a-z0-9_:]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[\d.e+-]+$/);
  });

  test('perfdata, pending updates and a check’s own details.metrics', () => {
    const base = { name: 'x', status: 'PASS' as const, message: '', fix_id: null, duration_ms: 1 };
    const gauges = [
      ...gaugesOf({
        ...base,
        check_id: 'nagios_load',
        details: {
          perfdata: [
            { label: 'load1', value: 0.42, uom: '', warn: null, crit: null, min: 0, max: null },
            { label: 'u', value: null, uom: '%' },
          ],
        },
      }),
      ...gaugesOf({ ...base, check_id: 'security_updates', details: { total: 5, security: 2 } }),
      ...gaugesOf({
        ...base,
        check_id: 'queue_depth',
        details: {
          metrics: [
            { name: 'queue_depth', value: 17, labels: { queue: 'mail' } },
            { name: 'bad name', value: 1 },
          ],
        },
      }),
    ];
    expect(renderGauges([]).length).toBe(0);
    expect(gauges.map((g) => [g.name, g.labels, g.value])).toEqual([
      ['cx_ops_nagios_perfdata', { check: 'nagios_load', label: 'load1', uom: '' }, 0.42],
      ['cx_ops_nagios_perfdata_min', { check: 'nagios_load', label: 'load1', uom: '' }, 0],
      ['cx_ops_updates_pending', { check: 'security_updates', kind: 'all' }, 5],
      ['cx_ops_updates_pending', { check: 'security_updates', kind: 'security' }, 2],
      ['cx_ops_queue_depth', { check: 'queue_depth', queue: 'mail' }, 17],
    ]);
  });
});
