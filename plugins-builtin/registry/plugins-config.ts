/**
 * The kernel's `plugins:` section of config.yaml, as far as the registry plugin needs it:
 * `trusted_sources` (publisher keys), `require_signatures` (only archives signed by one of them)
 * and `enabled` (whether third-party plugins load at all).
 * The kernel validated the file at start, so only the shape is assumed here.
 */
import { join } from 'node:path';
import type { FsCapability } from 'cx-ops/sdk';
import { parse } from 'yaml';
import { readBytesIfExists, utf8 } from './local-files.js';

export interface PluginsSection {
  file: string;
  enabled: boolean;
  require_signatures: boolean;
  trusted_sources: unknown[];
}

export async function readPluginsSection(fs: FsCapability, configDir: string): Promise<PluginsSection> {
  const file = join(configDir, 'config.yaml');
  const bytes = await readBytesIfExists(fs, file);
  const section =
    (bytes ? (parse(utf8(bytes)) as { plugins?: Record<string, unknown> } | null)?.plugins : undefined) ?? {};
  return {
    file,
    enabled: section.enabled !== false,
    require_signatures: section.require_signatures === true,
    trusted_sources: Array.isArray(section.trusted_sources) ? section.trusted_sources : [],
  };
}
