#!/usr/bin/env node
// `npm run bench`: medians of the kernel's hot paths, each beside a baseline measured in the
// same run. Plain Node (no test runner): performance is measured here, never in timed tests.
import { execFileSync, fork } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const dist = (p) => new URL(`../../dist/${p}`, import.meta.url).href;
const rows = [];

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** CPU time (µs) the threads of a process have run, from /proc/PID/task/TID/schedstat (NaN where there is none). */
function cpuOf(pid) {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1000;
  } catch {
    return NaN;
  }
}

async function time(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

function row(name, ms, unit = 'ms', baseline, target) {
  rows.push({ name, median: ms, unit, baseline, target });
}

async function coldStart() {
  const root = await mkdtemp(join(tmpdir(), 'cx-bench-'));
  const launcher = join(repo, 'core/bin/cx-ops.js');
  const run = (args) => execFileSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, HOME: root } });
  run(['-e', '0']);
  run([launcher, '--root', root, 'plugins', 'list']);
  const node = median(await time(15, () => run(['-e', '0'])));
  const list = median(await time(15, () => run([launcher, '--root', root, 'plugins', 'list'])));
  row('node -e 0 (baseline)', node);
  row('cx-ops plugins list, cold start', list, 'ms', { name: 'node -e 0', value: node }, '≤ 3×');
  await rm(root, { recursive: true, force: true });
}

async function hooks() {
  const { HookBus } = await import(dist('core/hooks.js'));
  const bus = new HookBus();
  const TAPS = 100;
  for (let i = 0; i < TAPS; i++) bus.tap('post_check', { plugin: `p${i}` }, async () => undefined);
  const empty = new HookBus();
  await time(200, () => bus.call('post_check', {}));
  const withTaps = median(await time(500, () => bus.call('post_check', {})));
  const none = median(await time(500, () => empty.call('post_check', {})));
  row('hook dispatch, per tap (100 taps)', ((withTaps - none) / TAPS) * 1000, 'µs');
}

