// Shared set-up of the capability tests: the real host capabilities of one plugin over a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { SandboxHost, type SandboxedPlugin } from '../../../core/sandbox/host.js';
import type { PluginContext } from '../../../sdk/types.js';
import { testContext } from '../../helpers/test-context.js';
import { createHostCapabilities, type CapabilityFakes, type DryRunRecorder } from '../../../core/capabilities/index.js';
import { mergeGrants, parseGrant } from '../../../core/permissions/grants.js';

export interface CapsOptions {
  /** Grant strings for a sandboxed plugin; omitted: trusted (no grant checks). */
  grants?: string[];
  root?: string;
  dryRun?: boolean;
  ownDirs?: string[];
  lockDir?: string;
  pluginDir?: string;
  modeMask?: number;
  fakes?: CapabilityFakes;
}

/** The capabilities of plugin `name`, its audit log and its dry-run recorder. */
export function caps(name: string, o: CapsOptions = {}) {
  const audit = AuditLog.memory();
  const recorder: DryRunRecorder = { actions: [] };
  const c = createHostCapabilities({
    plugin: name,
    tier: o.grants ? 'sandboxed' : 'trusted',
    grants: o.grants ? mergeGrants(o.grants.map((g) => parseGrant(g))) : 'all',
    dryRun: Boolean(o.dryRun),
    audit,
    recorder,
    root: o.root,
    ownDirs: o.ownDirs,
    lockDir: o.lockDir,
    pluginDir: o.pluginDir,
    modeMask: o.modeMask,
    fakes: o.fakes,
  });
  return { ...c, audit, recorder };
}

/** A temp directory removed by the returned function. */
export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export { rejection } from '../../helpers/rejection.js';

/** One command plugin loaded in a real sandbox, with a sandboxed-tier context holding `grants`. */
export async function sandboxed(
  name: string,
  code: string,
  grants: string[],
  root?: string,
): Promise<{ plugin: SandboxedPlugin; ctx: PluginContext; audit: AuditLog; close(): Promise<void> }> {
  const made = testContext(name, mergeGrants(grants.map((g) => parseGrant(g))), undefined, root ? { root } : {});
  const host = new SandboxHost({ defaultLimits: { callTimeoutMs: 10_000 } });
  const plugin = await host.load({ name, code, filename: `${name}.js` });
  return { plugin, ctx: made.ctx, audit: made.audit, close: () => host.close() };
}
