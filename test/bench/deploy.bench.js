// deploy benchmarks (imported by test/bench/run.js; runnable alone: node test/bench/deploy.bench.js).
// `deploy plan`'s work — read the manifest, schema-check it, validate it (dependencies, cycles,
// IPs, hostnames, ports), build the waves and print them as text — on generated manifests of
// 1,000 / 10,000 / 100,000 services with three dependencies each, as YAML (what manifests are
// written in) and as JSON, beside coreutils `tsort` ordering the same graph. Target: 10,000
// services / 30,000 edges ≤ 100 ms (median), linear in services + edges (the cost per service +
// edge grows at most 2× from 10,000 to 100,000). Runs of ours and of tsort alternate, so both see
// the same load; each of ours starts from a collected heap, as a fresh `cx-ops deploy plan`
// process does. Also shown, without a target: a manifest with one mistake (the text is read
// again by the `yaml` library for the position), and the whole CLI process.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir, cpus } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
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

/**
 * A layered DAG: each service needs up to 3 services of earlier ones (deterministic), as YAML
 * (block style, as written by hand or by yaml.stringify), as JSON, and as tsort's pairs.
 */
function manifest(n) {
  const yaml = ['network:', '  network_cidr: 10.0.0.0/8', 'services:'];
  const services = {};
  const pairs = [];
  let x = 12345;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    if (i > 0) for (let k = 0; k < 3; k++) deps.add(Math.floor(rnd() * i));
    const name = `svc-${i}`;
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const depends = [...deps].map((d) => `svc-${d}`);
    services[name] = { enable: true, ip, hostname: `${name}.example.com`, depends_on: depends, ports: [8080] };
    yaml.push(`  ${name}:`, '    enable: true', `    ip: ${ip}`, `    hostname: ${name}.example.com`);
    if (depends.length) yaml.push('    depends_on:', ...depends.map((d) => `      - ${d}`));
    else yaml.push('    depends_on: []');
    yaml.push('    ports: [8080]');
    if (!deps.size) pairs.push(`${name} ${name}`);
    for (const d of deps) pairs.push(`svc-${d} ${name}`);
  }
  const data = { network: { network_cidr: '10.0.0.0/8' }, services };
  // Only texts are kept: a process planning the manifest holds no second copy of it.
  return { yaml: `${yaml.join('\n')}\n`, json: JSON.stringify(data), data, edges: pairs.length, pairs };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function benchDeploy(sizes = [1000, 10000, 100000]) {
  const { readManifest } = await import(dist('read-manifest.js'));
  const { validateServiceManifest } = await import(dist('validate-manifest.js'));
  const { planText } = await import(dist('deployment-plan.js'));
  const { parse: yamlParse } = await import('yaml');
  /** What `deploy plan FILE` does after reading the file: its printed length. */
  const plan = (text, file) => {
    const r = readManifest(text, file);
    if (!r.ok) throw new Error(r.problems[0].message);
    const problems = validateServiceManifest(r.source);
    if (problems.length) throw new Error(problems[0].message);
    return planText(r.source.manifest).length;
  };
  const rows = [];
  const perElement = { yaml: {}, json: {} };
  const dir = await mkdtemp(join(tmpdir(), 'cx-bench-deploy-'));
  const load = [loadavg()[0]];
  try {
    for (const n of sizes) {
      let m = manifest(n);
      const edges = m.edges;
      const tsortInput = join(dir, `edges-${n}.txt`);
      await writeFile(tsortInput, `${m.pairs.join('\n')}\n`);
      // Same work in both forms: the YAML reads as the same data as the JSON (fast path and all).
      {
        const read = readManifest(m.yaml, 'bench.yaml');
        if (!read.ok || !isDeepStrictEqual(read.source.manifest, m.data)) throw new Error('YAML and JSON differ');
      }
      const { yaml, json } = m;
      m = null;
      const runs = n >= 100000 ? 7 : 31;
      const ours = { yaml: [], json: [], yamlCpu: [], jsonCpu: [] };
      const theirs = [];
      plan(yaml, 'bench.yaml');
      plan(json, 'bench.json');
      for (let i = 0; i < runs; i++) {
        for (const form of ['yaml', 'json']) {
          gc();
          const c = cpuMs();
          const t = process.hrtime.bigint();
          plan(form === 'yaml' ? yaml : json, `bench.${form}`);
          ours[form].push(Number(process.hrtime.bigint() - t) / 1e6);
          ours[`${form}Cpu`].push(cpuMs() - c);
        }
        const t = process.hrtime.bigint();
        const r = spawnSync('tsort', [tsortInput], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
        theirs.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.status !== 0) throw new Error(`tsort failed: ${r.stderr}`);
      }
      const base = median(theirs);
      rows.push({ name: `tsort, ${n} services / ${edges} edges (baseline)`, median: base, unit: 'ms' });
      // Where the time goes, in the same run: the reading alone (JSON.parse is the floor; the
      // `yaml` library, which a manifest outside the plain subset goes through, is the YAML
      // baseline), and validate + plan after reading (the algorithms: graph, Kahn's waves, checks).
      {
        const read = { yaml: [], json: [], after: [], parse: [], lib: [] };
        for (let i = 0; i < (n >= 100000 ? 3 : 11); i++) {
          for (const form of ['yaml', 'json']) {
            gc();
            const t = process.hrtime.bigint();
            const r = readManifest(form === 'yaml' ? yaml : json, `bench.${form}`);
            read[form].push(Number(process.hrtime.bigint() - t) / 1e6);
            if (form === 'json') {
              gc();
              const t2 = process.hrtime.bigint();
              validateServiceManifest(r.source);
              planText(r.source.manifest);
              read.after.push(Number(process.hrtime.bigint() - t2) / 1e6);
            }
          }
          gc();
          const t = process.hrtime.bigint();
          JSON.parse(json);
          read.parse.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        // The full YAML parser takes seconds at 10,000 services: a few runs, not at 100,000.
        if (n <= 10000)
          for (let i = 0; i < (n === 10000 ? 3 : 5); i++) {
            gc();
            const t = process.hrtime.bigint();
            yamlParse(yaml, { uniqueKeys: true });
            read.lib.push(Number(process.hrtime.bigint() - t) / 1e6);
          }
        const row = (name, xs, baseline) =>
          rows.push({
            name: `${name}, ${n} services`,
            median: median(xs),
            unit: 'ms',
            target: 'none',
            ...(baseline ? { baseline } : {}),
          });
        row('JSON.parse of the JSON manifest (floor)', read.parse);
        if (read.lib.length) row('yaml library parse of the YAML manifest (baseline)', read.lib);
        row(
          'read YAML manifest (plain-YAML reader + schema check)',
          read.yaml,
          read.lib.length ? { name: 'yaml library', value: median(read.lib) } : undefined,
        );
        row('read JSON manifest (JSON.parse + duplicate-key count + schema check)', read.json, {
          name: 'JSON.parse',
          value: median(read.parse),
        });
        row('validate + plan text after reading (graph, Kahn waves, checks)', read.after, {
          name: 'tsort',
          value: base,
        });
      }
      for (const form of ['yaml', 'json']) {
        const wall = median(ours[form]);
        perElement[form][n] = (wall * 1000) / (n + edges);
        rows.push({
          name: `deploy plan incl. validation, ${form.toUpperCase()}, ${n} services / ${edges} edges`,
          median: wall,
          cpu: median(ours[`${form}Cpu`]),
          unit: 'ms',
          baseline: { name: 'tsort', value: base },
          target: n === 10000 ? `≤ 100 ms: ${wall <= 100 ? 'met' : 'MISSED'}` : 'linear',
        });
      }
      if (n === 1000) {
        // A manifest with one mistake: the problem is reported with its line and column, which
        // the fast paths do not keep (the `yaml` library reads the text again to find them).
        const broken = yaml.replace('    ip: 10.0.0.1\n', '    ip: 10.0.0.0\n');
        const times = [];
        for (let i = 0; i < 5; i++) {
          gc();
          const t = process.hrtime.bigint();
          const r = readManifest(broken, 'bench.yaml');
          const problems = validateServiceManifest(r.source);
          if (problems[0]?.message !== 'Error: Duplicate IP addresses: 10.0.0.0') throw new Error('no problem found');
          times.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        rows.push({
          name: `deploy plan of a YAML manifest with one mistake (position from the yaml library), ${n} services`,
          median: median(times),
          unit: 'ms',
          target: 'none',
        });
      }
      if (n === 10000) {
        // The whole command, as a user runs it: one process per run.
        const file = join(dir, 'manifest-10000.yaml');
        await writeFile(file, yaml);
        const run = () => {
          const r = spawnSync(
            process.execPath,
            ['--no-node-snapshot', LAUNCHER, '--root', dir, 'deploy', 'plan', file],
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
          name: `cx-ops deploy plan FILE.yaml, whole process (node start, kernel boot, ajv compile), ${n} services`,
          median: median(cli),
          unit: 'ms',
          baseline: { name: 'tsort', value: base },
          target: 'none',
        });
      }
      load.push(loadavg()[0]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // Linear: the cost per service + edge may not grow more than 2× from 10,000 to 100,000.
  for (const form of ['yaml', 'json']) {
    const at10k = perElement[form][10000];
    const at100k = perElement[form][100000];
    if (at10k === undefined || at100k === undefined) continue;
    const growth = at100k / at10k;
    const row = rows.find((r) => r.name.startsWith(`deploy plan incl. validation, ${form.toUpperCase()}, 100000`));
    row.target = `linear: ${growth <= 2 ? 'met' : 'MISSED'} (${at10k.toFixed(2)} µs per service+edge at 10k, ${at100k.toFixed(2)} µs at 100k: ${growth.toFixed(2)}×; up to 2× counts as linear)`;
  }
  rows.push({
    name: `load average (1 min) during the deploy benchmark, on ${cpus().length} cores: ${load.map((l) => l.toFixed(2)).join(' → ')}`,
    median: NaN,
    unit: '',
  });
  return rows;
}

function describe(r) {
  if (Number.isNaN(r.median)) return r.name;
  const ratio = r.baseline
    ? ` (${r.baseline.name} ${r.baseline.value.toFixed(1)} ${r.unit}, ${(r.median / r.baseline.value).toFixed(2)}×)`
    : '';
  const cpu = r.cpu !== undefined ? ` [cpu ${r.cpu.toFixed(1)} ms]` : '';
  const verdict = r.target ? ` - target ${r.target}` : '';
  return `${r.name}: ${r.median.toFixed(1)} ${r.unit}${cpu}${ratio}${verdict}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Not run.js's printTable: importing run.js runs every benchmark.
  console.log('wall-clock medians; cpu is user+system of this process (including its GC threads)');
  const sizes = process.argv.slice(2).map(Number);
  for (const r of await benchDeploy(sizes.length ? sizes : undefined)) console.log(describe(r));
}
