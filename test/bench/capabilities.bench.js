// The fixed cost of one fs capability call (imported by test/bench/run.js as `npm run bench --
// capabilities`; runnable alone: node test/bench/capabilities.bench.js [rounds]). 1,000 small
// files in one directory: lstat, hash, link + rename, and copy, each through ctx.localFs
// of a sandboxed plugin with a write grant (grant check, audit to a file, verified parents)
// beside the same system calls made with bare node:fs/promises in the same run. Calls are made
// 8 at a time (as hotfix does); the figure is wall time per call and the CPU time per call of
// the whole process (main thread and libuv's pool). Needs `npm run build`.
import { createHash } from 'node:crypto';
import { copyFile, link, lstat, mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = (p) => new URL(`../../dist/${p}`, import.meta.url).href;
const N = 1000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function eightAtATime(n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Wall µs and CPU µs per call of `fn(i)` over N calls. */
let tags = 0;
async function perCall(fn) {
  const tag = tags++;
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  await eightAtATime(N, (i) => fn(i, tag));
  const wall = Number(process.hrtime.bigint() - t) / 1e3 / N;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / N };
}

async function bareHash(p) {
  const fh = await open(p, 'r');
  try {
    const h = createHash('sha256');
    h.update(await fh.readFile());
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

export async function benchCapabilities(rounds = 5, only = undefined) {
  const { createHostCapabilities } = await import(dist('core/capabilities/index.js'));
  const { AuditLog } = await import(dist('core/capabilities/audit.js'));
  const { mergeGrants, parseGrant } = await import(dist('core/permissions/grants.js'));
  const base = await mkdtemp(join(tmpdir(), 'cx-bench-caps-'));
  const data = join(base, 'data');
  const side = join(base, 'side');
  await mkdir(data);
  await mkdir(side);
  const name = (i) => `f${String(i).padStart(4, '0')}`;
  for (let i = 0; i < N; i++) await writeFile(join(data, name(i)), Buffer.alloc(1024 + i, i % 251));
  const audit = new AuditLog(join(base, 'log/audit.jsonl'));
  const { localFs: fs } = createHostCapabilities({
    plugin: 'bench',
    tier: 'sandboxed',
    grants: mergeGrants([parseGrant(`read:${base}`), parseGrant(`write:${base}`)]),
    dryRun: false,
    audit,
  });
  const ops = {
    lstat: [(i) => lstat(join(data, name(i))), (i) => fs.lstat(join(data, name(i)))],
    hash: [(i) => bareHash(join(data, name(i))), (i) => fs.hash(join(data, name(i)))],
    'link + rename': [
      async (i, tag) => {
        await link(join(data, name(i)), join(side, `${name(i)}.${tag}`));
        await rename(join(side, `${name(i)}.${tag}`), join(side, `${name(i)}.${tag}.b`));
      },
      async (i, tag) => {
        await fs.link(join(data, name(i)), join(side, `${name(i)}.${tag}`), { sync: false });
        await fs.rename(join(side, `${name(i)}.${tag}`), join(side, `${name(i)}.${tag}.b`), { sync: false });
      },
    ],
    copy: [
      (i) => copyFile(join(data, name(i)), join(side, name(i))),
      (i) => fs.copy(join(data, name(i)), join(side, name(i)), { sync: false }),
    ],
  };
  const rows = [];
  try {
    for (const [op, [bare, cap]] of Object.entries(ops)) {
      if (only && !op.startsWith(only)) continue;
      const b = { wall: [], cpu: [] };
      const c = { wall: [], cpu: [] };
      await cap(0, 'warm');
      for (let r = 0; r < rounds; r++) {
        // Interleaved: both suffer the same load.
        const x = await perCall(bare);
        const y = await perCall(cap);
        b.wall.push(x.wall);
        b.cpu.push(x.cpu);
        c.wall.push(y.wall);
        c.cpu.push(y.cpu);
      }
      rows.push({ name: `${op}: bare node:fs/promises, per call (baseline)`, median: median(b.wall), unit: 'µs' });
      rows.push({
        name: `${op}: ctx.localFs (sandboxed, granted, audited), per call`,
        median: median(c.wall),
        unit: 'µs',
        baseline: { name: 'bare', value: median(b.wall) },
      });
      rows.push({
        name: `${op}: CPU per call, capability vs bare`,
        median: median(c.cpu),
        unit: 'µs',
        baseline: { name: 'bare', value: median(b.cpu) },
      });
    }
    await audit.close();
    const lines = (await readFile(join(base, 'log/audit.jsonl'), 'utf8')).split('\n').length - 1;
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
    rows.push({ name: `  audit records written: ${lines}; load average: ${load}`, median: NaN, unit: '' });
  } catch (e) {
    await new Promise((r) => setTimeout(r, 500));
    throw e;
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await benchCapabilities(Number(process.argv[2] ?? 5), process.argv[3])) {
    const b = r.baseline
      ? `  (${r.baseline.name} ${r.baseline.value.toFixed(1)}, ${(r.median / r.baseline.value).toFixed(2)}×)`
      : '';
    process.stdout.write(`${r.name}: ${Number.isFinite(r.median) ? r.median.toFixed(1) : '-'} ${r.unit}${b}\n`);
  }
}
