/**
 * /etc/cx/config.yaml: the kernel's `plugins:` section and one section per plugin, each
 * validated against its plugin's config_schema with defaults applied.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { CxError } from './errors.js';
import { compileSchema, describeSchemaError, shippedValidator } from './schema.js';
import type { YamlFile } from './loader/yaml.js';
import { stat } from 'node:fs/promises';
import type { PluginManifest } from './loader/manifest.js';

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

export async function loadConfig(configDir: string): Promise<LoadedConfig> {
  const file = join(configDir, 'config.yaml');
  // yaml is loaded only when there is a config file to parse.
  const exists = await stat(file).then(() => true, () => false);
  const yaml = exists ? await (await import('./loader/yaml.js')).readYamlFile(file) : undefined;
  const raw = yaml?.data ?? {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CxError('CX_ERR_CONFIG_INVALID', { file, field: '(root)', detail: 'must be a mapping of sections', found: raw, plugin: 'kernel' });
  }
  const data = raw as Record<string, unknown>;
  data.plugins ??= {};
  const validate = shippedValidator('config.schema.json');
  if (!validate(data)) {
    const p = describeSchemaError(validate.errors, data);
    throw new CxError('CX_ERR_CONFIG_INVALID', { file, line: yaml?.lineOf(p.path), field: p.field, detail: p.detail, found: p.found, plugin: 'kernel' });
  }
  const plugins = data.plugins as Partial<KernelPluginSettings>;
  return {
    file,
    data,
    yaml,
    plugins: {
      enabled: plugins.enabled ?? true,
      directory: plugins.directory,
      auto_load: plugins.auto_load ?? true,
      trusted_sources: plugins.trusted_sources ?? [],
      sandbox: { memory_mb: plugins.sandbox?.memory_mb ?? 64, call_timeout_ms: plugins.sandbox?.call_timeout_ms ?? 5000 },
    },
  };
}

const require = createRequire(import.meta.url);

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
    const p = describeSchemaError(validate.errors, section);
    throw new CxError('CX_ERR_CONFIG_INVALID', {
      file: config.file,
      line: config.yaml?.lineOf([key, ...p.path]),
      field: `${key}.${p.field === '(root)' ? '' : p.field}`.replace(/\.$/, '').replace(/\.\[/, '['),
      detail: p.detail,
      found: p.found,
      plugin: manifest.name,
    });
  }
  return section as Record<string, unknown>;
}
