/**
 * What the daemon's process loads. With the plugin caches warm (any earlier run wrote them:
 * shapes, and metas found valid), `cx-ops daemon` registers every plugin without importing it
 * and without compiling a metaSchema, so ajv is never loaded; prom-client is loaded class by
 * class, not through its index (default metrics, push gateway, cluster, @opentelemetry/api).
 * A first run with cold caches does load ajv (which is why the caches matter). And it makes no
 * use of ICU (Intl, localeCompare, toLocale*): the first use maps several MB of ICU data into the
 * process for the rest of its life. Memory itself is measured by `npm run bench`, not here.
 */
import { execFile } from 'node:child_process';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect, test } from 'vitest';
import { daemonFixture, daemonRoot, doctorFixture, type DaemonRoot } from './daemon-process.js';

const MAIN = fileURLToPath(new URL('../../../dist/core/cli/main.js', import.meta.url));
let host: DaemonRoot | undefined;
afterEach(async () => {
  await host?.cleanup();
  host = undefined;
});

/** Runs `cx-ops daemon --once` in a fresh node process; the modules it loaded (require's cache, then node:NAME builtins). */
async function modulesOfOnce(root: string): Promise<string[]> {
  const out = join(root, 'modules.json');
  const script = `
    const { main } = await import(${JSON.stringify(MAIN)});
    const code = await main(['--root', ${JSON.stringify(root)}, 'daemon', '--once']);
    const { createRequire } = await import('node:module');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(${JSON.stringify(out)}, JSON.stringify({ code, modules: [...Object.keys(createRequire(import.meta.url).cache), ...process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => 'node:' + m.slice(13))] }));
    process.exit(0);`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    env: { HOME: join(root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '', PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeout: 60_000,
  });
  const r = JSON.parse(await readFile(out, 'utf8')) as { code: number; modules: string[] };
  expect(r.code).toBe(0);
  return r.modules;
}

test('with warm caches the daemon loads neither ajv, nor prom-client as a whole, nor node:https', async () => {
  host = await daemonRoot('healthy');
  await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
  const ajv = (m: string[]) => m.filter((f) => f.includes('/node_modules/ajv/dist/ajv.js'));
  const cold = await modulesOfOnce(host.root);
  expect(ajv(cold)).toHaveLength(1);

  const warm = await modulesOfOnce(host.root);
  expect(ajv(warm)).toEqual([]);
  expect(
    warm.filter((f) =>
      /\/node_modules\/(prom-client\/index\.js|prom-client\/lib\/defaultMetrics|@opentelemetry\/)/.test(f),
    ),
  ).toEqual([]);
  expect(warm.filter((f) => f.includes('/node_modules/prom-client/lib/counter.js'))).toHaveLength(1);
  // node:https (and tls under it) is imported by the net capability on first use only.
  expect(warm.filter((m) => m === 'node:https' || m === 'node:tls')).toEqual([]);
  const cache = JSON.parse(await readFile(join(host.root, 'var/cache/cx/valid-meta.json'), 'utf8'));
  expect(cache).toMatchObject({ version: 1, valid: expect.arrayContaining([expect.any(String)]) });
});

test('the daemon makes no use of ICU: no Intl, localeCompare or toLocale* in start-up, cycles and requests', async () => {
  host = await daemonRoot('healthy');
  // dpkg's status and apt's lists too, so that the apt checks take their cache fingerprint.
  await cp(doctorFixture('apt'), host.root, { recursive: true });
  await host.config(
    'daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n' +
      '  checks: [disk_space, memory, cpu_load, apt_status, swap_usage, security_updates, zombie_processes, file_descriptors]\n',
  );
  // The caches warm, as the unit's launcher leaves them before the daemon starts.
  expect((await host.cli(['plugins', 'info', 'daemon'])).exitCode).toBe(0);
  const log = join(host.root, 'icu-uses.jsonl');
  const d = await host.start({
    env: { NODE_OPTIONS: `--import ${pathToFileURL(daemonFixture('icu-trap.mjs')).href}`, CX_ICU_TRAP_LOG: log },
  });
  const cycle = (n: number) =>
    d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks' && l.data.cycle === n, `checks cycle ${n}`);
  await cycle(2);
  for (const path of ['/health', '/metrics', '/api/v1/checks', '/api/v1/status', '/api/v1/events'])
    expect((await d.get(path)).status, path).toBeLessThan(500);
  await cycle(4);
  expect(await d.stop()).toEqual({ exitCode: 0 });
  const uses = (await readFile(log, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { what: string; stack: string })
    // What was called, and the first frame outside the trap.
    .map((u) => `${u.what} from ${u.stack.split('\n')[3]?.trim()}`);
  expect([...new Set(uses)]).toEqual([]);
});
