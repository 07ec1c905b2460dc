// Heal benchmark (imported by test/bench/run.js as `heal`: npm run bench -- heal; runnable alone:
// node test/bench/heal.bench.js). The seed's three figures on its own inputs, each beside a
// baseline in the same run, plus a real detection cycle from the live /proc:
// - detection: one cycle of the state machine (judge) on injected values (cpu 85, mem 75,
//   disk 88, no services → 1 issue); baseline: the seed's bare threshold comparisons.
// - resolution: one fixed cpu issue through resolveIssue with the default resolver (what a cycle
//   runs) and defaultPlan alone; baseline: a bare switch on the detector.
// - end to end in dry run: healCycle on cpu 95, mem 88, disk 92, one service inactive → 4
//   issues, 3 recorded actions, no I/O (a fresh state each op); baseline: detect + resolve + push
//   as bare loops.
// - live: readHost + judge through the heal plugin's real ctx (the kernel's audited fs
//   capability: readSmallFiles, then statfsMany) on this host's /proc, beside the same reads
//   with bare node:fs, and the floor: the same reads synchronous.
// Memory per op: heap bytes allocated per op (gc before and after a batch). Needs `npm run build`.
import { readFileSync, statfsSync } from 'node:fs';
import { readFile, statfs, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const dist = (p) => new URL(`../../dist/${p}`, import.meta.url).href;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

/** What the measured functions return is kept here, so the optimizer cannot drop their work. */
let sink;
const sunk = [];

/** ops/s of a sync or async `fn`, median of `rounds` rounds of `n` ops; heap bytes and CPU µs per op. */
async function opsPerSecond(fn, { n = 20_000, rounds = 15, isAsync = false } = {}) {
  for (let i = 0; i < n; i++)
    if (isAsync) await fn(i);
    else fn(i); // warm up
  const rates = [];
  const cpus = [];
  for (let r = 0; r < rounds; r++) {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    if (isAsync) for (let i = 0; i < n; i++) sink = await fn(i);
    else for (let i = 0; i < n; i++) sink = fn(i);
    rates.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
    const used = process.cpuUsage(c);
    cpus.push((used.user + used.system) / n);
    sunk.push(sink);
  }
  gc();
  const before = process.memoryUsage().heapUsed;
  const m = Math.min(n, 5000);
  // Allocation per op: gc is off during the batch only if the young generation holds it; take
  // the heap growth of a batch small enough for that, and never below 0.
  if (isAsync) for (let i = 0; i < m; i++) await fn(i);
  else for (let i = 0; i < m; i++) fn(i);
  const bytes = Math.max(0, (process.memoryUsage().heapUsed - before) / m);
  // CPU time per op (µs, every thread of the process): what load on the machine does not inflate much.
  return { rate: median(rates), bytes, cpuUs: median(cpus) };
}

const target = (value, min, text) => (value >= min ? text : `${text} — MISSED`);
const targetMax = (value, max, text) => (value <= max ? text : `${text} — MISSED`);

export async function benchHeal() {
  const { judge, emptyDetectorState } = await import(dist('plugins-builtin/heal/judge.js'));
  const { healCycle } = await import(dist('plugins-builtin/heal/heal-engine.js'));
  const { defaultPlan, resolveIssue } = await import(dist('plugins-builtin/heal/default-resolver.js'));
  const { normalizeConfig } = await import(dist('plugins-builtin/heal/heal-config.js'));
  const { readHost, parseCpuTimes, cpuPercent } = await import(dist('plugins-builtin/heal/host-readings.js'));
  const cfg = normalizeConfig({
    interval: '60s',
    dry_run: true,
    for_cycles: 1,
    reset_after_cycles: 3,
    grace_cycles: 2,
    max_parallel: 4,
    thresholds: { load: { per_core: false } },
    mounts: [],
    services: { names: [], severity: 'HIGH', for_cycles: 1 },
    budget: { max_actions: 3, within_cycles: 10, backoff_cycles: 1, max_backoff_cycles: 16 },
  });
  const now = Date.UTC(2026, 11, 2);
  const rows = [];

  // Detection: cpu 85, mem 75, disk 88, no services → 1 issue.
  const detectIn = [
    { detector: 'cpu', component: 'cpu', value: 85 },
    { detector: 'memory', component: 'memory', value: 75 },
    { detector: 'disk', component: '/', value: 88 },
  ];
  const state = emptyDetectorState();
  let found = 0;
  const det = await opsPerSecond(() => (found = judge(state, detectIn, cfg, now).issues.length));
  const limits = { cpu: 80, memory: 85, disk: 90 };
  const bareDetect = await opsPerSecond(() => {
    const issues = [];
    for (const r of detectIn)
      if (r.value >= limits[r.detector]) issues.push({ component: r.component, metric_value: r.value });
    return issues;
  });
  rows.push({ name: 'heal: bare threshold comparisons, 3 values (baseline)', median: bareDetect.rate, unit: 'ops/s' });
  rows.push({
    name: `heal: detection, cpu 85 mem 75 disk 88 → ${found} issue (seed: 12,740 ops/s)`,
    median: det.rate,
    unit: 'ops/s',
    baseline: { name: 'bare comparisons', value: bareDetect.rate },
    target: target(det.rate, 800_000, '≥ 800,000 ops/s'),
  });
  rows.push({ name: '  detection: memory per op', median: det.bytes, unit: 'B' });

  // Resolution of one fixed cpu issue.
  const cpuIssue = judge(emptyDetectorState(), [{ detector: 'cpu', component: 'cpu', value: 95 }], cfg, now).issues[0];
  const memIssue = { ...cpuIssue, detector: 'memory', component: 'memory' };
  const ctx = { plugin: 'heal' };
  const resolvers = [
    { kind: 'heal-resolver', id: 'default', plugin: 'heal', tier: 'trusted', meta: { priority: 1000 } },
  ];
  const actions = new Set(['clear_system_cache', 'cleanup_disk', 'restart_service']);
  const res = await opsPerSecond(() => resolveIssue(ctx, cpuIssue, resolvers, actions));
  const plan = await opsPerSecond(() => defaultPlan(memIssue));
  const bareResolve = await opsPerSecond(() => {
    switch (memIssue.detector) {
      case 'memory':
        return { action: 'clear_system_cache', parameters: { level: 1 } };
      default:
        return null;
    }
  });
  rows.push({ name: 'heal: bare switch on the detector (baseline)', median: bareResolve.rate, unit: 'ops/s' });
  rows.push({
    name: 'heal: resolution, one cpu issue through the resolver chain (seed: 1,221,437 ops/s)',
    median: res.rate,
    unit: 'ops/s',
    baseline: { name: 'bare switch', value: bareResolve.rate },
    target: target(res.rate, 5_000_000, '≥ 5,000,000 ops/s'),
  });
  rows.push({
    name: '  resolution: defaultPlan alone (sync, a memory issue → clear_system_cache)',
    median: plan.rate,
    unit: 'ops/s',
    baseline: { name: 'bare switch', value: bareResolve.rate },
    target: target(plan.rate, 5_000_000, '≥ 5,000,000 ops/s'),
  });
  rows.push({ name: '  resolution: memory per op (resolver chain)', median: res.bytes, unit: 'B' });

  // End to end in dry run: 4 issues, 3 recorded actions, no I/O.
  const e2eIn = [
    { detector: 'cpu', component: 'cpu', value: 95 },
    { detector: 'memory', component: 'memory', value: 88 },
    { detector: 'disk', component: '/', value: 92 },
    { detector: 'service', component: 'nginx', value: 1, manager: 'systemd', detail: 'inactive' },
  ];
  const recorded = [];
  const deps = {
    now: () => now,
    dryRun: true,
    resolve: (issue) => resolveIssue(ctx, issue, resolvers, actions),
    veto: () => null,
    act: async (_issue, p) => ({ ok: true, detail: 'recorded', would: [`would ${p.action}`] }),
  };
  // Each op's outcome is returned (kept in sink); the shape is read from the last one, outside the timing.
  const e2e = await opsPerSecond(() => healCycle(emptyDetectorState(), e2eIn, cfg, deps), { isAsync: true, n: 10_000 });
  const last = await healCycle(emptyDetectorState(), e2eIn, cfg, deps);
  const shape = `${last.judgement.issues.length} issues, ${last.results.filter((r) => r.would_have_done).length} recorded actions`;
  const bareE2e = await opsPerSecond(() => {
    const issues = [];
    for (const r of e2eIn) if (r.value >= (limits[r.detector] ?? 1)) issues.push(r);
    const out = [];
    for (const i of issues) {
      const a =
        i.detector === 'memory'
          ? 'clear_system_cache'
          : i.detector === 'disk'
            ? 'cleanup_disk'
            : i.detector === 'service'
              ? 'restart_service'
              : null;
      if (a) out.push({ issue: i, action: a });
    }
    recorded.length = 0;
    recorded.push(...out);
    return out;
  });
  rows.push({ name: 'heal: bare detect + resolve + record loops (baseline)', median: bareE2e.rate, unit: 'ops/s' });
  rows.push({
    name: `heal: end to end, dry run, cpu 95 mem 88 disk 92 + 1 inactive service → ${shape} (seed: 1,486 ops/s)`,
    median: e2e.rate,
    unit: 'ops/s',
    baseline: { name: 'bare loops', value: bareE2e.rate },
    target: target(e2e.rate, 350_000, '≥ 350,000 ops/s'),
  });
  rows.push({ name: '  end to end: memory per op', median: e2e.bytes, unit: 'B' });

  // A real detection cycle from the live /proc, through the heal plugin's ctx.
  const home = await mkdtemp(join(tmpdir(), 'cx-heal-bench-'));
  try {
    const { Kernel } = await import(dist('core/kernel.js'));
    const { resolvePaths } = await import(dist('core/paths.js'));
    const paths = resolvePaths(
      {
        root: '/',
        configDir: join(home, 'etc'),
        dataDir: join(home, 'data'),
        logDir: join(home, 'log'),
        cacheDir: join(home, 'cache'),
        builtinDir: fileURLToPath(dist('plugins-builtin/')),
      },
      {},
    );
    const kernel = await Kernel.boot({ paths, terminal: { out() {}, err() {}, color: false, interactive: false } });
    const hctx = kernel.context(kernel.requirePlugin('heal'));
    const live = emptyDetectorState();
    let prev = (await readHost(hctx, cfg, undefined)).cpu;
    const cycle = async () => {
      const h = await readHost(hctx, cfg, prev ?? undefined);
      prev = h.cpu;
      judge(live, h.readings, cfg, Date.now());
    };
    const viaCtx = await opsPerSecond(cycle, { isAsync: true, n: 1000, rounds: 9 });
    // Where a cycle's time goes: the kernel files in one batch (synchronous reads), and the statfs
    // of the mounts in one statfsMany (synchronous for a local file system's mount point, as the
    // mount table just read says; a remote one would go through the thread pool), beside one
    // ctx.fs.statfs (always through the thread pool).
    const files = ['/proc/stat', '/proc/meminfo', '/proc/loadavg', '/proc/mounts'];
    const batch = await opsPerSecond(() => hctx.fs.readSmallFiles(files), { isAsync: true, n: 1000, rounds: 9 });
    const oneStatfs = await opsPerSecond(() => hctx.fs.statfs('/'), { isAsync: true, n: 200, rounds: 9 });
    const manyStatfs = await opsPerSecond(() => hctx.fs.statfsMany(['/']), { isAsync: true, n: 1000, rounds: 9 });
    let p2;
    const bare = await opsPerSecond(
      async () => {
        const [stat, mem, load] = await Promise.all(
          ['/proc/stat', '/proc/meminfo', '/proc/loadavg'].map((f) => readFile(f, 'utf8')),
        );
        const cpu = parseCpuTimes(stat);
        cpuPercent(p2, cpu);
        p2 = cpu ?? undefined;
        await statfs('/');
        return mem.length + load.length;
      },
      { isAsync: true, n: 200, rounds: 9 },
    );
    // The floor: the same reads synchronous (and with /proc/mounts, as a cycle reads it when no
    // mounts are configured).
    const syncReads = (withMounts) => {
      let prevCpu;
      return () => {
        const cpu = parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
        cpuPercent(prevCpu, cpu);
        prevCpu = cpu ?? undefined;
        const mounts = withMounts ? readFileSync('/proc/mounts', 'utf8').length : 0;
        statfsSync('/');
        return readFileSync('/proc/meminfo', 'utf8').length + readFileSync('/proc/loadavg', 'utf8').length + mounts;
      };
    };
    const syncAll = await opsPerSecond(syncReads(true), { n: 1000, rounds: 9 });
    const sync = await opsPerSecond(syncReads(false), { n: 1000, rounds: 9 });
    await kernel.shutdown();
    const micro = (name, r) => rows.push({ name, median: 1e6 / r.rate, unit: 'µs' });
    micro('heal: the same reads, synchronous (the floor of the system calls)', sync);
    micro('  the reads a cycle makes, synchronous: those and /proc/mounts (mounts are not configured)', syncAll);
    const us = 1e6 / viaCtx.rate;
    micro('heal: live /proc reads with bare node:fs (stat, meminfo, loadavg, statfs /) (baseline)', bare);
    micro('  live: stat, meminfo, loadavg, mounts in one ctx.fs.readSmallFiles call', batch);
    micro('  live: one ctx.fs.statfs (through the thread pool; / here)', oneStatfs);
    micro(
      "  live: one ctx.fs.statfsMany(['/']) (local: synchronous; back to back, the table < 1 ms old is reused)",
      manyStatfs,
    );
    rows.push({
      name: 'heal: a real detection cycle from the live /proc (readHost + judge, audited ctx.fs)',
      median: us,
      unit: 'µs',
      baseline: { name: 'bare node:fs', value: 1e6 / bare.rate },
      target: targetMax(us, 100, '≤ 100 µs'),
    });
    rows.push({
      name: '  live cycle: CPU time per op (all threads; beside the synchronous reads with /proc/mounts)',
      median: viaCtx.cpuUs,
      unit: 'µs',
      baseline: { name: 'synchronous reads, CPU', value: syncAll.cpuUs },
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  if (sunk.length === 0) rows.push({ name: 'nothing measured', median: NaN, unit: '' });
  rows.push({ name: `  load average after the run: ${load}`, median: NaN, unit: '' });
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await benchHeal())
    process.stdout.write(
      `${r.name}: ${Number.isFinite(r.median) ? r.median.toFixed(r.median >= 100 ? 0 : 2) : '-'} ${r.unit}${r.baseline ? ` (baseline ${r.baseline.name}: ${r.baseline.value.toFixed(0)})` : ''}${r.target ? ` [target ${r.target}]` : ''}\n`,
    );
  process.exit(0);
}
