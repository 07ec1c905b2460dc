// Test helpers: a PluginContext backed by the real host capabilities (optionally faked), and a
// small plugin-source builder.
import { AuditLog } from '../../core/capabilities/audit.js';
import { createHostCapabilities, type CapabilityFakes } from '../../core/capabilities/index.js';
import { CxError } from '../../core/errors.js';
import type { Grants } from '../../core/permissions/grants.js';
import type { PluginContext } from '../../sdk/types.js';

export interface TestContext {
  ctx: PluginContext;
  audit: AuditLog;
  logs: string[];
  out: string[];
}

export function testContext(
  plugin: string,
  grants: Grants | 'all',
  fakes?: CapabilityFakes,
  options: { root?: string } = {},
): TestContext {
  const root = options.root ?? '/';
  const audit = AuditLog.memory();
  const logs: string[] = [];
  const out: string[] = [];
  const caps = createHostCapabilities({ plugin, tier: 'sandboxed', grants, dryRun: false, audit, fakes, root });
  const denied = async (): Promise<never> => {
    throw new CxError('CX_ERR_PERMISSION_DENIED', { plugin, action: 'manage plugins', capability: 'kernel' });
  };
  const ctx: PluginContext = {
    plugin,
    tier: 'sandboxed',
    config: { greeting: 'hi' },
    env: {
      root,
      stateDir: '/tmp/none',
      cacheDir: '/tmp/none',
      configDir: '/etc/cx',
      dataDir: '/var/lib/cx',
      dryRun: false,
      verbose: false,
      assumeYes: false,
      kernelVersion: '0.1.0',
      command: 'cx-ops',
    },
    log: {
      debug: (m, d) => void logs.push(`debug ${m} ${JSON.stringify(d)}`),
      info: (m, d) => void logs.push(`info ${m} ${JSON.stringify(d)}`),
      warn: (m, d) => void logs.push(`warn ${m} ${JSON.stringify(d)}`),
      error: (m, d) => void logs.push(`error ${m} ${JSON.stringify(d)}`),
    },
    io: {
      out: (t) => void out.push(t),
      err: (t) => void out.push(`ERR ${t}`),
      confirm: async () => false,
      color: false,
      interactive: false,
    },
    exec: caps.exec,
    fs: caps.fs,
    localFs: caps.localFs,
    net: caps.net,
    lock: caps.lock,
    assets: caps.assets,
    registry: { list: async () => [], invoke: denied, callHook: denied },
    plugins: { list: denied, enable: denied, disable: denied, installDir: '' },
  };
  return { ctx, audit, logs, out };
}

/** A plugin module whose contributions (kind 'command') are the given `id: function source` pairs. */
export function pluginSource(name: string, commands: Record<string, string>, extra = ''): string {
  const list = Object.entries(commands).map(
    ([id, fn]) => `{ kind: 'command', id: ${JSON.stringify(id)}, meta: {}, run: ${fn} }`,
  );
  return `export default { name: ${JSON.stringify(name)}, contributes: [${list.join(',\n')}]${extra} };`;
}

export { rejection } from './rejection.js';

export const cmd = (id: string) => ({ type: 'contribution' as const, kind: 'command', id });