async function sandbox() {
  if (!existsSync(fileURLToPath(dist('core/sandbox/host.js')))) {
    row('sandbox: not built', NaN);
    return;
  }
  const { SandboxHost } = await import(dist('core/sandbox/host.js'));
  const { Kernel } = await import(dist('core/kernel.js'));
  const { resolvePaths } = await import(dist('core/paths.js'));
  const code = `export default { name: 'bench', contributes: [{ kind: 'command', id: 'noop', meta: {}, async run() { return 0; } }] };`;
  // Sandbox start per plugin: each plugin is a process of its own (spawn + isolate + code).
  const host = new SandboxHost();
  await host.load({ name: 'warm', code, filename: 'warm.js' });
  const starts = await time(15, (i) => host.load({ name: `bench-${i}`, code, filename: `bench-${i}.js` }));
  const reloads = await time(40, () => host.load({ name: 'warm', code, filename: 'warm.js' }));
  const nodeStart = median(
    await time(
      15,
      () =>
        new Promise((r) => fork(fileURLToPath(new URL('./echo-child.js', import.meta.url)), ['exit']).once('exit', r)),
    ),
  );
  row('node child process start + exit (baseline)', nodeStart);
  row('sandbox start per plugin (process + isolate + code)', median(starts), 'ms', {
    name: 'node child start',
    value: nodeStart,
  });
  row('isolate reload in a running sandbox process', median(reloads), 'ms', undefined, '≤ 5 ms');
  await host.close();

  // The floor: a bare JSON IPC round trip to a child process, measured in this same run, in
  // rounds interleaved with the sandboxed round trip (both see the same load).
  const echo = fork(fileURLToPath(new URL('./echo-child.js', import.meta.url)), [], { serialization: 'json' });
  const ask = (m) =>
    new Promise((r) => {
      echo.once('message', r);
      echo.send(m);
    });
  const direct = new SandboxHost();
  const plugin = await direct.load({
    name: 'rt',
    code: `export default { name: 'rt', contributes: [{ kind: 'noop', id: 'x', meta: {}, async run(ctx, input) { return input; } }] };`,
    filename: 'rt.js',
  });
  const ctx = {
    plugin: 'rt',
    tier: 'sandboxed',
    config: {},
    env: {},
    io: { color: false, interactive: false },
    plugins: { installDir: '' },
  };
  const target = { type: 'contribution', kind: 'noop', id: 'x' };
  await time(500, () => ask({ n: 1 }));
  await time(500, () => plugin.call(target, { n: 1 }, ctx));
  const floors = [];
  const trips = [];
  // CPU time per round trip of both processes (this one and the child), per round: under load
  // the wall time mostly measures the scheduler, the CPU time what each side really costs.
  const [floorCpu, tripCpu] = [[], []];
  const cpuRound = async (list, pid, fn) => {
    const [c0, k0] = [process.cpuUsage(), cpuOf(pid)];
    const walls = await time(300, fn);
    const c = process.cpuUsage(c0);
    list.push((c.user + c.system + cpuOf(pid) - k0) / 300);
    return walls;
  };
  for (let r = 0; r < 10; r++) {
    floors.push(...(await cpuRound(floorCpu, echo.pid, () => ask({ n: 1 }))));
    trips.push(...(await cpuRound(tripCpu, direct.pidOf('rt'), () => plugin.call(target, { n: 1 }, ctx))));
  }
  const floor = median(floors) * 1000;
  const sandboxRt = median(trips) * 1000;
  echo.kill();
  row('JSON IPC round trip to a child_process.fork child (floor)', floor, 'µs');
  await direct.close();
  rows.push({
    name: 'sandboxed call round trip (SandboxHost, no kernel)',
    median: sandboxRt,
    unit: 'µs',
    ratio: sandboxRt / floor,
    baseline: { name: 'fork floor', value: floor },
    target: '≤ 1.5× floor',
  });
  if (floorCpu.every(Number.isFinite) && tripCpu.every(Number.isFinite))
    rows.push({
      name: '  the same, CPU time of both processes per round trip',
      median: median(tripCpu),
      unit: 'µs',
      ratio: median(tripCpu) / median(floorCpu),
      baseline: { name: 'fork floor', value: median(floorCpu) },
    });

  // Round trip through the kernel: the same no-op contribution, sandboxed vs trusted.
  const home = await mkdtemp(join(tmpdir(), 'cx-bench-k-'));
  for (const [name, tier] of [
    ['noop-sandboxed', 'sandboxed'],
    ['noop-trusted', 'trusted'],
  ]) {
    const dir = join(home, 'plugins', name);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'plugin.yaml'),
      `name: ${name}\nversion: 1.0.0\ndescription: bench\nplugin_type: command\nmain: index.js\ncx_version: "*"\ntier: ${tier}\n`,
    );
    await writeFile(
      join(dir, 'index.js'),
      `export default { name: '${name}', contributes: [{ kind: 'noop', id: '${tier}', meta: {}, async run(ctx, input) { return input; } }], kinds: ${tier === 'trusted' ? "[{ kind: 'noop', description: 'bench' }]" : '[]'} };`,
    );
  }
  await mkdir(join(home, 'data'), { recursive: true });
  await writeFile(
    join(home, 'data/state.json'),
    JSON.stringify({
      version: 1,
      plugins: {
        'noop-sandboxed': { enabled: true, tier: 'sandboxed', grants: [] },
        'noop-trusted': { enabled: true, tier: 'trusted', grants: [] },
      },
    }),
  );
  const paths = resolvePaths(
    { root: home, dataDir: join(home, 'data'), builtinDir: join(home, 'none'), pluginDirs: [join(home, 'plugins')] },
    {},
  );
  const terminal = { out() {}, err() {}, color: false, interactive: false };
  const kernel = await Kernel.boot({ paths, terminal });
  const sb = kernel.registry.get('noop', 'sandboxed');
  const tr = kernel.registry.get('noop', 'trusted');
  if (sb && tr) {
    await time(200, () => sb.invoke({ n: 1 }, { dryRun: false }));
    const [sbs, trs] = [[], []];
    for (let r = 0; r < 10; r++) {
      sbs.push(...(await time(200, () => sb.invoke({ n: 1 }, { dryRun: false }))));
      trs.push(...(await time(200, () => tr.invoke({ n: 1 }, { dryRun: false }))));
    }
    const [s, t] = [median(sbs), median(trs)];
    row('call round trip, trusted (baseline)', t * 1000, 'µs');
    row('call round trip, sandboxed', s * 1000, 'µs', { name: 'trusted', value: t * 1000 });
    rows.push({
      name: 'call round trip through the kernel, sandboxed, vs fork floor',
      median: s * 1000,
      unit: 'µs',
      ratio: (s * 1000) / floor,
      baseline: { name: 'fork floor', value: floor },
      target: '≤ 1.5× floor',
    });
  } else {
    row(`kernel bench plugins failed: ${kernel.bootErrors.map((e) => e.message).join('; ')}`, NaN);
  }
  await kernel.shutdown();
  await rm(home, { recursive: true, force: true });
}

