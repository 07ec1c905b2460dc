/**
 * plugin.yaml as the registry plugin reads it: from a directory (pack) or from an archive
 * (publish, install), validated against schemas/plugin.schema.json with file, line and field.
 */
import { CxError, isCxError, type FsCapability, type PluginManifest } from 'cx-ops/sdk';
import { join } from 'node:path';
import { readBytesIfExists, utf8 } from './local-files.js';
import { parseValidated } from './registry-index.js';

/** plugin.yaml: the SDK's type, shared with the kernel. */
export type Manifest = PluginManifest;

export const MANIFEST_FILE = 'plugin.yaml';

/** Parses and validates manifest text; `file` names it in errors (a path, or `archive!plugin.yaml`). */
export function parseManifest(text: string | Uint8Array, file: string): Manifest {
  return parseValidated(text, file, 'plugin.schema.json', 'CX_ERR_MANIFEST_INVALID') as Manifest;
}

/** Reads dir/plugin.yaml (through `fs`: ctx.localFs). */
export async function readManifestFile(
  fs: FsCapability,
  dir: string,
): Promise<{ manifest: Manifest; text: string; file: string }> {
  const file = join(dir, MANIFEST_FILE);
  const notPlugin = (why: string) =>
    new CxError('CX_ERR_USAGE', {
      detail: `${dir} is not a plugin directory: ${why}.`,
      hint: 'cx-ops plugins create NAME --type check',
    });
  const bytes = await readBytesIfExists(fs, file).catch((e: unknown) => {
    throw notPlugin(isCxError(e) ? String(e.params.detail ?? e.message) : String(e));
  });
  if (!bytes) throw notPlugin('it has no plugin.yaml');
  const text = utf8(bytes);
  return { manifest: parseManifest(text, file), text, file };
}

/** The permissions a manifest requests, as grant strings (the form `plugins enable --grant` takes). */
export function requestedPermissions(m: Manifest): string[] {
  const p = m.permissions ?? {};
  const out: string[] = [];
  for (const e of p.exec ?? [])
    out.push(typeof e === 'string' ? `exec:${e}` : `exec:${[e.command, ...(e.args ?? [])].join(' ')}`);
  for (const r of p.read ?? []) out.push(`read:${r}`);
  for (const w of p.write ?? []) out.push(`write:${w}`);
  for (const n of p.net ?? []) out.push(`net:${n}`);
  if (p.registry) out.push('registry');
  return out;
}
