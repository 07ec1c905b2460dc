// `npm run soak -- --minutes N [--interval 5s]` (default 10 minutes; not in CI): the daemon with
// built-in checks plus a sandboxed plugin whose checks crash, hang and exhaust their memory every
// cycle. At the end: how late cycles started, RSS growth after warm-up, history rows against
// cycles × checks. The host is only read (--root /); everything else lives in a temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { rssMb, startDaemon, treeRssMb } from './daemon.bench.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const minutes = Number(arg('minutes', '10'));
const intervalS = Number(String(arg('interval', '5s')).replace(/s$/, ''));
const CHECKS = ['disk_space', 'memory', 'cpu_load', 'zombie_processes', 'crasher', 'hanger', 'leaker', 'steady'];
const faulty = join(repo, 'test/plugins/daemon/fixtures/faulty');

const dir = await mkdtemp(join(tmpdir(), 'cx-soak-'));
const env = { ...process.env, HOME: dir, CX_PLUGIN_PATH: '' };
const common = [
  '--root',
  '/',
  '--config-dir',
  join(dir, 'etc'),
  '--data-dir',
  join(dir, 'data'),
  '--log-dir',
  join(dir, 'log'),
  '--cache-dir',
  join(dir, 'cache'),
  '--plugin-dir',
  faulty,
];
execFileSync(process.execPath, [join(repo, 'core/bin/cx-ops.js'), ...common, 'plugins', 'enable', 'faulty'], {
  env,
  stdio: 'ignore',
});
const starts = [];
const ends = [];
const d = await startDaemon(
  dir,
  `daemon:\n  interval: ${intervalS}s\n  listen: 127.0.0.1:0\n  max_parallel: 1\n  checks: [${CHECKS.join(', ')}]\n`,
  {
    extraArgs: ['--plugin-dir', faulty],
    unit: true, // as the shipped unit starts it
    onLine: (l) => {
      if (l.type === 'cycle_end' && l.data?.job === 'checks') {
        ends.push(l.data.cycle);
        starts.push({ cycle: l.data.cycle, at: Date.parse(l.ts) - l.data.duration_ms });
      }
    },
  },
);
process.stdout.write(`soak: ${minutes} min at a ${intervalS}s interval, daemon pid ${d.child.pid}, port ${d.port}\n`);
const rss = [];
const t0 = Date.now();
while (Date.now() - t0 < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, 5000));
  rss.push({ t: Date.now() - t0, mb: rssMb(d.child.pid), tree: treeRssMb(d.child.pid) });
}
const status = await (await fetch(`http://127.0.0.1:${d.port}/api/v1/status`)).json();
await d.stop();
const job = status.jobs.find((j) => j.id === 'checks');
const first = starts[0];
const lateness = starts.map((s) => s.at - (first.at + (s.cycle - first.cycle) * intervalS * 1000));
const warm = rss.find((r) => r.t >= (minutes * 60_000) / 5) ?? rss[0];
const last = rss.at(-1);
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const db = new Database(join(dir, 'data/history.db'), { readonly: true });
const rows = db.prepare('SELECT count(*) AS n FROM check_results').get().n;
const integrity = db.pragma('integrity_check', { simple: true });
db.close();
const report = {
  minutes,
  interval_seconds: intervalS,
  cycles_completed: ends.length,
  ticks_skipped: job.skipped,
  job_timeouts: job.timeouts,
  max_start_lateness_ms: Math.round(Math.max(...lateness)),
  median_start_lateness_ms: Math.round(lateness.sort((a, b) => a - b)[lateness.length >> 1]),
  rss_after_warmup_mb: Number(warm.mb.toFixed(1)),
  rss_end_mb: Number(last.mb.toFixed(1)),
  rss_growth_pct: Number((((last.mb - warm.mb) / warm.mb) * 100).toFixed(2)),
  rss_max_mb: Number(Math.max(...rss.map((r) => r.mb)).toFixed(1)),
  tree_rss_after_warmup_mb: Number(warm.tree.toFixed(1)),
  tree_rss_end_mb: Number(last.tree.toFixed(1)),
  history_rows: rows,
  expected_rows: ends.length * CHECKS.length,
  integrity,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
const ok = report.rss_growth_pct <= 5 && rows === report.expected_rows && integrity === 'ok' && job.timeouts === 0;
process.stdout.write(ok ? 'soak: ok\n' : 'soak: FAILED (see the figures above)\n');
await rm(dir, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
