/**
 * The configured registries: `${configDir}/registries.yaml`, changed by `registry add|remove`
 * (atomically, under a lock).
 *
 *   registries:
 *     - name: team
 *       url: https://plugins.example.com/cx/
 */
import { CxError } from 'cx-ops/sdk';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { lockFile, readIfExists, writeAtomic } from './files.js';
import { formatPath, parseYamlSource, YamlSyntaxError } from './yaml-source.js';

export interface RegistrySource {
  name: string;
  url: string;
  added?: string;
}

export const REGISTRIES_FILE = 'registries.yaml';

export const registriesFile = (configDir: string) => join(configDir, REGISTRIES_FILE);

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Reads registries.yaml; a missing file is an empty list, a malformed one a clear error. */
export async function readRegistries(configDir: string): Promise<RegistrySource[]> {
  const file = registriesFile(configDir);
  const bytes = await readIfExists(file);
  if (!bytes) return [];
  let doc;
  try {
    doc = parseYamlSource(bytes.toString('utf8'));
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw new CxError('CX_ERR_REGISTRY_INDEX_INVALID', { source: file, line: e.line, field: '(root)', detail: `is not valid YAML: ${e.message}` });
    throw e;
  }
  const data = (doc.data ?? {}) as { registries?: unknown };
  const list = data.registries ?? [];
  const bad = (path: Array<string | number>, detail: string, found?: unknown) =>
    new CxError('CX_ERR_REGISTRY_INDEX_INVALID', { source: file, line: doc.lineOf(path), field: formatPath(path), detail, found });
  if (!Array.isArray(list)) throw bad(['registries'], 'must be a list of { name, url }', list);
  return list.map((r, i) => {
    if (!r || typeof r !== 'object' || typeof r.name !== 'string' || typeof r.url !== 'string') throw bad(['registries', i], 'must be a mapping with name and url', r);
    return { name: r.name, url: r.url, ...(typeof r.added === 'string' ? { added: r.added } : {}) };
  });
}

async function write(configDir: string, list: RegistrySource[]): Promise<void> {
  const text = `# cx-ops plugin registries; change with: cx-ops registry add|remove\n${stringify({ registries: list }, { lineWidth: 0 })}`;
  await writeAtomic(registriesFile(configDir), text);
}

/** Adds a registry; a duplicate name is refused with CX_ERR_REGISTRY_DUPLICATE. */
export async function addRegistry(configDir: string, source: RegistrySource): Promise<void> {
  if (!NAME.test(source.name)) {
    throw new CxError('CX_ERR_USAGE', { detail: `'${source.name}' is not a valid registry name: use lower-case letters, digits, '.', '_' and '-'.`, hint: 'cx-ops registry add team https://plugins.example.com/cx/' });
  }
  const release = await lockFile(join(configDir, '.registries.lock'), 'the registry list', 5_000);
  try {
    const list = await readRegistries(configDir);
    const same = list.find((r) => r.name === source.name);
    if (same) throw new CxError('CX_ERR_REGISTRY_DUPLICATE', { name: source.name, url: same.url });
    await write(configDir, [...list, source]);
  } finally {
    await release();
  }
}

/** Removes a registry by name; an unknown name is CX_ERR_REGISTRY_UNKNOWN. */
export async function removeRegistry(configDir: string, name: string): Promise<RegistrySource> {
  const release = await lockFile(join(configDir, '.registries.lock'), 'the registry list', 5_000);
  try {
    const list = await readRegistries(configDir);
    const found = list.find((r) => r.name === name);
    if (!found) throw new CxError('CX_ERR_REGISTRY_UNKNOWN', { name, known: list.map((r) => r.name) });
    await write(configDir, list.filter((r) => r !== found));
    return found;
  } finally {
    await release();
  }
}

/** The registry of that name, or CX_ERR_REGISTRY_UNKNOWN listing the configured ones. */
export function requireRegistry(list: RegistrySource[], name: string): RegistrySource {
  const found = list.find((r) => r.name === name);
  if (!found) throw new CxError('CX_ERR_REGISTRY_UNKNOWN', { name, known: list.map((r) => r.name) });
  return found;
}
