/**
 * config.yaml's `audit:` section (the kernel's): how large audit.jsonl grows before it is
 * rotated and how many rotated files are kept; defaults when absent, refused with its line when
 * invalid, and applied to the kernel's audit log.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { Kernel } from '../../../core/kernel.js';
import { resolvePaths } from '../../../core/paths.js';
import { rejection } from '../../helpers/rejection.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-audit-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('absent: 10 MB a file and 5 rotated files; given: in bytes', async () => {
  expect((await loadConfig(dir)).audit).toEqual({ maxBytes: 10 * 1024 * 1024, keep: 5 });
  await writeFile(join(dir, 'config.yaml'), 'audit:\n  max_mb: 2.5\n  keep: 1\n');
  expect((await loadConfig(dir)).audit).toEqual({ maxBytes: 2.5 * 1024 * 1024, keep: 1 });
  await writeFile(join(dir, 'config.yaml'), 'audit:\n  keep: 0\n');
  expect((await loadConfig(dir)).audit).toEqual({ maxBytes: 10 * 1024 * 1024, keep: 0 });
});

test('an invalid value is refused with its line', async () => {
  const file = join(dir, 'config.yaml');
  await writeFile(file, 'plugins: {}\naudit:\n  max_mb: 0\n');
  const e = await rejection(loadConfig(dir));
  expect(e).toMatchObject({
    code: 'CX_ERR_CONFIG_INVALID',
    params: { file, field: 'audit.max_mb', line: 3, plugin: 'kernel' },
  });
  await writeFile(file, 'audit:\n  rotate: daily\n');
  expect(await rejection(loadConfig(dir))).toMatchObject({
    code: 'CX_ERR_CONFIG_INVALID',
    params: { field: 'audit.rotate', line: 2 },
  });
});

test("the kernel's audit log rotates as config.yaml says", async () => {
  const paths = resolvePaths(
    {
      root: dir,
      configDir: join(dir, 'etc'),
      dataDir: join(dir, 'data'),
      logDir: join(dir, 'log'),
      cacheDir: join(dir, 'cache'),
      builtinDir: join(dir, 'none'),
      pluginDirs: [],
    },
    {},
  );
  await mkdir(paths.configDir, { recursive: true });
  // 0.0005 MB: about 520 bytes, three records a file.
  await writeFile(join(paths.configDir, 'config.yaml'), 'audit: { max_mb: 0.0005, keep: 1 }\n');
  const kernel = await Kernel.boot({ paths, terminal: { out() {}, err() {}, color: false, interactive: false } });
  for (let i = 0; i < 12; i++) {
    kernel.audit.append({
      plugin: 'p',
      tier: 'trusted',
      capability: 'fs',
      op: 'readFile',
      target: `/etc/f${i}`,
      allowed: true,
      dryRun: false,
    });
    await kernel.audit.flush();
  }
  await kernel.shutdown();
  const log = join(paths.logDir, 'audit.jsonl');
  expect([existsSync(log), existsSync(`${log}.1`), existsSync(`${log}.2`)]).toEqual([true, true, false]);
});
