// Doctor benchmarks (imported by test/bench/run.js; runnable alone: node test/bench/doctor.bench.js).
//  - `cx-ops doctor --json` over every built-in check but the network pair, warm (apt answers
//    cached) and cold (cache emptied), beside the same work done by Debian's monitoring-plugins
//    binaries run one after another, and beside `apt list --upgradable` (what a cold run must beat).
//  - 1,000 registered sandboxed checks with doctor.max_parallel 4.
// Everything cx-ops writes goes to a temp dir; the host is only read (--root /).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const launcher = join(repo, 'core/bin/cx-ops.js');
const PLUGINS = '/usr/lib/nagios/plugins';
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

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function wall(fn, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

/** Runs a command, ignoring its exit code (Nagios plugins and doctor exit non-zero on findings). */
const run = (cmd, args, env) =>
  spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });

async function home() {
  const h = await mkdtemp(join(tmpdir(), 'cx-bench-doctor-'));
  for (const d of ['etc', 'data', 'log', 'cache']) await mkdir(join(h, d), { recursive: true });
  return h;
}

const dirs = (h) => [
  '--root',
  '/',
  '--config-dir',
  join(h, 'etc'),
  '--data-dir',
  join(h, 'data'),
  '--log-dir',
  join(h, 'log'),
  '--cache-dir',
  join(h, 'cache'),
];

/** The monitoring-plugins doing the same work, one after another (those installed). */
function pluginSequence() {
  const seq = [
    ['check_disk', ['-w', '20%', '-c', '10%', '-p', '/']],
    ['check_load', ['-r', '-w', '1.5,1.5,1.5', '-c', '3,3,3']],
    ['check_swap', ['-w', '50%', '-c', '20%']],
    ['check_procs', ['-s', 'Z', '-w', '5', '-c', '50']],
    ['check_memory', ['-w', '15', '-c', '5']],
    ['check_apt', []],
  ].filter(([p]) => existsSync(join(PLUGINS, p)));
  return { names: seq.map(([p]) => p), run: () => seq.forEach(([p, a]) => run(join(PLUGINS, p), a)) };
}

async function doctorVsPlugins(rows, n) {
  const h = await home();
  const args = [launcher, ...dirs(h), 'doctor', '--json', ...CHECKS.flatMap((c) => ['--check', c])];
  const doctor = () => run(process.execPath, [...args], { ...process.env, HOME: h, NO_COLOR: '1' });
  doctor(); // warm the apt answer cache and the OS caches
  const warm = median(wall(doctor, n));
  const cold = median(
    wall(
      () => {
        // Cold = the checks' apt answer is gone (the plugins' caches); the kernel's manifest and
        // shape caches stay, as they do on a host after its first run.
        execFileSync('rm', ['-rf', join(h, 'cache', 'plugins')]);
        doctor();
      },
      Math.max(3, n >> 1),
    ),
  );
  const seq = pluginSequence();
  seq.run();
  const plugins = median(wall(seq.run, Math.max(3, n >> 1)));
  const aptList = median(wall(() => run('apt', ['list', '--upgradable']), 3));
  run(process.execPath, ['-e', '0']);
  const node = median(wall(() => run(process.execPath, ['-e', '0']), n));
  rows.push({ name: `monitoring-plugins in sequence (${seq.names.join(', ')})`, median: plugins, unit: 'ms' });
  rows.push({ name: 'apt list --upgradable', median: aptList, unit: 'ms' });
  rows.push({ name: 'node -e 0', median: node, unit: 'ms' });
  rows.push({
    name: `cx-ops doctor --json, ${CHECKS.length} checks, warm`,
    median: warm,
    unit: 'ms',
    baseline: { name: 'monitoring-plugins', value: plugins },
    target: '≤ 300 ms',
  });
  rows.push({
    name: `cx-ops doctor --json, ${CHECKS.length} checks, warm, beside node -e 0`,
    median: warm,
    unit: 'ms',
    baseline: { name: 'node -e 0', value: node },
    target: '≤ 3× node -e 0 (#9 item 23)',
  });
  rows.push({
    name: `cx-ops doctor --json, ${CHECKS.length} checks, cold apt cache`,
    median: cold,
    unit: 'ms',
    baseline: { name: 'apt list --upgradable', value: aptList },
    target: '≤ 0.5× apt (#9 item 22)',
  });
  await rm(h, { recursive: true, force: true });
}

