import { describe, expect, it } from 'vitest';
import { newestFirst, summarize, type Stamped } from '../../../plugins-builtin/hotfix/run-journal.js';

const begun = (run: string, ts: string) => summarize(`/b/runs/${run}`, [begin(run, ts)]);

const begin = (run: string, ts: string): Stamped => ({
  v: 1,
  ts,
  t: 'begin',
  run,
  module_dir: '/m',
  module_file: '/m/hotfix.yaml',
  schema_version: '1.0.0',
  root: '/',
  backup_dir: '/b',
  steps: [],
  resumable: true,
});

describe('runs, newest first', () => {
  it('two runs in the same second: the later one first, whatever their random parts', () => {
    const earlier = begun('20261202-024853-ffff', '2026-12-02T02:48:53.100Z');
    const later = begun('20261202-024853-0000', '2026-12-02T02:48:53.900Z');
    expect([earlier, later].sort(newestFirst).map((r) => r.run)).toEqual([later.run, earlier.run]);
  });

  it('runs in different seconds: by time', () => {
    const a = begun('20261202-024853-aaaa', '2026-12-02T02:48:53.000Z');
    const b = begun('20261202-024854-0000', '2026-12-02T02:48:54.000Z');
    expect([a, b].sort(newestFirst).map((r) => r.run)).toEqual([b.run, a.run]);
  });
});
