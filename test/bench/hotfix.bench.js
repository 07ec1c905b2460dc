// Hotfix benchmark (imported by test/bench/run.js; runnable alone: node test/bench/hotfix.bench.js).
// A module of 1,000 copy operations (files of 1 KiB to 1 MiB, log-uniform, fixed seed) over
// existing targets in a temp root: `cx-ops hotfix apply -y` + `cx-ops hotfix rollback -y`, beside
// the baseline `cp -a` of the same files onto the targets plus `rsync -a` of the originals back,
// in the same run. The fsyncs (fsync, fdatasync, sync, syncfs; all processes) of apply and of
// rollback are counted with strace in a separate run, so tracing does not slow the timed runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const launcher = join(repo, 'core/bin/cx-ops.js');
const N = 1000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** CPU time (user + system, ms) of the waited-for children so far: /proc/self/stat cutime + cstime. */
function childCpu() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) * 10; // fields 16, 17 in clock ticks (100 a second)
}

/** Wall time of `fn` in ms; its children's CPU time is added to `cpu[0]`. */
function ms(fn, cpu = [0]) {
  const t = process.hrtime.bigint();
  const c = childCpu();
  fn();
  cpu[0] += childCpu() - c;
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Deterministic sizes, log-uniform in [1 KiB, 1 MiB]. */
function sizes() {
  let x = 12345;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: N }, () => Math.round(1024 * 1024 ** rnd()));
}

async function setUp() {
  const base = await mkdtemp(join(tmpdir(), 'cx-bench-hotfix-'));
  const root = join(base, 'root');
  const mod = join(base, 'module');
  const originals = join(base, 'originals');
  await mkdir(join(root, 'srv/data'), { recursive: true });
  await mkdir(join(mod, 'src'), { recursive: true });
  await mkdir(originals, { recursive: true });
  const ops = [];
  let bytes = 0;
  for (const [i, size] of sizes().entries()) {
    const name = `f${String(i).padStart(4, '0')}.bin`;
    const fresh = Buffer.alloc(size, i % 251);
    const old = Buffer.alloc(size, (i + 7) % 251);
    await writeFile(join(mod, 'src', name), fresh);
    await writeFile(join(root, 'srv/data', name), old);
    await writeFile(join(originals, name), old);
    // The targets are older than the new files (as on a host): rsync's quick check sees them differ.
    const then = new Date('2024-01-15T12:00:00Z');
    await utimes(join(root, 'srv/data', name), then, then);
    await utimes(join(originals, name), then, then);
    bytes += size;
    ops.push({ id: `copy_${i}`, type: 'copy', source: name, target: `/srv/data/${name}` });
  }
  await writeFile(
    join(mod, 'index.json'),
    JSON.stringify({
      metadata: { schema_version: '1.0.0' },
      config: { backup_dir: '/var/backups/hotfix' },
      operations: ops,
    }),
  );
  return { base, root, mod, originals, bytes };
}

function cx(root, args, wrap = []) {
  const argv = [...wrap, process.execPath, '--no-node-snapshot', launcher, '--root', root, ...args];
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, HOME: join(root, 'home'), NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new Error(`cx-ops ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).slice(-400)}`);
  return r;
}

export async function benchHotfix(runs = 3) {
  const s = await setUp();
  try {
    const apply = [];
    const back = [];
    const base = [];
    const cpu = [];
    const baseCpu = [];
    for (let i = 0; i < runs; i++) {
      const c = [0];
      const b = [0];
      apply.push(ms(() => cx(s.root, ['hotfix', 'apply', s.mod, '-y', '--force']), c));
      back.push(ms(() => cx(s.root, ['hotfix', 'rollback', '-y']), c));
      base.push(
        ms(() => execFileSync('cp', ['-a', `${s.mod}/src/.`, join(s.root, 'srv/data')]), b) +
          ms(() => execFileSync('rsync', ['-a', `${s.originals}/`, `${join(s.root, 'srv/data')}/`]), b),
      );
      cpu.push(c[0]);
      baseCpu.push(b[0]);
    }
    // The tree is back as it was (the benchmark is also a check).
    const one = await readFile(join(s.root, 'srv/data/f0000.bin'));
    if (!one.equals(await readFile(join(s.originals, 'f0000.bin'))))
      throw new Error('rollback did not restore f0000.bin');
    const trace = join(s.base, 'strace.txt');
    const count = (args) => {
      try {
        cx(s.root, args, ['strace', '-f', '-qq', '-e', 'trace=fsync,fdatasync,sync,syncfs', '-o', trace]);
        // One line per call: a call cut by another thread's shows again as '<... fsync resumed>'.
        return Number(
          execFileSync('grep', ['-c', '-E', '(fsync|fdatasync|sync|syncfs)\\(', trace], { encoding: 'utf8' }).trim(),
        );
      } catch {
        return NaN; // strace missing
      }
    };
    const fsApply = count(['hotfix', 'apply', s.mod, '-y', '--force']);
    const fsBack = count(['hotfix', 'rollback', '-y']);
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
    const total = median(apply.map((a, i) => a + back[i]));
    const mib = (s.bytes / 1048576).toFixed(0);
    return [
      { name: `cp -a + rsync -a back, 1,000 files (${mib} MiB) (baseline)`, median: median(base), unit: 'ms' },
      {
        name: `hotfix apply + rollback, 1,000 copy ops (${mib} MiB)`,
        median: total,
        unit: 'ms',
        baseline: { name: 'cp -a + rsync -a', value: median(base) },
        target: '≤ 3×',
      },
      {
        name: '  CPU time (user + system), apply + rollback',
        median: median(cpu),
        unit: 'ms',
        baseline: { name: 'cp -a + rsync -a', value: median(baseCpu) },
      },
      { name: '  CPU time of cp -a + rsync -a (baseline)', median: median(baseCpu), unit: 'ms' },
      { name: '  of which apply (capture, journal, copy)', median: median(apply), unit: 'ms' },
      { name: '  of which rollback (restore, verify)', median: median(back), unit: 'ms' },
      { name: '  fsyncs, apply + rollback (cp -a + rsync -a: 0)', median: fsApply + fsBack, unit: '' },
      { name: '  fsyncs, apply (backups, intents, new files, done)', median: fsApply, unit: '' },
      { name: '  fsyncs, rollback (restored files and dirs, undone)', median: fsBack, unit: '' },
      { name: `  load average after the run: ${load}`, median: NaN, unit: '' },
    ];
  } finally {
    await rm(s.base, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await benchHotfix(Number(process.argv[2] ?? 1)))
    process.stdout.write(`${r.name}: ${Number.isFinite(r.median) ? r.median.toFixed(0) : '-'} ${r.unit}\n`);
}
