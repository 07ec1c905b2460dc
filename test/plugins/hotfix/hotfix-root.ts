/**
 * A temp root for the hotfix tests: the real cx-ops launcher with --root, fixture modules copied
 * in, and a picture of a tree (type, content hash, mode, owner, group, link target) to compare
 * a tree after a rollback with the tree before.
 */
import { createHash } from 'node:crypto';
import {
  chown,
  copyFile,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const ROLLBACK_TOOL = fileURLToPath(new URL('../../../core/bin/cx-ops-rollback.mjs', import.meta.url));

export interface HotfixRoot extends TempRoot {
  /** A fixture module copied to <root>/../modules (outside the root, as a module dir is read as given). */
  module(name: string): Promise<string>;
  real(p: string): string;
}

export async function hotfixRoot(): Promise<HotfixRoot> {
  const t = await tempRoot('cx-hotfix-');
  await mkdir(join(t.root, 'etc/cx'), { recursive: true });
  return {
    ...t,
    async module(name) {
      const dir = join(t.root, 'home/modules', name);
      await cp(join(FIXTURES, name), dir, { recursive: true });
      return dir;
    },
    real: (p) => join(t.root, p),
  };
}

/** One entry of a tree picture. */
export interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  sha256?: string;
  target?: string;
}

/** Every entry under the given dirs of `root` (skipped when absent), keyed by path. */
export async function picture(root: string, dirs: string[]): Promise<Record<string, Entry>> {
  const out: Record<string, Entry> = {};
  const walk = async (p: string): Promise<void> => {
    let st;
    try {
      st = await lstat(p);
    } catch {
      return;
    }
    const e: Entry = {
      type: st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other',
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
    };
    if (e.type === 'file')
      e.sha256 = createHash('sha256')
        .update(await readFile(p))
        .digest('hex');
    if (e.type === 'symlink') e.target = await readlink(p);
    out[p.slice(root.length)] = e;
    if (e.type === 'dir') for (const n of (await readdir(p)).sort()) await walk(join(p, n));
  };
  for (const d of dirs) await walk(join(root, d));
  return out;
}

/** Every (untorn) record of a run journal that does not match schemas/hotfix-journal.schema.json (empty: all match). */
export async function journalProblems(file: string): Promise<string[]> {
  const { Ajv } = await import('ajv');
  const schema = JSON.parse(
    await readFile(fileURLToPath(new URL('../../../schemas/hotfix-journal.schema.json', import.meta.url)), 'utf8'),
  );
  // strictRequired off as in plugins-builtin/hotfix: `required` inside if/then names properties declared beside it.
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, validateFormats: false });
  const validate = ajv.compile(schema);
  const out: string[] = [];
  for (const [i, line] of (await readFile(file, 'utf8')).split('\n').entries()) {
    if (!line) continue;
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      continue; // a record torn by a crash: skipped by every reader
    }
    if (!validate(rec)) out.push(`line ${i + 1} (${rec.t}): ${ajv.errorsText(validate.errors)}`);
  }
  return out;
}

/** The targets of the seed's security patch (auth.py owned by www-data, the nginx site); resolves with the module. */
export async function seedSecurityPatch(h: HotfixRoot): Promise<string> {
  await mkdir(h.real('var/www/homeserver/backend'), { recursive: true });
  await mkdir(h.real('etc/nginx/sites-available'), { recursive: true });
  await writeFile(
    h.real('var/www/homeserver/backend/auth.py'),
    'def authenticate(user, password):\n    return True\n',
    {
      mode: 0o644,
    },
  );
  await chown(h.real('var/www/homeserver/backend/auth.py'), 33, 33);
  await writeFile(h.real('etc/nginx/sites-available/homeserver'), 'server {\n  listen 80;\n}\n');
  return h.module('security-patch');
}

/** Runs the copy of cx-ops-rollback in `dir` alone: that directory as cwd, nothing but PATH. */
export function loneRollback(dir: string) {
  return (args: string[]) =>
    execa(process.execPath, [join(dir, 'cx-ops-rollback.mjs'), ...args], {
      cwd: dir,
      reject: false,
      env: { PATH: process.env.PATH! },
      extendEnv: false,
    });
}

