/**
 * The configured registries: `${configDir}/registries.yaml`, changed by `registry add|remove`
 * (atomically, under the lock 'registry-list').
 *
 *   registries:
 *     - name: team
 *       url: https://plugins.example.com/cx/
 */
import { CxError, closest, type FsCapability } from 'cx-ops/sdk';
import { describeSchemaError, parseYaml } from 'cx-ops/sdk/host';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { registryErrors } from './errors.js';
import { readBytesIfExists, writeFileAtomic, type RegistryCaps } from './local-files.js';
import { schemaValidator } from './schemas.js';

export interface RegistrySource {
  name: string;
  url: string;
  added?: string;
  /** Only archives signed by a key in plugins.trusted_sources install from this registry. */
  require_signatures?: boolean;
}

export const REGISTRIES_FILE = 'registries.yaml';

export const registriesFile = (configDir: string) => join(configDir, REGISTRIES_FILE);

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

const ROOT_KEYS = ['registries'];
const ENTRY_KEYS = ['name', 'url', 'added', 'require_signatures'];

/**
 * Reads registries.yaml (schemas/registries.schema.json); a missing file is an empty list. A file
 * that does not parse is CX_ERR_YAML_SYNTAX (file, line, column); one with unknown keys or wrong
 * values is CX_ERR_REGISTRIES_INVALID naming the line, the field and the valid keys, so nothing
 * the operator wrote is ever silently ignored or dropped by a rewrite.
 */
export async function readRegistries(fs: FsCapability, configDir: string): Promise<RegistrySource[]> {
  const file = registriesFile(configDir);
  const bytes = await readBytesIfExists(fs, file);
  if (!bytes) return [];
  const doc = parseYaml(bytes, file); // a syntax error is CX_ERR_YAML_SYNTAX with file, line and column
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
    throw registryErrors.CX_ERR_REGISTRIES_INVALID({
      file,
      line: doc.lineOf(p.path, unknownKey),
      field: p.field,
      detail,
      found: p.found,
    });
  }
  const list = (data as { registries?: RegistrySource[] | null }).registries ?? [];
  return list.map((r) => ({
    name: r.name,
    url: r.url,
    ...(r.added !== undefined ? { added: r.added } : {}),
    ...(r.require_signatures !== undefined ? { require_signatures: r.require_signatures } : {}),
  }));
}

async function write(fs: FsCapability, configDir: string, list: RegistrySource[]): Promise<void> {
  const text = `# cx-ops plugin registries; change with: cx-ops registry add|remove\n${stringify({ registries: list }, { lineWidth: 0 })}`;
  await writeFileAtomic(fs, registriesFile(configDir), text);
}

/** Runs `change` under the lock of the registry list (another add or remove waits up to 5 s). */
async function underListLock<T>(caps: RegistryCaps, change: () => Promise<T>): Promise<T> {
  const lock = await caps.lock('registry-list', { waitMs: 5_000, what: 'changing the registry list' });
  try {
    return await change();
  } finally {
    await lock.release();
  }
}

/** Adds a registry; a duplicate name is refused with CX_ERR_REGISTRY_DUPLICATE. */
export async function addRegistry(caps: RegistryCaps, configDir: string, source: RegistrySource): Promise<void> {
  if (!NAME.test(source.name)) {
    throw new CxError('CX_ERR_USAGE', {
      detail: `'${source.name}' is not a valid registry name: use lower-case letters, digits, '.', '_' and '-'.`,
      hint: 'cx-ops registry add team https://plugins.example.com/cx/',
    });
  }
  await underListLock(caps, async () => {
    const list = await readRegistries(caps.localFs, configDir);
    const same = list.find((r) => r.name === source.name);
    if (same) throw registryErrors.CX_ERR_REGISTRY_DUPLICATE({ name: source.name, url: same.url });
    await write(caps.localFs, configDir, [...list, source]);
  });
}

/** Removes a registry by name; an unknown name is CX_ERR_REGISTRY_UNKNOWN. */
export async function removeRegistry(caps: RegistryCaps, configDir: string, name: string): Promise<RegistrySource> {
  return underListLock(caps, async () => {
    const list = await readRegistries(caps.localFs, configDir);
    const found = list.find((r) => r.name === name);
    if (!found) throw registryErrors.CX_ERR_REGISTRY_UNKNOWN({ name, known: list.map((r) => r.name) });
    await write(
      caps.localFs,
      configDir,
      list.filter((r) => r !== found),
    );
    return found;
  });
}

/** The registry of that name, or CX_ERR_REGISTRY_UNKNOWN listing the configured ones. */
export function requireRegistry(list: RegistrySource[], name: string): RegistrySource {
  const found = list.find((r) => r.name === name);
  if (!found) throw registryErrors.CX_ERR_REGISTRY_UNKNOWN({ name, known: list.map((r) => r.name) });
  return found;
}
