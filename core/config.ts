/**
 * /etc/cx/config.yaml: the kernel's `plugins:` section and one section per plugin, each
 * validated against its plugin's config_schema with defaults applied.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { CxError } from './errors.js';
import { compileSchema, describeSchemaError, shippedSchema, shippedValidator, type SchemaProblem } from './schema.js';
import type { YamlFile } from './loader/yaml.js';
import { lstat } from 'node:fs/promises';
import type { PluginManifest } from './loader/manifest.js';

const require = createRequire(import.meta.url);

export interface KernelPluginSettings {
  enabled: boolean;
  directory?: string;
  auto_load: boolean;
  trusted_sources: Array<string | { name: string; public_key: string }>;
  sandbox: { memory_mb: number; call_timeout_ms: number };
}

export interface LoadedConfig {
  file: string;
  data: Record<string, unknown>;
  yaml?: YamlFile;
  plugins: KernelPluginSettings;
}

/** The kernel's `plugins:` settings, each at its default where the section leaves it out. */
function kernelSettings(plugins: Partial<KernelPluginSettings>): KernelPluginSettings {
  return {
    enabled: plugins.enabled ?? true,
    directory: plugins.directory,
    auto_load: plugins.auto_load ?? true,
    trusted_sources: plugins.trusted_sources ?? [],
    sandbox: { memory_mb: plugins.sandbox?.memory_mb ?? 64, call_timeout_ms: plugins.sandbox?.call_timeout_ms ?? 5000 },
  };
}

/** What a config file that is absent means: every setting at its default. */
export function defaultConfig(configDir: string): LoadedConfig {
  return { file: join(configDir, 'config.yaml'), data: { plugins: {} }, plugins: kernelSettings({}) };
}

/** Says what a top level that is not a mapping is, without echoing binary junk. */
function describeTopLevel(raw: unknown): string {
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'string') {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000e-\u001f]/.test(raw)) return 'binary data, not YAML text';
    return `a single text value (${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)})`;
  }
  return `a single value (${JSON.stringify(raw)})`;
}

/**
 * Every schema error of `data` (the fast validators stop at the first one). Runs only when
 * validation already failed, so ajv is loaded on the error path alone.
 */
function allProblems(schema: Record<string, unknown>, data: unknown, first: ValidateFunction['errors']): SchemaProblem[] {
  let errors = first ?? [];
  try {
    const { Ajv } = require('ajv') as typeof import('ajv');
    const validate = new Ajv({ allErrors: true, strict: false, useDefaults: true }).compile(schema);
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

export async function loadConfig(configDir: string): Promise<LoadedConfig> {
  const file = join(configDir, 'config.yaml');
  // yaml is loaded only when there is a config file to parse.
  // lstat: a dangling symlink or a --config-dir that is a file is read (and reported), not taken as absent.
  const exists = await lstat(file).then(() => true, (e: NodeJS.ErrnoException) => e?.code !== 'ENOENT');
  const yaml = exists ? await (await import('./loader/yaml.js')).readYamlFile(file) : undefined;
  const raw = yaml?.data ?? {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CxError('CX_ERR_CONFIG_INVALID', { file, field: '(root)', detail: `must be a mapping of sections, but it is ${describeTopLevel(raw)}`, plugin: 'kernel' });
  }
  const data = raw as Record<string, unknown>;
  data.plugins ??= {};
  const validate = shippedValidator('config.schema.json');
  if (!validate(data)) {
    const problems = allProblems(shippedSchema('config.schema.json'), data, validate.errors).map((p) => ({ line: yaml?.lineOf(p.path), field: p.field, detail: p.detail, found: p.found }));
    throw new CxError('CX_ERR_CONFIG_INVALID', { file, ...problems[0], problems, plugin: 'kernel' });
  }
  return { file, data, yaml, plugins: kernelSettings(data.plugins as Partial<KernelPluginSettings>) };
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

/**
 * The plugin's section, validated against its config_schema, with defaults applied.
 * `builtinDir` is given only for built-in plugins, whose precompiled validator may be used.
 */
export function pluginConfig(config: LoadedConfig, manifest: PluginManifest, builtinDir?: string): Record<string, unknown> {
  const key = manifest.config_key ?? manifest.name;
  const section = structuredClone(config.data[key] ?? {});
  if (!manifest.config_schema) return section as Record<string, unknown>;
  const validate = (builtinDir && precompiledBuiltinValidator(builtinDir)) || compileSchema(manifest.config_schema);
  if (!validate(section)) {
    const fieldOf = (p: SchemaProblem) => `${key}.${p.field === '(root)' ? '' : p.field}`.replace(/\.$/, '').replace(/\.\[/, '[');
    const problems = allProblems(manifest.config_schema, config.data[key] ?? {}, validate.errors).map((p) => ({
      line: config.yaml?.lineOf([key, ...p.path]),
      field: fieldOf(p),
      detail: p.detail,
      found: p.found,
    }));
    throw new CxError('CX_ERR_CONFIG_INVALID', { file: config.file, ...problems[0], problems, plugin: manifest.name });
  }
  return section as Record<string, unknown>;
}
