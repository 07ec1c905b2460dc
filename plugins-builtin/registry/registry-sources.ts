/**
 * The configured registries: `${configDir}/registries.yaml`, changed by `registry add|remove`
 * (atomically, under a lock).
 *
 *   registries:
 *     - name: team
 *       url: https://plugins.example.com/cx/
 */
import { CxError, closest } from 'cx-ops/sdk';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { lockFile, readIfExists, writeAtomic } from './files.js';
import { schemaValidator } from './registry-index.js';
import { describeSchemaError, parseYamlSource, YamlSyntaxError } from './yaml-source.js';
import { registryErrors } from './errors.js';

export interface RegistrySource {
  name: string;
  url: string;
  added?: string;
}

export const REGISTRIES_FILE = 'registries.yaml';

export const registriesFile = (configDir: string) => join(configDir, REGISTRIES_FILE);

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

const ROOT_KEYS = ['registries'];
const ENTRY_KEYS = ['name', 'url', 'added'];

/**
 * Reads registries.yaml (schemas/registries.schema.json); a missing file is an empty list. A file
 * that does not parse is CX_ERR_YAML_SYNTAX (file, line, column); one with unknown keys or wrong
 * values is CX_ERR_REGISTRIES_INVALID naming the line, the field and the valid keys, so nothing
 * the operator wrote is ever silently ignored or dropped by a rewrite.
 */
export async function readRegistries(configDir: string): Promise<RegistrySource[]> {
  const file = registriesFile(configDir);
  const bytes = await readIfExists(file);
  if (!bytes) return [];
  let doc;
  try {
    doc = parseYamlSource(bytes.toString('utf8'));
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw new CxError('CX_ERR_YAML_SYNTAX', { file, line: e.line, column: e.column, detail: e.message });
    throw e;
  }
  const data = doc.data ?? {};
  const validate = schemaValidator('registries.schema.json');
  if (!validate(data)) {
    const p = describeSchemaError(validate.errors, data);
    let detail = p.detail;
    const unknownKey = validate.errors?.[0]?.keyword === 'additionalProperties';
    if (unknownKey) {
      const valid = p.path.length === 1 ? ROOT_KEYS : ENTRY_KEYS;
      const near = closest(String(p.path[p.path.length - 1]), valid);
      detail += `; valid keys here: ${valid.join(', ')}${near.length ? ` (did you mean '${near[0]}'?)` : ''}`;
    }
    throw registryErrors.CX_ERR_REGISTRIES_INVALID({ file, line: doc.lineOf(p.path, unknownKey), field: p.field, detail, found: p.found });
  }
  const list = (data as { registries?: RegistrySource[] | null }).registries ?? [];
  return list.map((r) => ({ name: r.name, url: r.url, ...(r.added !== undefined ? { added: r.added } : {}) }));
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
    if (same) throw registryErrors.CX_ERR_REGISTRY_DUPLICATE({ name: source.name, url: same.url });
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
    if (!found) throw registryErrors.CX_ERR_REGISTRY_UNKNOWN({ name, known: list.map((r) => r.name) });
    await write(configDir, list.filter((r) => r !== found));
    return found;
  } finally {
    await release();
  }
}

/** The registry of that name, or CX_ERR_REGISTRY_UNKNOWN listing the configured ones. */
export function requireRegistry(list: RegistrySource[], name: string): RegistrySource {
  const found = list.find((r) => r.name === name);
  if (!found) throw registryErrors.CX_ERR_REGISTRY_UNKNOWN({ name, known: list.map((r) => r.name) });
  return found;
}
