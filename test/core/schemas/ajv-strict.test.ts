// ajv runs strict everywhere: every ajv constructor call in the tree passes `strict: true` (an unknown
// keyword or a type mistake in a schema is then an error, not a silently ignored annotation).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(REPO, dir), { withFileTypes: true }).catch(() => [])) {
    const rel = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'dist') out.push(...(await sources(rel)));
    else if (/\.(ts|js|mjs|cjs)$/.test(e.name)) out.push(rel);
  }
  return out;
}

test('every ajv instance the tree creates passes strict: true', async () => {
  const calls: string[] = [];
  const lax: string[] = [];
  for (const dir of ['core', 'sdk', 'harness', 'plugins-builtin', 'examples', 'test']) {
    for (const file of (await sources(dir)).filter((f) => !f.endsWith('ajv-strict.test.ts'))) {
      const text = await readFile(join(REPO, file), 'utf8');
      for (const m of text.matchAll(/new (?:Ajv|AjvClass|Ajv\.default)\(([^)]*)\)/g)) {
        calls.push(file);
        if (!/\bstrict: true\b/.test(m[1]!)) lax.push(`${file}: ${m[0]}`);
      }
    }
  }
  expect(calls.length).toBeGreaterThan(10);
  expect(lax).toEqual([]);
});
