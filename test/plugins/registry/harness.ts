/**
 * What the registry tests share: the real cx-ops launcher run in a throwaway home (explicit
 * config/data/cache/log directories, so nothing outside the temp dir is written), a static
 * HTTP server on 127.0.0.1 over a registry directory, and a raw tar writer for hostile archives.
 */
import { createServer, type Server } from 'node:http';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * A private copy of the built cx-ops (dist/, package.json, the launcher; node_modules linked).
 * Other suites rebuild dist/ in place while these tests run; a copy checked file by file and
 * then booted once keeps a half-written file from ever being loaded here.
 */
export interface BuiltSnapshot {
  root: string;
  launcher: string;
  cleanup(): Promise<void>;
}

async function sameTree(a: string, b: string): Promise<boolean> {
  for (const e of await readdir(a, { withFileTypes: true })) {
    const pa = join(a, e.name);
    const pb = join(b, e.name);
    if (e.isDirectory()) {
      if (!(await sameTree(pa, pb))) return false;
    } else if (!(await readFile(pa)).equals(await readFile(pb).catch(() => Buffer.alloc(0)))) return false;
  }
  return true;
}

export async function builtSnapshot(): Promise<BuiltSnapshot> {
  const root = await mkdtemp(join(tmpdir(), 'cx-registry-build-'));
  const launcher = join(root, 'core', 'bin', 'cx-ops.js');
  await mkdir(dirname(launcher), { recursive: true });
  await cp(join(REPO, 'core', 'bin', 'cx-ops.js'), launcher);
  await cp(join(REPO, 'package.json'), join(root, 'package.json'));
  await symlink(join(REPO, 'node_modules'), join(root, 'node_modules'));
  for (let attempt = 0; ; attempt++) {
    await rm(join(root, 'dist'), { recursive: true, force: true });
    await cp(join(REPO, 'dist'), join(root, 'dist'), { recursive: true });
    if (await sameTree(join(REPO, 'dist'), join(root, 'dist'))) {
      const probe = await execa(process.execPath, [launcher, '--root', root, 'registry', 'list', '--json'], {
        reject: false,
        env: { HOME: root, PATH: process.env.PATH ?? '/usr/bin:/bin' },
        extendEnv: false,
      });
      // Only this plugin's loading matters here; other plugins' boot warnings are their own tests' business.
      if (probe.exitCode === 0 && String(probe.stdout).trim() === '[]') break;
    }
    if (attempt >= 10) throw new Error('could not take a consistent copy of dist/ (is a build failing?)');
    await new Promise((r) => setTimeout(r, 300));
  }
  return { root, launcher, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Home {
  dir: string;
  configDir: string;
  dataDir: string;
  cacheDir: string;
  installDir: string;
  /** How cx-ops names itself in the hints of this home's runs (its directories repeated). */
  cx: string;
  /** Runs cx-ops with this home's directories (the host root stays "/": read-only checks only). */
  run(args: string[], options?: { cwd?: string; input?: string }): Promise<CliRun>;
  /** Starts cx-ops without waiting (to kill it mid-way). */
  spawn(args: string[]): ReturnType<typeof execa>;
}

/** A temp home for one cx-ops "host", running the cx-ops of `build`. */
export async function makeHome(root: string, name: string, build: BuiltSnapshot): Promise<Home> {
  const LAUNCHER = build.launcher;
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  const h = {
    configDir: join(dir, 'etc/cx'),
    dataDir: join(dir, 'var/lib/cx'),
    cacheDir: join(dir, 'var/cache/cx'),
    logDir: join(dir, 'var/log/cx'),
  };
  const argv = (args: string[]) => [
    '--no-node-snapshot',
    LAUNCHER,
    '--config-dir',
    h.configDir,
    '--data-dir',
    h.dataDir,
    '--cache-dir',
    h.cacheDir,
    '--log-dir',
    h.logDir,
    ...args,
  ];
  const env = { HOME: join(dir, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '', PATH: process.env.PATH ?? '/usr/bin:/bin' };
  return {
    dir,
    ...h,
    installDir: join(h.dataDir, 'plugins'),
    cx: `cx-ops --config-dir ${h.configDir} --data-dir ${h.dataDir} --log-dir ${h.logDir} --cache-dir ${h.cacheDir}`,
    async run(args, o = {}) {
      const r = await execa(process.execPath, argv(args), {
        reject: false,
        input: o.input ?? '',
        cwd: o.cwd ?? dir,
        env,
        extendEnv: false,
        timeout: 60_000,
        stripFinalNewline: false,
      });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    spawn(args) {
      return execa(process.execPath, argv(args), {
        reject: false,
        input: '',
        cwd: dir,
        env,
        extendEnv: false,
        timeout: 60_000,
        stripFinalNewline: false,
      });
    },
  };
}

export async function tempDir(prefix = 'cx-registry-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface StaticServer {
  url: string;
  /** Requests served, as paths. */
  requests: string[];
  /** When set, archive downloads are answered this slowly (bytes per 100 ms). */
  slow?: number;
  close(): Promise<void>;
}

/** Serves files of `dir` over HTTP on 127.0.0.1 (an ephemeral port). */
export async function serveDirectory(dir: string): Promise<StaticServer> {
  const state: { slow?: number } = {};
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = join(dir, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    try {
      const data = await readFile(file);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
      if (state.slow && path.endsWith('.tgz')) {
        let i = 0;
        const tick = setInterval(() => {
          res.write(data.subarray(i, i + state.slow!));
          i += state.slow!;
          if (i >= data.length) {
            clearInterval(tick);
            res.end();
          }
        }, 100);
        res.on('close', () => clearInterval(tick));
        return;
      }
      res.end(data);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    get slow() {
      return state.slow;
    },
    set slow(v) {
      state.slow = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RawEntry {
  path: string;
  /** tar type flag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, '6' fifo. */
  type: '0' | '1' | '2' | '3' | '5' | '6';
  data?: string;
  linkpath?: string;
}

/** A tar.gz written byte by byte, so tests can make archives no well-behaved tool would. */
export function rawTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const h = Buffer.alloc(512);
    const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, 'utf8');
    const oct = (n: number, len: number) => `${n.toString(8).padStart(len - 1, '0')}\0`;
    put(e.path, 0, 100);
    put(oct(e.type === '5' ? 0o755 : 0o644, 8), 100, 8);
    put(oct(0, 8), 108, 8);
    put(oct(0, 8), 116, 8);
    put(oct(e.type === '0' ? data.length : 0, 12), 124, 12);
    put(oct(0, 12), 136, 12);
    h.fill(' ', 148, 156);
    put(e.type, 156, 1);
    put(e.linkpath ?? '', 157, 100);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
    blocks.push(h);
    if (e.type === '0' && data.length) {
      const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
      data.copy(padded);
      blocks.push(padded);
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
