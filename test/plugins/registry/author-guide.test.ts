/**
 * Runs docs/plugin-authors.md: every `cx-ops` line of its sh blocks, in order, in a temp
 * directory (cx-ops' own directories there too, through CX_CONFIG_DIR & co.), and writes every
 * file block that starts with a `// path` or `# path` line. `npm install` is what npm would do
 * for the scaffold's devDependencies (cx-ops linked from its file: spec, typescript, @types/node
 * and vitest linked from this repo, as the network is off limits); `npm test` is the scaffold's
 * own script: a strict type check against the SDK's shipped declarations, then the plugin's
 * vitest suite, which uses the SDK harness.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { builtSnapshot, REPO, tempDir, type BuiltSnapshot } from './harness.js';

const GUIDE = join(REPO, 'docs', 'plugin-authors.md');

interface Block {
  lang: string;
  lines: string[];
}

function blocks(md: string): Block[] {
  const out: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (const m of md.matchAll(re)) out.push({ lang: m[1]!, lines: m[2]!.replace(/\n$/, '').split('\n') });
  return out;
}

/** Splits a command line like a POSIX shell would for these simple cases (quotes, no expansions). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

let tmp: { dir: string; cleanup(): Promise<void> };
let build: BuiltSnapshot;
beforeAll(async () => {
  build = await builtSnapshot();
  tmp = await tempDir('cx-guide-');
});
afterAll(async () => {
  await tmp?.cleanup();
  await build?.cleanup();
});

test('every command of the plugin author guide works, in order', async () => {
  const md = await readFile(GUIDE, 'utf8');
  const home = join(tmp.dir, 'cx');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: join(tmp.dir, 'home'),
    NO_COLOR: '1',
    CX_CONFIG_DIR: join(home, 'etc'),
    CX_DATA_DIR: join(home, 'data'),
    CX_CACHE_DIR: join(home, 'cache'),
    CX_LOG_DIR: join(home, 'log'),
  };
  let cwd = join(tmp.dir, 'work');
  await mkdir(cwd, { recursive: true });
  const ran: string[] = [];
  for (const b of blocks(md)) {
    const path = b.lines[0]?.match(/^(?:\/\/|#) ([\w./-]+)$/)?.[1];
    if (b.lang !== 'sh') {
      if (path) {
        await mkdir(dirname(join(cwd, path)), { recursive: true });
        await writeFile(join(cwd, path), `${b.lines.slice(1).join('\n')}\n`);
      }
      continue;
    }
    for (const line of b.lines) {
      if (!line.trim() || line.startsWith('#')) continue;
      const [cmd, ...args] = words(line);
      if (cmd === 'cd') {
        cwd = resolve(cwd, args[0]!);
      } else if (cmd === 'mkdir' && args[0] === '-p') {
        await mkdir(resolve(cwd, args[1]!), { recursive: true });
      } else if (line === 'npm install') {
        // The scaffold names the cx-ops that created it by a file: spec (cx-ops is not on npm);
        // npm links exactly that directory, and so does this test. vitest is linked from this
        // repo instead of installed: a real `npm install` would fetch it from the npm registry,
        // and tests make no network traffic beyond 127.0.0.1.
        const spec = JSON.parse(await readFile(join(cwd, 'package.json'), 'utf8')).devDependencies['cx-ops'];
        expect(spec).toBe(`file:${build.root}`);
        await mkdir(join(cwd, 'node_modules'), { recursive: true });
        await symlink(spec.slice('file:'.length), join(cwd, 'node_modules', 'cx-ops'));
        for (const dep of ['vitest', 'typescript', '@types'])
          await symlink(join(REPO, 'node_modules', dep), join(cwd, 'node_modules', dep));
        await mkdir(join(cwd, 'node_modules', '.bin'));
        for (const [bin, target] of [
          ['tsc', '../typescript/bin/tsc'],
          ['vitest', '../vitest/vitest.mjs'],
          ['cx-ops', '../cx-ops/core/bin/cx-ops.js'],
        ]) {
          await symlink(target!, join(cwd, 'node_modules', '.bin', bin!));
        }
      } else if (line === 'npm test') {
        // The scaffold's own script: type-check src/ and test/ (strict), then vitest.
        const r = await execa('npm', ['test'], { cwd, env, extendEnv: false, reject: false, timeout: 120_000 });
        expect(r.exitCode, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(/Tests\s+.*2 passed/);
      } else if (cmd === 'cx-ops') {
        const r = await execa(process.execPath, [build.launcher, ...args], {
          cwd,
          env,
          extendEnv: false,
          reject: false,
          timeout: 60_000,
        });
        expect(r.exitCode, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
        if (args[0] === 'doctor') expect(r.stdout).toContain('kernel is Linux');
        if (args[1] === 'info') expect(r.stdout).toMatch(/^signature_status\s+unknown-key$/m);
        ran.push(
          args
            .filter((a) => !a.startsWith('-'))
            .slice(0, 2)
            .join(' '),
        );
      } else {
        throw new Error(`the guide has a line this test cannot run: ${line}`);
      }
    }
  }
  // The whole path, in this order.
  expect(ran).toEqual([
    'plugins create',
    'plugins pack',
    'plugins keygen',
    'plugins sign',
    'registry publish',
    'registry add',
    'registry list',
    'plugins search',
    'plugins list',
    'plugins install',
    'doctor kernel_name',
    'plugins info',
    'registry refresh',
    'plugins update',
    'plugins install',
    'plugins remove',
    'registry remove',
  ]);
}, 300_000);
