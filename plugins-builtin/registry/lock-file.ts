/**
 * The lock file `${dataDir}/plugins.lock.json` (schema schemas/plugins-lock.schema.json): every
 * plugin installed from a registry with its version, archive URL, sha256, signature status and
 * the sha256 of each installed file. `plugins install --lock FILE` repeats the same install on
 * another host; `plugins info` compares the files to tell a modified install.
 */
import { join } from 'node:path';
import { CxError, isCxError, messageOf, type FsCapability, type Tier } from 'cx-ops/sdk';
import { describeSchemaError, parseYaml } from 'cx-ops/sdk/host';
import { registryErrors } from './errors.js';
import { readBytesIfExists, utf8, writeFileAtomic } from './local-files.js';
import { schemaValidator } from './schemas.js';
import { sha256 } from './sha256.js';
import type { SignatureStatus } from './signing.js';

export interface LockedPlugin {
  version: string;
  range?: string;
  registry: string;
  url: string;
  sha256: string;
  /** The status at install time, with the signature itself so another host can check it again. */
  signature: SignatureStatus & { public_key?: string; signature?: string };
  tier: Tier;
  grants?: string[];
  files: Record<string, string>;
  installed_at: string;
}

export interface LockFile {
  lock_version: 1;
  plugins: Record<string, LockedPlugin>;
}

export const LOCK_FILE = 'plugins.lock.json';
export const lockPath = (dataDir: string) => join(dataDir, LOCK_FILE);

/** 1-based line and column of a character offset in text. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/**
 * Where JSON.parse gave up: the position it names, else the longest prefix that is still the
 * start of some valid JSON text (found by bisection; V8 names no position for some errors).
 */
function jsonErrorOffset(text: string, message: string): number {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  const validStart = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return true;
    } catch (e) {
      const m = messageOf(e);
      const pos = /at position (\d+)/.exec(m);
      return /end of JSON input/.test(m) || (pos !== null && Number(pos[1]) >= n);
    }
  };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (validStart(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Reads a lock file. A missing file is an empty lock, unless `mustExist` (a file the user named
 * with --lock): then it is CX_ERR_USAGE. A file that is not JSON or does not match the schema is
 * CX_ERR_LOCK_INVALID with the line (and column) of the problem.
 */
export async function readLock(
  fs: FsCapability,
  file: string,
  options: { mustExist?: boolean } = {},
): Promise<LockFile> {
  const bytes = await readBytesIfExists(fs, file).catch((e: unknown) => {
    throw registryErrors.CX_ERR_LOCK_INVALID({
      file,
      detail: `cannot be read (${isCxError(e) ? (e.params.detail ?? e.message) : String(e)}).`,
    });
  });
  if (!bytes) {
    if (options.mustExist) {
      throw new CxError('CX_ERR_USAGE', {
        detail: `lock file ${file} does not exist; nothing was installed.`,
        hint: "cx-ops plugins install --lock PATH/plugins.lock.json   (a copy of another host's ${dataDir}/plugins.lock.json)",
      });
    }
    return { lock_version: 1, plugins: {} };
  }
  const text = utf8(bytes);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const message = messageOf(e)
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/, (\.\.\.)?".*" is not valid JSON$/s, '');
    throw registryErrors.CX_ERR_LOCK_INVALID({
      file,
      ...lineColumn(text, jsonErrorOffset(text, messageOf(e))),
      detail: `is not valid JSON: ${message}.`,
    });
  }
  const validate = schemaValidator('plugins-lock.schema.json');
  if (!validate(data)) {
    const p = describeSchemaError(validate.errors, data);
    let line: number | undefined;
    try {
      line = parseYaml(text, file).lineOf(p.path); // JSON is YAML: its parser knows each field's line
    } catch {
      line = undefined;
    }
    throw registryErrors.CX_ERR_LOCK_INVALID({
      file,
      line,
      detail: `field '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}.`,
    });
  }
  return data as LockFile;
}

/** Writes the lock file atomically, plugins sorted by name. */
export async function writeLock(fs: FsCapability, file: string, lock: LockFile): Promise<void> {
  const plugins: Record<string, LockedPlugin> = {};
  for (const n of Object.keys(lock.plugins).sort()) plugins[n] = lock.plugins[n]!;
  await writeFileAtomic(fs, file, `${JSON.stringify({ lock_version: 1, plugins }, null, 2)}\n`);
}

/** sha256 of every file of an archive's contents, keyed by '/'-separated relative path (what an install writes). */
export function hashFiles(
  files: Array<{ path: string; type: 'file' | 'directory'; data: Uint8Array }>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
    if (f.type === 'file') out[f.path] = sha256(f.data);
  return out;
}

/** sha256 of every file under `dir`, keyed by '/'-separated relative path. */
export async function hashTree(fs: FsCapability, dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of (await fs.readDir(join(dir, prefix))).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.type === 'directory') Object.assign(out, await hashTree(fs, dir, rel));
    else out[rel] = e.type === 'file' ? sha256(await fs.readBytes(join(dir, rel))) : 'not-a-regular-file';
  }
  return out;
}

/** Files added, removed or changed since install (empty when the install is intact). */
export async function modifiedFiles(
  fs: FsCapability,
  dir: string,
  recorded: Record<string, string>,
): Promise<string[]> {
  let now: Record<string, string>;
  try {
    now = await hashTree(fs, dir);
  } catch {
    return ['(the plugin directory is missing)'];
  }
  const names = new Set([...Object.keys(now), ...Object.keys(recorded)]);
  return [...names].filter((n) => now[n] !== recorded[n]).sort();
}
