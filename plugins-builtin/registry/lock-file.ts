/**
 * The lock file `${dataDir}/plugins.lock.json` (schema schemas/plugins-lock.schema.json): every
 * plugin installed from a registry with its version, archive URL, sha256, signature status and
 * the sha256 of each installed file. `plugins install --lock FILE` repeats the same install on
 * another host; `plugins info` compares the files to tell a modified install.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readIfExists, sha256, writeAtomic } from './files.js';
import { schemaValidator } from './registry-index.js';
import type { SignatureStatus } from './signing.js';
import { CxError, type Tier } from 'cx-ops/sdk';
import { describeSchemaError } from './yaml-source.js';

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

export async function readLock(file: string): Promise<LockFile> {
  const bytes = await readIfExists(file);
  if (!bytes) return { lock_version: 1, plugins: {} };
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch (e: any) {
    throw new CxError('CX_ERR_IO', { path: file, detail: `is not valid JSON (${e.message}). Restore it from a backup or move it aside.` });
  }
  const validate = schemaValidator('plugins-lock.schema.json');
  if (!validate(data)) {
    const p = describeSchemaError(validate.errors, data);
    throw new CxError('CX_ERR_IO', { path: file, detail: `field '${p.field}' ${p.detail} (schemas/plugins-lock.schema.json).` });
  }
  return data as LockFile;
}

export async function writeLock(file: string, lock: LockFile): Promise<void> {
  const plugins: Record<string, LockedPlugin> = {};
  for (const n of Object.keys(lock.plugins).sort()) plugins[n] = lock.plugins[n]!;
  await writeAtomic(file, `${JSON.stringify({ lock_version: 1, plugins }, null, 2)}\n`);
}

/** sha256 of every file under `dir`, keyed by '/'-separated relative path. */
export async function hashTree(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, await hashTree(dir, rel));
    else out[rel] = e.isFile() ? sha256(await readFile(join(dir, rel))) : 'not-a-regular-file';
  }
  return out;
}

/** Files added, removed or changed since install (empty when the install is intact). */
export async function modifiedFiles(dir: string, recorded: Record<string, string>): Promise<string[]> {
  let now: Record<string, string>;
  try {
    now = await hashTree(dir);
  } catch {
    return ['(the plugin directory is missing)'];
  }
  const names = new Set([...Object.keys(now), ...Object.keys(recorded)]);
  return [...names].filter((n) => now[n] !== recorded[n]).sort();
}
