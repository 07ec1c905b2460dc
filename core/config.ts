/**
 * /etc/cx/config.yaml: the kernel's `plugins:` section and one section per plugin, each
 * validated against its plugin's config_schema with defaults applied.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { closest } from '../sdk/closest.js';
import { DEFAULT_AUDIT_RETENTION, type AuditRetention } from './capabilities/audit.js';
import { CxError } from './errors.js';
import { compileSchema, describeSchemaError, shippedSchema, shippedValidator, type SchemaProblem } from './schema.js';
import type { YamlFile } from './loader/yaml.js';
import { lstat } from 'node:fs/promises';
import type { PluginManifest } from './loader/manifest.js';

const require = createRequire(import.meta.url);

export interface KernelPluginSettings {
  enabled: boolean;
  directory?: string;
  trusted_sources: Array<string | { name: string; public_key: string }>;
  sandbox: { memory_mb: number; call_timeout_ms: number; write_quota_mb: number; write_quota_files: number };
}

export interface LoadedConfig {
  file: string;
  data: Record<string, unknown>;
  yaml?: YamlFile;
  plugins: KernelPluginSettings;
  /** The audit log's rotation (`audit:`). */
  audit: AuditRetention;
}

/** The kernel's `audit:` settings in bytes, each at its default where the section leaves it out. */
function auditSettings(audit: { max_mb?: number; keep?: number } | undefined): AuditRetention {
  return {
    maxBytes: Math.round((audit?.max_mb ?? DEFAULT_AUDIT_RETENTION.maxBytes / 1024 / 1024) * 1024 * 1024),
    keep: audit?.keep ?? DEFAULT_AUDIT_RETENTION.keep,
  };
}

/** The kernel's `plugins:` settings, each at its default where the section leaves it out. */
function kernelSettings(plugins: Partial<KernelPluginSettings>): KernelPluginSettings {
  return {
    enabled: plugins.enabled ?? true,
    directory: plugins.directory,
    trusted_sources: plugins.trusted_sources ?? [],
    sandbox: {
      memory_mb: plugins.sandbox?.memory_mb ?? 64,
      call_timeout_ms: plugins.sandbox?.call_timeout_ms ?? 5000,
      write_quota_mb: plugins.sandbox?.write_quota_mb ?? 256,
      write_quota_files: plugins.sandbox?.write_quota_files ?? 10_000,
    },
  };
}

/** What a config file that is absent means: every setting at its default. */
export function defaultConfig(configDir: string): LoadedConfig {
  return {
    file: join(configDir, 'config.yaml'),
    data: { plugins: {} },
    plugins: kernelSettings({}),
    audit: auditSettings(undefined),
  };
}

/** Says what a top level that is not a mapping is, without echoing binary junk. */
function describeTopLevel(raw: unknown): string {
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'string') {
    if (/[\u0000-\u0008\u000e-\u001f]/.test(raw)) return 'binary data, not YAML text';
    return `a single text value (${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)})`;
  }
  return `a single value (${JSON.stringify(raw)})`;
}

/**
 * Every schema error of `data` (the fast validators stop at the first one). Runs only when
 * validation already failed, so ajv is loaded on the error path alone.
 */
function allProblems(
  schema: Record<string, unknown>,
  data: unknown,
  first: ValidateFunction['errors'],
): SchemaProblem[] {
  let errors = first ?? [];
  try {
    const { Ajv } = require('ajv') as typeof import('ajv');
    const validate = new Ajv({ allErrors: true, strict: true, useDefaults: true }).compile(schema);
    if (!validate(structuredClone(data)) && validate.errors?.length) errors = validate.errors;
  } catch {
    /* the first error alone is still right */
  }
  const seen = new Set<string>();
  const out: SchemaProblem[] = [];
  for (const e of errors) {
    // A failed oneOf/anyOf repeats what its branches said.
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const p = describeSchemaError([e], data);
    const key = `${p.field}|${p.detail}`;
    if (!seen.has(key)) out.push(p);
    seen.add(key);
  }
  return out.length ? out : [describeSchemaError(first, data)];
}

/** Settings cx-ops once documented and no longer has, each with what to do instead. */
const REMOVED_SETTINGS: ReadonlyArray<{ path: string[]; detail: string }> = [
  { path: ['plugins', 'auto_load'], detail: 'is no longer a setting: enabled plugins always load; delete this line' },
];

function removedSettings(data: Record<string, unknown>): Array<{ path: string[]; field: string; detail: string }> {
  return REMOVED_SETTINGS.filter(({ path }) => {
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), data);
    return parent !== null && typeof parent === 'object' && Object.hasOwn(parent, path.at(-1)!);
  }).map(({ path, detail }) => ({ path, field: path.join('.'), detail }));
}

export async function loadConfig(configDir: string): Promise<LoadedConfig> {
  const file = join(configDir, 'config.yaml');
  // yaml is loaded only when there is a config file to parse.
  // lstat: a dangling symlink or a --config-dir that is a file is read (and reported), not taken as absent.
  const exists = await lstat(file).then(
    () => true,
    (e: NodeJS.ErrnoException) => e?.code !== 'ENOENT',
  );
  const yaml = exists ? await (await import('./loader/yaml.js')).readYamlFile(file) : undefined;
  const raw = yaml?.data ?? {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CxError('CX_ERR_CONFIG_INVALID', {
      file,
      field: '(root)',
      detail: `must be a mapping of sections, but it is ${describeTopLevel(raw)}`,
      plugin: 'kernel',
    });
  }
  const data = raw as Record<string, unknown>;
  data.plugins ??= {};
  const removed = removedSettings(data).map((r) => ({ ...r, line: yaml?.lineOf(r.path) }));
  if (removed.length)
    throw new CxError('CX_ERR_CONFIG_INVALID', { file, ...removed[0], problems: removed, plugin: 'kernel' });
  const validate = shippedValidator('config.schema.json');
  if (!validate(data)) {
    const problems = allProblems(shippedSchema('config.schema.json'), data, validate.errors).map((p) => ({
      line: yaml?.lineOf(p.path),
      field: p.field,
      detail: p.detail,
      found: p.found,
    }));
    throw new CxError('CX_ERR_CONFIG_INVALID', { file, ...problems[0], problems, plugin: 'kernel' });
  }
  return {
    file,
    data,
    yaml,
    plugins: kernelSettings(data.plugins as Partial<KernelPluginSettings>),
    audit: auditSettings(data.audit as { max_mb?: number; keep?: number } | undefined),
  };
}