/** The last run directory under the root's backup_dir that has a journal (null: killed before its first record). */
export async function lastRunDir(h: HotfixRoot): Promise<string | null> {
  const runs = h.real('var/backups/hotfix/runs');
  const names = await readdir(runs).catch(() => [] as string[]);
  const last = names.length ? join(runs, names.sort().pop()!) : null;
  return last && (await readdir(last)).includes('journal.jsonl') ? last : null;
}

/**
 * After a kill: `cx-ops hotfix rollback` in root `a` and the lone cx-ops-rollback (in `lone`) on
 * the last run of root `b`, side by side; both must succeed (a run killed before its first record
 * has nothing to roll back).
 */
export async function rollBackBoth(a: HotfixRoot, b: HotfixRoot, lone: string, point: number): Promise<void> {
  const journal = await lastRunDir(a);
  const [ra, rb] = await Promise.all([
    a.run(['hotfix', 'rollback', '-y']),
    (async () => {
      const d = await lastRunDir(b);
      if (!d) return { exitCode: 0, stdout: 'no run', stderr: '' };
      const r = await loneRollback(lone)(['--rollback-log', d, '-y']);
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    })(),
  ]);
  if (journal && !ra.stderr.includes('no run to roll back'))
    expect(ra.exitCode, `point ${point}: ${ra.stdout}${ra.stderr}`).toBe(0);
  expect(rb.exitCode, `point ${point}: ${rb.stdout}${rb.stderr}`).toBe(0);
}

/** cx-ops-rollback alone in an empty temp directory (nothing of the tree beside it) for this test file. */
export function useLoneRollback(): () => string {
  let lone = '';
  beforeAll(async () => {
    lone = await mkdtemp(join(tmpdir(), 'cx-lone-rollback-'));
    await copyFile(ROLLBACK_TOOL, join(lone, 'cx-ops-rollback.mjs'));
  });
  afterAll(() => rm(lone, { recursive: true, force: true }));
  return () => lone;
}

/** What a crash-injection loop is given. */
export interface CrashLoop {
  /** Seeds a root, returns its module directory. */
  seed: (h: HotfixRoot) => Promise<string>;
  /** The directories pictured before and after. */
  dirs: string[];
  /** cx-ops-rollback's lone directory (useLoneRollback). */
  lone: string;
  /** Crash points tried at most. */
  max: number;
  /** After both applies were killed at point `n`, before the rollbacks. */
  afterKill?: (n: number, roots: [HotfixRoot, HotfixRoot], mods: [string, string]) => Promise<void>;
  /** Past the last point: the apply of root `a` ran to its end. */
  completed?: (a: HotfixRoot) => Promise<void>;
}

/**
 * Kills `hotfix apply -y` (SIGKILL, CX_HOTFIX_CRASH_AT) at every crash point in turn, in two roots
 * seeded alike; after each kill `cx-ops hotfix rollback` in one and cx-ops-rollback in the other
 * must give back the tree pictured before. Resolves with the number of crash points.
 */
export async function killAtEveryPoint(o: CrashLoop): Promise<number> {
  for (let n = 1; n < o.max; n++) {
    const [a, b] = [await hotfixRoot(), await hotfixRoot()];
    try {
      const mods: [string, string] = [await o.seed(a), await o.seed(b)];
      const before = await picture(a.root, o.dirs);
      expect(await picture(b.root, o.dirs)).toEqual(before);
      const crash = { env: { CX_HOTFIX_CRASH_AT: String(n) } };
      const [ka, kb] = await Promise.all([a, b].map((h, k) => h.run(['hotfix', 'apply', mods[k]!, '-y'], crash)));
      if (ka!.exitCode === 0) {
        expect(kb!.exitCode).toBe(0);
        await o.completed?.(a);
        return n - 1;
      }
      expect(ka!.exitCode, `crash point ${n}: ${ka!.stderr}`).toBe(-1); // killed by SIGKILL
      expect(kb!.exitCode).toBe(-1);
      await o.afterKill?.(n, [a, b], mods);
      await rollBackBoth(a, b, o.lone, n);
      expect(await picture(a.root, o.dirs), `cx-ops hotfix rollback after crash point ${n}`).toEqual(before);
      expect(await picture(b.root, o.dirs), `cx-ops-rollback after crash point ${n}`).toEqual(before);
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  }
  throw new Error(`the apply was still killed at crash point ${o.max - 1}`);
}