async function thousandSandboxed(rows) {
  if (!existsSync(join(repo, 'dist/core/sandbox/host.js'))) {
    rows.push({ name: '1,000 sandboxed checks: skipped (the sandbox is not built)', median: NaN });
    return;
  }
  const h = await home();
  const dir = join(h, 'plugins/bulk-checks');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'plugin.yaml'),
    'name: bulk-checks\nversion: 1.0.0\ndescription: 1000 trivial checks\nplugin_type: check\nmain: index.js\ncx_version: ">=0.1.0"\n',
  );
  await writeFile(
    join(dir, 'index.js'),
    `const contributes = [];
for (let i = 0; i < 1000; i++) {
  const id = 'bulk_' + String(i).padStart(4, '0');
  contributes.push({ kind: 'check', id, meta: { name: id, description: id, category: 'bulk', severity: 'low', fix_id: null, depends_on: [] }, run: async () => ({ status: 'PASS', message: 'ok', details: { i } }) });
}
export default { name: 'bulk-checks', contributes };
`,
  );
  await writeFile(
    join(h, 'data/state.json'),
    JSON.stringify({ version: 1, plugins: { 'bulk-checks': { enabled: true, tier: 'sandboxed', grants: [] } } }),
  );
  await writeFile(join(h, 'etc/config.yaml'), 'doctor:\n  max_parallel: 4\n');
  const args = [
    '--no-node-snapshot',
    launcher,
    ...dirs(h),
    '--plugin-dir',
    dir,
    'doctor',
    '--json',
    '--category',
    'bulk',
  ];
  const phases = [];
  const walls = wall(() => {
    const r = run(process.execPath, args, { ...process.env, HOME: h });
    try {
      const report = JSON.parse(r.stdout.toString());
      if (report.summary.PASS !== 1000) throw new Error(`expected 1000 PASS, got ${JSON.stringify(report.summary)}`);
      phases.push(report.duration_ms);
    } catch (e) {
      phases.push(NaN);
      rows.push({ name: `1,000 sandboxed checks: run failed (${e.message})`, median: NaN });
    }
  }, 3);
  rows.push({
    name: '1,000 sandboxed checks, max_parallel 4 (check phase)',
    median: median(phases),
    unit: 'ms',
    target: '≤ 2000 ms',
  });
  rows.push({ name: '1,000 sandboxed checks, max_parallel 4 (whole command)', median: median(walls), unit: 'ms' });
  await rm(h, { recursive: true, force: true });
}

/** A cold `doctor` (fresh data dir: no manifest or shape cache) with 10 sandboxed plugins enabled, beside the same run with none. */
async function tenSandboxed(rows, n) {
  if (!existsSync(join(repo, 'dist/core/sandbox/host.js'))) return;
  const h = await home();
  const names = Array.from({ length: 10 }, (_, i) => `ten-${i}`);
  for (const name of names) {
    const dir = join(h, 'plugins', name);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'plugin.yaml'),
      `name: ${name}\nversion: 1.0.0\ndescription: one check\nplugin_type: check\nmain: index.js\ncx_version: ">=0.1.0"\n`,
    );
    const id = name.replace('-', '_');
    await writeFile(
      join(dir, 'index.js'),
      `export default { name: '${name}', contributes: [{ kind: 'check', id: '${id}', meta: { name: '${id}', description: '${id}', category: 'ten', severity: 'low', fix_id: null, depends_on: [] }, run: async () => ({ status: 'PASS', message: 'ok' }) }] };\n`,
    );
  }
  const state = (enabled) =>
    JSON.stringify({
      version: 1,
      plugins: Object.fromEntries(names.map((p) => [p, { enabled, tier: 'sandboxed', grants: [] }])),
    });
  const checks = ['memory', ...names.map((p) => p.replace('-', '_'))];
  const cold = (enabled) => () => {
    execFileSync('rm', ['-rf', join(h, 'cache'), join(h, 'data')]);
    execFileSync('mkdir', ['-p', join(h, 'cache'), join(h, 'data')]);
    execFileSync('sh', ['-c', `cat > ${join(h, 'data/state.json')}`], { input: state(enabled) });
    const only = enabled ? checks : ['memory'];
    run(
      process.execPath,
      [
        '--no-node-snapshot',
        launcher,
        ...dirs(h),
        '--plugin-dir',
        join(h, 'plugins'),
        'doctor',
        '--json',
        ...only.flatMap((c) => ['--check', c]),
      ],
      { ...process.env, HOME: h },
    );
  };
  cold(false)();
  const none = median(wall(cold(false), n));
  const ten = median(wall(cold(true), n));
  rows.push({ name: 'cx-ops doctor --json, cold, no sandboxed plugin (1 check)', median: none, unit: 'ms' });
  rows.push({
    name: 'cx-ops doctor --json, cold, 10 sandboxed plugins (11 checks)',
    median: ten,
    unit: 'ms',
    baseline: { name: 'none', value: none },
  });
  await rm(h, { recursive: true, force: true });
}

/** The doctor rows for test/bench/run.js. */
export async function benchDoctor({ runs = 7 } = {}) {
  const rows = [];
  await doctorVsPlugins(rows, runs);
  await thousandSandboxed(rows);
  await tenSandboxed(rows, Math.max(3, runs >> 1));
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Alone (run.js would run every benchmark on import): a plain table.
  console.table(
    (await benchDoctor()).map((r) => ({
      benchmark: r.name,
      median_ms: Math.round(r.median),
      baseline_ms: r.baseline ? Math.round(r.baseline.value) : '',
      target: r.target ?? '',
    })),
  );
}