/** The build's precompiled validator of a built-in plugin's config_schema, if there is one. */
function precompiledBuiltinValidator(dir: string): ValidateFunction | undefined {
  try {
    const mod = require(join(dir, 'config-schema.validator.cjs'));
    return (mod.default ?? mod) as ValidateFunction;
  } catch {
    return undefined;
  }
}

/** A plugin's config_schema compiled by ajv in strict mode; a schema ajv refuses is a manifest error. */
function strictValidator(manifest: PluginManifest): ValidateFunction {
  try {
    return compileSchema(manifest.config_schema!);
  } catch (e) {
    throw new CxError('CX_ERR_MANIFEST_INVALID', {
      file: `plugin '${manifest.name}': plugin.yaml`,
      field: 'config_schema',
      detail: `is not a JSON Schema that strict validation accepts: ${e instanceof Error ? e.message : String(e)}`,
      plugin: manifest.name,
    });
  }
}

/**
 * The settings each plugin owns in the sections several plugins share: section -> setting ->
 * plugin. A plugin shares a section by naming it as its `config_key` (other than its own name);
 * it owns the settings its config_schema lists under `properties`. The built-in check plugins
 * share `checks:`, each owning the sub-sections named after its own check ids.
 */
export type SectionOwners = Map<string, Map<string, string>>;

/** The owners of every shared section, from the manifests of all discovered plugins. */
export function sectionOwners(manifests: Iterable<PluginManifest>): SectionOwners {
  const owners: SectionOwners = new Map();
  for (const m of manifests) {
    if (!m.config_key || m.config_key === m.name) continue;
    const settings = owners.get(m.config_key) ?? new Map<string, string>();
    for (const setting of ownedSettings(m)) settings.set(setting, m.name);
    owners.set(m.config_key, settings);
  }
  return owners;
}

function ownedSettings(manifest: PluginManifest): string[] {
  const properties = manifest.config_schema?.properties;
  return properties && typeof properties === 'object' ? Object.keys(properties) : [];
}

/**
 * The settings of a shared section that no discovered plugin owns (a typo, or the plugin is gone):
 * each a problem naming its line and the settings that exist.
 */
function unownedSettings(
  config: LoadedConfig,
  key: string,
  owned: Map<string, string>,
): Array<Record<string, unknown>> {
  const section = config.data[key];
  if (!section || typeof section !== 'object' || Array.isArray(section)) return [];
  return Object.keys(section)
    .filter((setting) => !owned.has(setting))
    .map((setting) => {
      const near = closest(setting, [...owned.keys()]);
      const known = [...owned.keys()].sort().join(', ');
      return {
        line: config.yaml?.lineOf([key, setting], true),
        field: `${key}.${setting}`,
        detail: `is not a setting of any installed plugin${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; the settings of '${key}' are: ${known}`,
      };
    });
}

/**
 * The plugin's section, validated against its config_schema, with defaults applied. In a shared
 * section (see SectionOwners) the plugin sees only the settings it owns, and a setting no plugin
 * owns is an error. `builtinDir` is given only for built-in plugins, whose precompiled validator
 * may be used.
 */
export function pluginConfig(
  config: LoadedConfig,
  manifest: PluginManifest,
  builtinDir?: string,
  owners?: SectionOwners,
): Record<string, unknown> {
  const key = manifest.config_key ?? manifest.name;
  const shared = key !== manifest.name;
  const unowned = shared && owners?.get(key) ? unownedSettings(config, key, owners.get(key)!) : [];
  if (unowned.length)
    throw new CxError('CX_ERR_CONFIG_INVALID', {
      file: config.file,
      ...unowned[0],
      problems: unowned,
      plugin: manifest.name,
    });
  const raw = config.data[key] ?? {};
  const mine = new Set(ownedSettings(manifest));
  const section =
    shared && raw && typeof raw === 'object' && !Array.isArray(raw)
      ? Object.fromEntries(Object.entries(structuredClone(raw)).filter(([setting]) => mine.has(setting)))
      : structuredClone(raw);
  if (!manifest.config_schema) return section as Record<string, unknown>;
  const validate = (builtinDir && precompiledBuiltinValidator(builtinDir)) || strictValidator(manifest);
  if (!validate(section)) {
    const fieldOf = (p: SchemaProblem) =>
      `${key}.${p.field === '(root)' ? '' : p.field}`.replace(/\.$/, '').replace(/\.\[/, '[');
    const problems = allProblems(
      manifest.config_schema,
      shared ? section : (config.data[key] ?? {}),
      validate.errors,
    ).map((p) => ({
      line: config.yaml?.lineOf([key, ...p.path]),
      field: fieldOf(p),
      detail: p.detail,
      found: p.found,
    }));
    throw new CxError('CX_ERR_CONFIG_INVALID', { file: config.file, ...problems[0], problems, plugin: manifest.name });
  }
  return section as Record<string, unknown>;
}
