// deploy benchmarks (imported by test/bench/run.js; runnable alone: node test/bench/deploy.bench.js).
// `deploy plan` work — read a JSON manifest, schema-check it, validate it (dependencies, cycles,
// IPs, hostnames, ports), build the waves — on generated manifests of 1,000 / 10,000 / 100,000
// services with three dependencies each, beside coreutils `tsort` ordering the same graph in the
// same run. Target: 10,000 services / 30,000 edges ≤ 100 ms, linear in services + edges.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = (p) => new URL(`../../dist/plugins-builtin/deploy/${p}`, import.meta.url).href;

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
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    if (i > 0) for (let k = 0; k < 3; k++) deps.add(Math.floor(rnd() * i));
    const name = `svc-${i}`;
    services[name] = { enable: true, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, hostname: `svc-${i}.example.com`, depends_on: [...deps].map((d) => `svc-${d}`), ports: [8080] };
    if (!deps.size) pairs.push(`${name} ${name}`);
    for (const d of deps) pairs.push(`svc-${d} ${name}`);
  }
  return { text: JSON.stringify({ network: { network_cidr: '10.0.0.0/8' }, services }), edges: pairs.length, pairs: `${pairs.join('\n')}\n` };
}

export async function benchDeploy() {
  const { readManifest } = await import(dist('read-manifest.js'));
  const { validateServiceManifest } = await import(dist('validate-manifest.js'));
  const { generateDeploymentPlan } = await import(dist('deployment-plan.js'));
  const plan = (text) => {
    const r = readManifest(text, 'bench.json');
    if (!r.ok) throw new Error(r.problems[0].message);
    const problems = validateServiceManifest(r.source);
    if (problems.length) throw new Error(problems[0].message);
    return generateDeploymentPlan(r.source.manifest);
  };
  const rows = [];
  const dir = await mkdtemp(join(tmpdir(), 'cx-bench-deploy-'));
  try {
    for (const n of [1000, 10000, 100000]) {
      const m = manifest(n);
      const runs = n >= 100000 ? 5 : 15;
      plan(m.text);
      const ours = [];
      for (let i = 0; i < runs; i++) {
        const t = process.hrtime.bigint();
        plan(m.text);
        ours.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const file = join(dir, `edges-${n}.txt`);
      await writeFile(file, m.pairs);
      const theirs = [];
      for (let i = 0; i < runs; i++) {
        const t = process.hrtime.bigint();
        const r = spawnSync('tsort', [file], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
        theirs.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.status !== 0) throw new Error(`tsort failed: ${r.stderr}`);
      }
      const base = median(theirs);
      rows.push({ name: `tsort, ${n} services / ${m.edges} edges (baseline)`, median: base, unit: 'ms' });
      rows.push({ name: `deploy plan incl. validation, ${n} services / ${m.edges} edges`, median: median(ours), unit: 'ms', baseline: { name: 'tsort', value: base }, target: n === 10000 ? '≤ 100 ms' : 'linear' });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./run.js').catch(() => ({ printTable: (rs) => console.table(rs) }));
  printTable(await benchDeploy());
}
