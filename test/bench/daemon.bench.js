// Daemon benchmarks (imported by test/bench/run.js; runnable alone: node test/bench/daemon.bench.js).
//  - RSS of `cx-ops daemon` with every built-in check (but the network pair) after 100 cycles at a
//    1 s interval, started as the shipped unit starts it (its ExecStart, core/bin/cx-ops-daemon with
//    the daemon's V8 and malloc settings, and its Environment= lines) and, for comparison, as plain
//    `node cx-ops.js daemon`, both with a cold plugin shape cache (a first start). Both the daemon's
//    own process and its whole process tree (the process reaper's sh, any sandbox process) are
//    given; beside them prometheus-node-exporter's and Monit's RSS when they are installed;
//  - CPU per checks cycle, and the share of a core that makes at a 10 s interval: the daemon's
//    own CPU, and with the programs it runs (ps, dpkg, ...) counted in;
//  - /metrics and /health latency p50/p99 under 50 concurrent keep-alive clients for 10 s each,
//    beside node_exporter's /metrics under the same load.
// The host is only read (--root /); everything cx-ops writes goes to a temp dir.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const launcher = join(repo, 'core/bin/cx-ops.js');
const CHECKS = [
  'disk_space',
  'memory',
  'cpu_load',
  'apt_status',
  'systemd_failed',
  'time_sync',
  'swap_usage',
  'security_updates',
  'zombie_processes',
  'file_descriptors',
];
const TICK = 100; // clock ticks per second (USER_HZ)

export const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

export const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

/** The process and every live descendant (from /proc/PID/task/TID/children). */
export function treePids(pid) {
  const out = [];
  const walk = (p) => {
    out.push(p);
    let tasks;
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids;
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) walk(Number(k));
    }
  };
  walk(pid);
  return out;
}

/** RSS of the process tree (pages shared between its processes counted in each, as RSS does). */
export const treeRssMb = (pid) =>
  treePids(pid).reduce(
    (sum, p) =>
      sum +
      (() => {
        try {
          return rssMb(p);
        } catch {
          return 0;
        }
      })(),
    0,
  );

const statFields = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');

/** CPU seconds (user + system) the process used so far. */
export const cpuSeconds = (pid) => {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) / TICK;
};

