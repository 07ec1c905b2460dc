/**
 * The kernel's `plugins:` section of config.yaml, as far as the registry plugin needs it:
 * `trusted_sources` (publisher keys), `require_signatures` (only archives signed by one of them)
 * and `enabled` (whether third-party plugins load at all).
 * The kernel validated the file at start, so only the shape is assumed here.
 */
import { join } from 'node:path';
import type { FsCapability } from 'cx-ops/sdk';
import { parseYaml } from 'cx-ops/sdk/host';
import { readBytesIfExists } from './local-files.js';

export interface PluginsSection {
  file: string;
  enabled: boolean;
  require_signatures: boolean;
  trusted_sources: unknown[];
}

export async function readPluginsSection(fs: FsCapability, configDir: string): Promise<PluginsSection> {
  const file = join(configDir, 'config.yaml');
  const bytes = await readBytesIfExists(fs, file);
  // The SDK's one YAML reader: a syntax error or an alias bomb is CX_ERR_YAML_SYNTAX with file:line:col.
  const data = bytes ? (parseYaml(bytes, file).data as { plugins?: unknown } | null) : null;
  const raw = data && typeof data === 'object' ? data.plugins : undefined;
  const section = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  return {
    file,
    enabled: section.enabled !== false,
    require_signatures: section.require_signatures === true,
    trusted_sources: Array.isArray(section.trusted_sources) ? section.trusted_sources : [],
  };
}
