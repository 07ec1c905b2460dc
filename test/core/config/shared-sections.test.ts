/**
 * Sections of config.yaml that several plugins share (`checks:`): each built-in check plugin
 * owns the sub-sections of its own checks, sees only those, and a sub-section no plugin owns is
 * an error with its line and the nearest setting. Existing configs read as before.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { loadConfig, pluginConfig, sectionOwners } from '../../../core/config.js';
import { readManifest } from '../../../core/loader/manifest.js';
import type { PluginManifest } from '../../../sdk/types.js';

const BUILTIN = fileURLToPath(new URL('../../../plugins-builtin/', import.meta.url));
let dir: string;
let manifests: PluginManifest[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-config-'));
  manifests = await Promise.all(
    ['checks-system', 'checks-network', 'checks-packages', 'doctor'].map(
      async (n) => (await readManifest(join(BUILTIN, n))).manifest,
    ),
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const byName = (name: string) => manifests.find((m) => m.name === name)!;

test('the check plugins own the sub-sections of their own checks, and nothing else', () => {
  const owners = sectionOwners(manifests);
  expect([...owners.keys()]).toEqual(['checks']);
  expect(Object.fromEntries(owners.get('checks')!)).toEqual({
    disk_space: 'checks-system',
    memory: 'checks-system',
    swap_usage: 'checks-system',
    cpu_load: 'checks-system',
    zombie_processes: 'checks-system',
    file_descriptors: 'checks-system',
    time_sync: 'checks-system',
    systemd_failed: 'checks-system',
    network_connectivity: 'checks-network',
    dns_resolution: 'checks-network',
    apt_status: 'checks-packages',
    security_updates: 'checks-packages',
  });
});

test('an existing checks: section reads as before; each plugin sees its own settings with defaults', async () => {
  await writeFile(
    join(dir, 'config.yaml'),
    'checks:\n  memory:\n    warn_percent: 70\n  dns_resolution:\n    names: [example.org]\n',
  );
  const config = await loadConfig(dir);
  const owners = sectionOwners(manifests);
  const system = pluginConfig(config, byName('checks-system'), undefined, owners);
  expect(Object.keys(system).sort()).toEqual([
    'cpu_load',
    'disk_space',
    'file_descriptors',
    'memory',
    'swap_usage',
    'systemd_failed',
    'time_sync',
    'zombie_processes',
  ]);
  expect(system.memory).toEqual({ warn_percent: 70, fail_percent: 95 });
  expect(pluginConfig(config, byName('checks-network'), undefined, owners).dns_resolution).toEqual({
    names: ['example.org'],
    servers: [],
    timeout_ms: 2000,
  });
  expect(Object.keys(pluginConfig(config, byName('checks-packages'), undefined, owners)).sort()).toEqual([
    'apt_status',
    'security_updates',
  ]);
});

test('a sub-section no plugin owns is a config error naming its line, the nearest setting and the ones there are', async () => {
  await writeFile(
    join(dir, 'config.yaml'),
    'checks:\n  memory:\n    warn_percent: 70\n  disk_spcae:\n    warn_percent: 70\n',
  );
  const config = await loadConfig(dir);
  const file = join(dir, 'config.yaml');
  let thrown: unknown;
  try {
    pluginConfig(config, byName('checks-packages'), undefined, sectionOwners(manifests));
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toMatchObject({ code: 'CX_ERR_CONFIG_INVALID', plugin: 'checks-packages', exitCode: 2 });
  expect((thrown as Error).message).toBe(
    `${file}:4: 'checks.disk_spcae' is not a setting of any installed plugin (did you mean disk_space?); the settings of 'checks' are: ` +
      'apt_status, cpu_load, disk_space, dns_resolution, file_descriptors, memory, network_connectivity, security_updates, swap_usage, systemd_failed, time_sync, zombie_processes\n' +
      `Fix that value in ${file}; the schema is in plugin 'checks-packages''s plugin.yaml (config_schema).`,
  );
});

test("a wrong value inside a plugin's own sub-section names that plugin and the field", async () => {
  await writeFile(join(dir, 'config.yaml'), 'checks:\n  memory:\n    warn_percent: high\n');
  const config = await loadConfig(dir);
  const owners = sectionOwners(manifests);
  expect(() => pluginConfig(config, byName('checks-network'), undefined, owners)).not.toThrow();
  expect(() => pluginConfig(config, byName('checks-system'), undefined, owners)).toThrow(
    expect.objectContaining({
      plugin: 'checks-system',
      message: expect.stringContaining(
        `${join(dir, 'config.yaml')}:3: 'checks.memory.warn_percent' must be of type number (found: "high")`,
      ),
    }),
  );
});

test('plugins.auto_load, a setting that never did anything, is refused with what to do', async () => {
  await writeFile(join(dir, 'config.yaml'), 'plugins:\n  enabled: true\n  auto_load: false\n');
  await expect(loadConfig(dir)).rejects.toMatchObject({
    code: 'CX_ERR_CONFIG_INVALID',
    message: expect.stringContaining(
      `${join(dir, 'config.yaml')}:3: 'plugins.auto_load' is no longer a setting: enabled plugins always load; delete this line`,
    ),
  });
});

test('a config_schema that strict JSON Schema validation refuses is a manifest error naming the field', async () => {
  await writeFile(join(dir, 'config.yaml'), 'loose: {}\n');
  const config = await loadConfig(dir);
  const manifest = {
    ...byName('doctor'),
    name: 'loose',
    config_key: undefined,
    config_schema: { type: 'object', properties: { n: { type: 'integer', minimun: 1 } } },
  };
  expect(() => pluginConfig(config, manifest)).toThrow(
    expect.objectContaining({
      code: 'CX_ERR_MANIFEST_INVALID',
      plugin: 'loose',
      message: expect.stringContaining(
        "plugin 'loose': plugin.yaml: field 'config_schema' is not a JSON Schema that strict validation accepts: strict mode: unknown keyword: \"minimun\"",
      ),
    }),
  );
});
