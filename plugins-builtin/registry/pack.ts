/**
 * `cx-ops plugins pack DIR`: bundles the plugin's source into the one self-contained file its
 * manifest's `main` names, and writes NAME-VERSION.tgz holding plugin.yaml, that file and the
 * README/LICENSE if present. Entries carry a fixed mtime, so the same sources give the same bytes.
 */
import { CxError } from 'cx-ops/sdk';
import { cp, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { create } from 'tar';
import { readIfExists, sha256 } from './files.js';
import { readPluginArchive } from './plugin-archive.js';
import { MANIFEST_FILE, readManifestFile, type Manifest } from './plugin-manifest.js';

export interface Packed {
  file: string;
  name: string;
  version: string;
  sha256: string;
  size: number;
  entries: string[];
  bundledFrom?: string;
}

const exists = (p: string) => stat(p).then(() => true, () => false);
const SOURCES = ['src/index.ts', 'src/index.js', 'index.ts'];
const EXTRAS = ['README.md', 'LICENSE', 'LICENSE.md', 'CHANGELOG.md'];

/** The source file to bundle into main, if the plugin has one (main itself is not a source). */
async function sourceEntry(dir: string, m: Manifest): Promise<string | undefined> {
  for (const s of SOURCES) if (s !== m.main && (await exists(join(dir, s)))) return join(dir, s);
  return undefined;
}

/** Packs a plugin directory; `out` defaults to ./NAME-VERSION.tgz in `cwd`. */
export async function packPlugin(dirArg: string, options: { out?: string; cwd?: string; dryRun?: boolean } = {}): Promise<Packed> {
  const dir = resolve(options.cwd ?? process.cwd(), dirArg);
  const { manifest } = await readManifestFile(dir);
  const out = resolve(options.cwd ?? process.cwd(), options.out ?? `${manifest.name}-${manifest.version}.tgz`);
  const stage = await mkdtemp(join(tmpdir(), 'cx-pack-'));
  try {
    const entries = [MANIFEST_FILE, manifest.main];
    await cp(join(dir, MANIFEST_FILE), join(stage, MANIFEST_FILE));
    const entry = await sourceEntry(dir, manifest);
    await mkdir(dirname(join(stage, manifest.main)), { recursive: true });
    if (entry) {
      const { bundlePlugin } = await import('cx-ops/sdk/bundle');
      let code: string;
      try {
        code = await bundlePlugin(entry);
      } catch (e: any) {
        throw new CxError('CX_ERR_USAGE', { detail: e?.message ?? String(e), hint: `fix the source, then run: cx-ops plugins pack ${dirArg}` });
      }
      await writeFile(join(stage, manifest.main), code);
    } else {
      const main = await readIfExists(join(dir, manifest.main));
      if (!main) {
        throw new CxError('CX_ERR_USAGE', { detail: `${dir}: main file '${manifest.main}' does not exist and there is no src/index.ts to bundle.`, hint: `write src/index.ts, then run: cx-ops plugins pack ${dirArg}` });
      }
      await writeFile(join(stage, manifest.main), main);
    }
    for (const x of EXTRAS) {
      if (await exists(join(dir, x))) {
        await cp(join(dir, x), join(stage, x));
        entries.push(x);
      }
    }
    const tmp = join(stage, '.archive.tgz');
    await create({ gzip: { level: 9 }, file: tmp, cwd: stage, portable: true, mtime: new Date(0), noDirRecurse: true }, entries.sort());
    const bytes = (await readIfExists(tmp))!;
    await readPluginArchive(bytes, out); // what we publish must pass the installer's own checks
    if (!options.dryRun) {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(`${out}.${process.pid}.tmp`, bytes);
      await rename(`${out}.${process.pid}.tmp`, out);
    }
    return { file: out, name: manifest.name, version: manifest.version, sha256: sha256(bytes), size: bytes.length, entries: entries.sort(), bundledFrom: entry };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
