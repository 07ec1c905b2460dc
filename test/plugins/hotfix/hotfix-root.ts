/**
 * A temp root for the hotfix tests: the real cx-ops launcher with --root, fixture modules copied
 * in, and a picture of a tree (type, content hash, mode, owner, group, link target) to compare
 * a tree after a rollback with the tree before.
 */
import { createHash } from 'node:crypto';
import { chown, cp, lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
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
