// deploy benchmarks (imported by test/bench/run.js; runnable alone: node test/bench/deploy.bench.js).
// `deploy plan` work — read a JSON manifest, schema-check it, validate it (dependencies, cycles,
// IPs, hostnames, ports), build the waves and print them as text — on generated manifests of
// 1,000 / 10,000 / 100,000 services with three dependencies each, beside coreutils `tsort`
// ordering the same graph in the same run. Target: 10,000 services / 30,000 edges ≤ 100 ms
// (median), linear in services + edges. Each run starts from a collected heap, as a fresh
// `cx-ops deploy plan` process does (otherwise each run pays for the garbage of the one before).
// Also shown, without a target: the same manifest as YAML (the `yaml` library's parser), and the
// whole CLI process (node start, kernel boot, plugin load, ajv compile) on the 10,000 manifest.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const dist = (p) => new URL(`../../dist/plugins-builtin/deploy/${p}`, import.meta.url).href;
const LAUNCHER = fileURLToPath(new URL('../../core/bin/cx-ops.js', import.meta.url));

setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? runInNewContext('gc');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A layered DAG: each service needs 3 services of earlier ones (deterministic). */
function manifest(n) {
  const services = {};
  const pairs = [];
  let x = 12345;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    if (i > 0) for (let k = 0; k < 3; k++) deps.add(Math.floor(rnd() * i));
    const name = `svc-${i}`;
    services[name] = {
      enable: true,
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      hostname: `svc-${i}.example.com`,
      depends_on: [...deps].map((d) => `svc-${d}`),
      ports: [8080],
    };
    if (!deps.size) pairs.push(`${name} ${name}`);
    for (const d of deps) pairs.push(`svc-${d} ${name}`);
  }
  // Only the text is kept: a process planning the manifest holds no second copy of it.
  return {
    text: JSON.stringify({ network: { network_cidr: '10.0.0.0/8' }, services }),
    edges: pairs.length,
    pairs: `${pairs.join('\n')}\n`,
  };
}

/** Wall-clock and CPU milliseconds of `runs` calls of fn, each after a full collection. */
function measure(runs, fn) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < runs; i++) {
    gc();
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t) / 1e6);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

export async function benchDeploy() {
  const { readManifest } = await import(dist('read-manifest.js'));
  const { validateServiceManifest } = await import(dist('validate-manifest.js'));
  const { generateDeploymentPlan, formatPlanText } = await import(dist('deployment-plan.js'));
  const { stringify } = await import('yaml');
  const plan = (text, file) => {
    const r = readManifest(text, file);
    if (!r.ok) throw new Error(r.problems[0].message);
    const problems = validateServiceManifest(r.source);
    if (problems.length) throw new Error(problems[0].message);
    return formatPlanText(generateDeploymentPlan(r.source.manifest)).length;
  };
  const rows = [];
  const perElement = {};
  const dir = await mkdtemp(join(tmpdir(), 'cx-bench-deploy-'));
  try {
    for (const n of [1000, 10000, 100000]) {
      const m = manifest(n);
      const runs = n >= 100000 ? 7 : 31;
      const file = join(dir, `edges-${n}.txt`);
      await writeFile(file, m.pairs);
      m.pairs = null;
      plan(m.text, 'bench.json');
      const ours = measure(runs, () => plan(m.text, 'bench.json'));
      const theirs = [];
      for (let i = 0; i < runs; i++) {
        const t = process.hrtime.bigint();
        const r = spawnSync('tsort', [file], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
        theirs.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.status !== 0) throw new Error(`tsort failed: ${r.stderr}`);
      }
      const base = median(theirs);
      perElement[n] = (ours.wall * 1000) / (n + m.edges);
      rows.push({ name: `tsort, ${n} services / ${m.edges} edges (baseline)`, median: base, unit: 'ms' });
      const target = n === 10000 ? `≤ 100 ms: ${ours.wall <= 100 ? 'met' : 'MISSED'}` : 'linear';
      rows.push({
        name: `deploy plan incl. validation, ${n} services / ${m.edges} edges`,
        median: ours.wall,
        cpu: ours.cpu,
        unit: 'ms',
        baseline: { name: 'tsort', value: base },
        target,
      });
      if (n <= 10000) {
        // YAML: the same manifest; no target (the yaml library's parser is most of it).
        const yaml = stringify(JSON.parse(m.text));
        plan(yaml, 'bench.yaml');
        const y = measure(3, () => plan(yaml, 'bench.yaml'));
        rows.push({
          name: `deploy plan incl. validation, same manifest as YAML, ${n} services`,
          median: y.wall,
          cpu: y.cpu,
          unit: 'ms',
          baseline: { name: 'tsort', value: base },
          target: 'none (yaml parser)',
        });
      }
      if (n === 10000) {
        // The whole command, as a user runs it: one process per run.
        const json = join(dir, 'manifest-10000.json');
        await writeFile(json, m.text);
        const run = () => {
          const r = spawnSync(
            process.execPath,
            ['--no-node-snapshot', LAUNCHER, '--root', dir, 'deploy', 'plan', json],
            {
              stdio: ['ignore', 'ignore', 'pipe'],
              env: { PATH: process.env.PATH, HOME: dir, CX_PLUGIN_PATH: '' },
              maxBuffer: 1 << 28,
            },
          );
          if (r.status !== 0) throw new Error(`cx-ops deploy plan failed: ${r.stderr}`);
        };
        run();
        const cli = [];
        for (let i = 0; i < 5; i++) {
          const t = process.hrtime.bigint();
          run();
          cli.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        rows.push({
          name: `cx-ops deploy plan, whole process (node start, kernel boot, ajv compile), ${n} services`,
          median: median(cli),
          unit: 'ms',
          baseline: { name: 'tsort', value: base },
          target: 'none',
        });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // Linear: the cost per service + edge may not grow more than 2× from 10,000 to 100,000.
  const growth = perElement[100000] / perElement[10000];
  const linear = rows.find((r) => r.name.startsWith('deploy plan incl. validation, 100000'));
  linear.target = `linear: ${growth <= 2 ? 'met' : 'MISSED'} (${perElement[10000].toFixed(2)} µs per service+edge at 10k, ${perElement[100000].toFixed(2)} µs at 100k: ${growth.toFixed(2)}×; up to 2× counts as linear)`;
  return rows;
}

function describe(r) {
  const ratio = r.baseline
    ? ` (${r.baseline.name} ${r.baseline.value.toFixed(1)} ${r.unit}, ${(r.median / r.baseline.value).toFixed(2)}×)`
    : '';
  const cpu = r.cpu !== undefined ? ` [cpu ${r.cpu.toFixed(1)} ms]` : '';
  const verdict = r.target ? ` - target ${r.target}` : '';
  return `${r.name}: ${r.median.toFixed(1)} ${r.unit}${cpu}${ratio}${verdict}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Not run.js's printTable: importing run.js runs every benchmark.
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )} on ${(await import('node:os')).cpus().length} cores (wall-clock medians; cpu is user+system of this process)`,
  );
  for (const r of await benchDeploy()) console.log(describe(r));
}
