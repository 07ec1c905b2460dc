/**
 * `cx-ops plugins pack DIR`: bundles the plugin's source into the one self-contained file its
 * manifest's `main` names, and writes NAME-VERSION.tgz holding plugin.yaml, that file and the
 * README/LICENSE if present. The archive is built in memory (tar-writer.ts) and written through
 * ctx.localFs; entries carry a fixed mtime, so the same sources give the same bytes.
 */
import { CxError, messageOf, type FsCapability } from 'cx-ops/sdk';
import { join, resolve } from 'node:path';
import { readBytesIfExists, writeFileAtomic } from './local-files.js';
import { readPluginArchive } from './plugin-archive.js';
import { MANIFEST_FILE, readManifestFile, type Manifest } from './plugin-manifest.js';
import { sha256 } from './sha256.js';
import { tarGz, type TarFile } from './tar-writer.js';

export interface Packed {
  file: string;
  name: string;
  version: string;
  sha256: string;
  size: number;
  entries: string[];
  bundledFrom?: string;
}

const SOURCES = ['src/index.ts', 'src/index.js', 'index.ts'];
const EXTRAS = ['README.md', 'LICENSE', 'LICENSE.md', 'CHANGELOG.md'];

/** The source file to bundle into main, if the plugin has one (main itself is not a source). */
async function sourceEntry(fs: FsCapability, dir: string, m: Manifest): Promise<string | undefined> {
  for (const s of SOURCES) if (s !== m.main && (await fs.stat(join(dir, s)))) return join(dir, s);
  return undefined;
}

/** The bytes of main: the bundled source, or the main file as it is. */
async function mainBytes(
  fs: FsCapability,
  dir: string,
  dirArg: string,
  manifest: Manifest,
  entry?: string,
): Promise<Uint8Array> {
  if (entry) {
    const { bundlePlugin } = await import('cx-ops/sdk/bundle');
    try {
      return new TextEncoder().encode(await bundlePlugin(entry));
    } catch (e) {
      throw new CxError(
        'CX_ERR_USAGE',
        { detail: messageOf(e), hint: `fix the source, then run: cx-ops plugins pack ${dirArg}` },
        { cause: e },
      );
    }
  }
  const main = await readBytesIfExists(fs, join(dir, manifest.main));
  if (!main) {
    throw new CxError('CX_ERR_USAGE', {
      detail: `${dir}: main file '${manifest.main}' does not exist and there is no src/index.ts to bundle.`,
      hint: `write src/index.ts, then run: cx-ops plugins pack ${dirArg}`,
    });
  }
  return main;
}

/** Packs a plugin directory (read and written through `fs`: ctx.localFs); `out` defaults to ./NAME-VERSION.tgz in `cwd`. */
export async function packPlugin(
  fs: FsCapability,
  dirArg: string,
  options: { out?: string; cwd?: string } = {},
): Promise<Packed> {
  const dir = resolve(options.cwd ?? process.cwd(), dirArg);
  const { manifest, text } = await readManifestFile(fs, dir);
  const out = resolve(options.cwd ?? process.cwd(), options.out ?? `${manifest.name}-${manifest.version}.tgz`);
  const entry = await sourceEntry(fs, dir, manifest);
  const main = manifest.main.replace(/^\.\//, '');
  const files: TarFile[] = [
    { path: MANIFEST_FILE, data: new TextEncoder().encode(text) },
    { path: main, data: await mainBytes(fs, dir, dirArg, manifest, entry) },
  ];
  for (const x of EXTRAS) {
    const data = await readBytesIfExists(fs, join(dir, x));
    if (data) files.push({ path: x, data });
  }
  const bytes = tarGz(files);
  await readPluginArchive(bytes, out); // what we publish must pass the installer's own checks
  await writeFileAtomic(fs, out, bytes);
  const entries = files.map((f) => f.path).sort();
  return {
    file: out,
    name: manifest.name,
    version: manifest.version,
    sha256: sha256(bytes),
    size: bytes.byteLength,
    entries,
    bundledFrom: entry,
  };
}
