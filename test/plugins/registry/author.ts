/** The plugin author's side of the registry tests: create, write, test, pack, sign, publish. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Home } from './harness.js';

const SOURCE = fileURLToPath(new URL('./fixtures/os-type-check/index.ts.txt', import.meta.url));

/** `cx-ops plugins create os-type --type check`, then the check's source and its permission. */
export async function createOsTypePlugin(author: Home): Promise<string> {
  const r = await author.run(['plugins', 'create', 'os-type', '--type', 'check', '--dir', author.dir]);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  const dir = join(author.dir, 'os-type');
  await writeVersion(dir, '0.1.0', 'os type is');
  return dir;
}

/** Sets the plugin's version and the word its check reports with. */
export async function writeVersion(dir: string, version: string, message: string): Promise<void> {
  await writeFile(join(dir, 'src/index.ts'), (await readFile(SOURCE, 'utf8')).replaceAll('MESSAGE', message));
  const manifest = (await readFile(join(dir, 'plugin.yaml'), 'utf8'))
    .replace(/^version: .*$/m, `version: ${version}`)
    .replace(/^description: .*$/m, 'description: Reports the operating system type (passes on Linux)')
    .replace(/permissions:[\s\S]*$/, 'permissions:\n  read:\n    - /proc/sys/kernel/ostype\n');
  await writeFile(join(dir, 'plugin.yaml'), manifest);
}

/** pack + sign + publish; returns the archive path. */
export async function release(
  author: Home,
  dir: string,
  registryDir: string,
  key: string,
  version: string,
): Promise<string> {
  const pack = await author.run(['plugins', 'pack', dir, '--json']);
  expect(pack.exitCode, pack.stderr).toBe(0);
  const archive = JSON.parse(pack.stdout).file as string;
  expect(archive).toBe(join(author.dir, `os-type-${version}.tgz`));
  const sign = await author.run(['plugins', 'sign', archive, '--key', key]);
  expect(sign.exitCode, sign.stderr).toBe(0);
  const pub = await author.run(['registry', 'publish', registryDir, archive]);
  expect(pub.exitCode, pub.stderr).toBe(0);
  expect(pub.stdout).toMatch(
    new RegExp(
      `^published os-type ${version.replace(/\./g, '\\.')} \\(signed by key [0-9a-f]{16}, sha256 [0-9a-f]{64}\\) in ${registryDir}/index\\.yaml\\n$`,
    ),
  );
  return archive;
}