async function extra() {
  const doctorBench = new URL('./doctor.bench.js', import.meta.url);
  if (existsSync(fileURLToPath(doctorBench))) {
    const m = await import(doctorBench.href);
    for (const r of await m.benchDoctor()) rows.push(r);
  }
  const deployBench = new URL('./deploy.bench.js', import.meta.url);
  if (existsSync(fileURLToPath(deployBench))) {
    const m = await import(deployBench.href);
    for (const r of await m.benchDeploy()) rows.push(r);
  }
  const daemonBench = new URL('./daemon.bench.js', import.meta.url);
  if (existsSync(fileURLToPath(daemonBench))) {
    const m = await import(daemonBench.href);
    for (const r of await m.benchDaemon()) rows.push(r);
  }
}

async function hotfix() {
  const m = await import(new URL('./hotfix.bench.js', import.meta.url).href);
  for (const r of await m.benchHotfix()) rows.push(r);
}

async function capabilities() {
  const m = await import(new URL('./capabilities.bench.js', import.meta.url).href);
  for (const r of await m.benchCapabilities()) rows.push(r);
}

async function alerts() {
  const m = await import(new URL('./alerts.bench.js', import.meta.url).href);
  for (const r of await m.benchAlerts()) rows.push(r);
}

async function automation() {
  const m = await import(new URL('./automation.bench.js', import.meta.url).href);
  for (const r of await m.benchAutomation()) rows.push(r);
}

async function heal() {
  const m = await import(new URL('./heal.bench.js', import.meta.url).href);
  for (const r of await m.benchHeal()) rows.push(r);
}

function fmt(n) {
  return Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) : '-';
}

export function printTable(list) {
  const lines = [['benchmark', 'median', 'baseline', 'ratio / added', 'target']];
  for (const r of list) {
    const unit = r.unit ?? 'ms';
    const value = r.median ?? r.median_ms;
    const base = r.baseline?.value ?? r.baseline;
    const ratio = r.ratio
      ? `${Number(r.ratio).toFixed(2)}×`
      : typeof base === 'number'
        ? unit === 'µs'
          ? `+${fmt(value - base)} µs`
          : `${(value / base).toFixed(2)}×`
        : '';
    lines.push([
      r.name,
      `${fmt(value)} ${unit}`,
      typeof base === 'number' ? `${fmt(base)} ${unit} (${r.baseline?.name ?? 'baseline'})` : '',
      ratio,
      r.target ?? '',
    ]);
  }
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  for (const l of lines) process.stdout.write(`${l.map((c, i) => String(c).padEnd(w[i])).join('  ')}\n`);
}

const only = process.argv[2];
for (const [name, fn] of Object.entries({
  coldStart,
  hooks,
  sandbox,
  capabilities,
  extra,
  hotfix,
  alerts,
  automation,
  heal,
})) {
  if (only && only !== name) continue;
  try {
    await fn();
  } catch (e) {
    row(`${name}: failed (${e.message})`, NaN);
  }
}
printTable(rows);
process.exit(0);