/** CPU seconds of the process, its reaped children (programs it ran) and its live descendants. */
export const treeCpuSeconds = (pid) =>
  treePids(pid).reduce((sum, p) => {
    try {
      const f = statFields(p);
      return sum + (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK;
    } catch {
      return sum;
    }
  }, 0);

/** The Environment= lines of the shipped unit (how systemd starts the daemon). */
export function unitEnvironment() {
  const unit = readFileSync(join(repo, 'plugins-builtin/daemon/cx-ops.service'), 'utf8');
  const env = {};
  for (const m of unit.matchAll(/^Environment=(?:"([^"]*)"|(\S+))\s*$/gm)) {
    const kv = m[1] ?? m[2];
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** The shipped unit's ExecStart, as a program of this checkout and its arguments. */
export function unitExecStart() {
  const unit = readFileSync(join(repo, 'plugins-builtin/daemon/cx-ops.service'), 'utf8');
  const [program, ...args] = /^ExecStart=(.*)$/m.exec(unit)[1].trim().split(/\s+/);
  const name = program.split('/').at(-1);
  if (name !== 'cx-ops-daemon') throw new Error(`the unit's ExecStart runs ${program}, not cx-ops-daemon`);
  return { file: join(repo, 'core/bin', name), args };
}

/**
 * Starts `cx-ops daemon` (JSON logs); resolves once it listens. `onLine` sees every log line.
 * `unit: true` starts it as the shipped unit does (its ExecStart and Environment= lines).
 */
export async function startDaemon(dir, configYaml, options = {}) {
  const { onLine = () => undefined, onStart = () => undefined, extraArgs = [], nodeArgs = [], unit = false } = options;
  const env = unit ? { ...unitEnvironment(), ...options.env } : (options.env ?? {});
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc/config.yaml'), configYaml);
  const exec = unit ? unitExecStart() : undefined;
  const child = spawn(
    exec ? exec.file : process.execPath,
    [
      ...(exec ? [] : [...nodeArgs, launcher]),
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
      ...extraArgs,
      ...(exec ? exec.args.filter((a) => a !== '--log-format' && a !== 'json') : ['daemon']),
      '--log-format',
      'json',
    ],
    {
      env: { ...process.env, HOME: dir, CX_PLUGIN_PATH: '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  onStart(child);
  let pending = '';
  let port;
  const listening = new Promise((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`daemon exited with ${c}`)));
    child.stderr.on('data', (b) => {
      pending += b.toString();
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, i);
        pending = pending.slice(i + 1);
        let l;
        try {
          l = JSON.parse(text);
        } catch {
          continue;
        }
        if (l.type === 'listening') {
          port = l.data.port;
          resolve();
        }
        onLine(l);
      }
    });
  });
  await listening;
  return {
    child,
    port,
    stop: () =>
      new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

/** GETs `path` from `concurrency` keep-alive clients for `seconds`; latencies in ms. */
export async function load(port, path, { concurrency = 50, seconds = 10 } = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const lat = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const one = () =>
    new Promise((resolve) => {
      const t = process.hrtime.bigint();
      const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode >= 500 && res.statusCode !== 503) errors++;
          lat.push(Number(process.hrtime.bigint() - t) / 1e6);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  agent.destroy();
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), n: lat.length, errors };
}

async function nodeExporter() {
  if (!existsSync('/usr/bin/prometheus-node-exporter')) return undefined;
  const port = await freePort();
  const child = spawn('/usr/bin/prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const ok = await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) break;
  }
  return { child, port };
}

async function monitRss(dir) {
  if (!existsSync('/usr/bin/monit')) return undefined;
  const rc = join(dir, 'monitrc');
  await writeFile(
    rc,
    `set daemon 10\nset pidfile ${join(dir, 'monit.pid')}\nset idfile ${join(dir, 'monit.id')}\nset statefile ${join(dir, 'monit.state')}\ncheck system localhost\n  if loadavg (1min) > 100 then alert\n`,
  );
  await chmod(rc, 0o600);
  const child = spawn('/usr/bin/monit', ['-I', '-c', rc], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 3000));
  const rss = child.exitCode === null ? rssMb(child.pid) : NaN;
  child.kill('SIGTERM');
  return rss;
}

const daemonConfig = `daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [${CHECKS.join(', ')}]\n  rate_limit_per_minute: 1000000\n  log_lines_per_minute: 100000\n`;

const started = [];

/**
 * Runs the daemon for `cycles` checks cycles; its RSS (own, tree: medians of the last ten cycles) and CPU per
 * cycle from cycle 10 on. Leaves it running.
 */
async function runCycles(dir, cycles, start) {
  let done = 0;
  let pid;
  const at = {};
  const samples = [];
  let reached;
  const reachedAll = new Promise((r) => (reached = r));
  const d = await startDaemon(dir, daemonConfig, {
    ...start,
    onStart: (child) => started.push(child),
    onLine: (l) => {
      if (l.type !== 'cycle_end' || l.data?.job !== 'checks') return;
      done++;
      if (done === 10 || done === cycles) at[done] = { own: cpuSeconds(pid), tree: treeCpuSeconds(pid) };
      // RSS moves by a few MB with where the last garbage collection fell: the median of the last ten cycles.
      if (done > cycles - 10) samples.push({ own: rssMb(pid), tree: treeRssMb(pid) });
      if (done === cycles) reached();
    },
  });
  pid = d.child.pid;
  await reachedAll;
  const n = cycles - 10;
  return {
    d,
    rss: quantile(
      samples.map((x) => x.own),
      0.5,
    ),
    treeRss: quantile(
      samples.map((x) => x.tree),
      0.5,
    ),
    treeSize: treePids(pid).length,
    ownMs: ((at[cycles].own - at[10].own) / n) * 1000,
    treeMs: ((at[cycles].tree - at[10].tree) / n) * 1000,
    auditBytesPerCycle: (() => {
      try {
        return statSync(join(dir, 'log/audit.jsonl')).size / cycles;
      } catch {
        return NaN;
      }
    })(),
  };
}

export async function benchDaemon({ cycles = 100 } = {}) {
  const rows = [];
  const dir = await mkdtemp(join(tmpdir(), 'cx-bench-daemon-'));
  const plainDir = await mkdtemp(join(tmpdir(), 'cx-bench-daemon-plain-'));
  try {
    // The plain run first, stopped before the measured one starts (never two daemons at once).
    const plain = await runCycles(plainDir, cycles, {});
    await plain.d.stop();
    const r = await runCycles(dir, cycles, { unit: true });
    const ne = await nodeExporter();
    const neRss = ne ? rssMb(ne.child.pid) : undefined;
    const monit = await monitRss(dir);
    const ner = neRss !== undefined ? { name: 'node_exporter RSS', value: neRss } : undefined;
    rows.push({
      name: `daemon RSS after ${cycles} cycles (${CHECKS.length} built-in checks; median of the last 10), as the unit runs it (core/bin/cx-ops-daemon)`,
      median: r.rss,
      unit: 'MB',
      baseline: ner,
      target: '≤ 60 MB',
    });
    rows.push({
      name: `  the same daemon's process tree (${r.treeSize} processes: the daemon, its reaper sh, sandbox processes)`,
      median: r.treeRss,
      unit: 'MB',
    });
    rows.push({
      name: `daemon RSS after ${cycles} cycles, plain node cx-ops.js daemon (no unit tuning)`,
      median: plain.rss,
      unit: 'MB',
    });
    if (monit !== undefined) rows.push({ name: 'Monit RSS (baseline)', median: monit, unit: 'MB' });
    rows.push({ name: 'daemon CPU per checks cycle, its own process', median: r.ownMs, unit: 'ms' });
    rows.push({
      name: 'daemon CPU per checks cycle, with the programs it runs (ps, ...)',
      median: r.treeMs,
      unit: 'ms',
    });
    rows.push({
      name: 'daemon CPU share at a 10 s interval, own process',
      median: (r.ownMs / 10_000) * 100,
      unit: '%',
      target: '≤ 1 %',
    });
    rows.push({
      name: 'daemon CPU share at a 10 s interval, with its programs',
      median: (r.treeMs / 10_000) * 100,
      unit: '%',
      target: '≤ 1 %',
    });
    rows.push({
      name: '  plain node (no unit tuning): CPU share with its programs',
      median: (plain.treeMs / 10_000) * 100,
      unit: '%',
    });
    // The kernel audits every capability call (a day at 10 s: × 8640); the file is rotated by size (config audit:).
    rows.push({
      name: 'audit log written per checks cycle (<log-dir>/audit.jsonl, rotated at audit.max_mb)',
      median: r.auditBytesPerCycle / 1024,
      unit: 'KiB',
    });
    const d = r.d;
    const neMetrics = ne ? await load(ne.port, '/metrics') : undefined;
    const metrics = await load(d.port, '/metrics');
    const health = await load(d.port, '/health');
    if (neMetrics)
      rows.push({
        name: `node_exporter /metrics p50, 50 clients × 10 s (${neMetrics.n} requests)`,
        median: neMetrics.p50,
        unit: 'ms',
      });
    if (neMetrics) rows.push({ name: 'node_exporter /metrics p99', median: neMetrics.p99, unit: 'ms' });
    rows.push({
      name: `daemon /metrics p50, 50 clients × 10 s (${metrics.n} requests, ${metrics.errors} errors)`,
      median: metrics.p50,
      unit: 'ms',
      baseline: neMetrics ? { name: 'node_exporter p50', value: neMetrics.p50 } : undefined,
    });
    rows.push({ name: 'daemon /metrics p99', median: metrics.p99, unit: 'ms', target: '≤ 20 ms' });
    rows.push({
      name: `daemon /health p50, 50 clients × 10 s (${health.n} requests, ${health.errors} errors)`,
      median: health.p50,
      unit: 'ms',
    });
    rows.push({ name: 'daemon /health p99', median: health.p99, unit: 'ms', target: '≤ 20 ms' });
    ne?.child.kill('SIGTERM');
    await d.stop();
  } finally {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    await rm(plainDir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const printTable = (list) => {
    for (const r of list)
      process.stdout.write(
        `${r.name.padEnd(72)} ${Number(r.median).toFixed(2).padStart(9)} ${r.unit}${r.baseline ? `   baseline ${r.baseline.name}: ${Number(r.baseline.value).toFixed(2)} ${r.unit}` : ''}${r.target ? `   target ${r.target}` : ''}\n`,
      );
  };
  spawnSync(process.execPath, [join(repo, 'core/bin/build.js')], { stdio: 'inherit' });
  printTable(await benchDaemon({ cycles: Number(process.env.CYCLES) || 100 }));
}
