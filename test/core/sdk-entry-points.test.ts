/**
 * The SDK's entry points as a plugin author's tools see them: every `exports` entry of
 * package.json has a `types` condition whose declaration file the build wrote, and the
 * import graph stays one-way (sdk/ imports neither core/ nor harness/; core/ never imports
 * harness/), so the author API can be bundled into a sandboxed plugin without the kernel.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(REPO, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'templates') out.push(...(await tsFiles(rel)));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** The relative imports of a file, resolved to repository paths. */
async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(join(REPO, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => relative(REPO, join(REPO, file, '..', s)));
}

test('every exports entry has types and default conditions, and the build wrote both files for each entry with a source', async () => {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8'));
  expect(Object.keys(pkg.exports).sort()).toEqual([
    './sdk',
    './sdk/bundle',
    './sdk/deploy',
    './sdk/host',
    './sdk/testing',
  ]);
  for (const [entry, conditions] of Object.entries<Record<string, string>>(pkg.exports)) {
    expect(Object.keys(conditions), entry).toEqual(['types', 'default']);
    const source = conditions.types!.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts');
    expect(conditions.default, entry).toBe(`./dist/${source.replace(/\.ts$/, '.js')}`);
    expect(existsSync(join(REPO, source)), `${entry}: ${source}`).toBe(true);
    expect(existsSync(join(REPO, conditions.types!)), `${entry}: ${conditions.types}`).toBe(true);
    expect(existsSync(join(REPO, conditions.default!)), `${entry}: ${conditions.default}`).toBe(true);
  }
  expect(await readFile(join(REPO, 'dist/sdk/index.d.ts'), 'utf8')).toMatch(/export declare function definePlugin/);
  expect(await readFile(join(REPO, 'dist/harness/index.d.ts'), 'utf8')).toMatch(/startPlugin/);
});

test("the import graph is one-way: sdk/ -> nothing of ours but the schemas' types, core/ -> sdk/, harness/ -> core/ and sdk/", async () => {
  const offending: string[] = [];
  // schemas/types/ holds only types generated from the schemas (no code, no imports).
  const sdkMayImport = (target: string) => target.startsWith('sdk/') || target.startsWith('schemas/types/');
  for (const file of await tsFiles('sdk')) {
    for (const target of await importsOf(file)) if (!sdkMayImport(target)) offending.push(`${file} -> ${target}`);
  }
  for (const file of await tsFiles('schemas/types')) expect(await importsOf(file), file).toEqual([]);
  for (const file of await tsFiles('core')) {
    for (const target of await importsOf(file))
      if (target.startsWith('harness/')) offending.push(`${file} -> ${target}`);
  }
  expect(offending).toEqual([]);
});
