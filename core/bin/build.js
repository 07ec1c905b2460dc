#!/usr/bin/env node
// Transpiles core/, sdk/ and plugins-builtin/ TypeScript to dist/ (one file per source file),
// and copies each built-in plugin's plugin.yaml and the JSON Schemas beside the output.
// Type checking is a separate step (`npm run typecheck`), so a build takes well under a second.
import { build } from 'esbuild';
import { readdir, mkdir, copyFile } from 'node:fs/promises';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'dist');
const SOURCE_DIRS = ['core', 'sdk', 'plugins-builtin'];
const COPY_EXT = ['.yaml', '.json'];

async function walk(dir) {
  const found = [];
  let entries;
  try { entries = await readdir(dir, { withFileTypes: true }); } catch { return found; }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...(await walk(p)));
    else found.push(p);
  }
  return found;
}

const files = (await Promise.all(SOURCE_DIRS.map((d) => walk(join(root, d))))).flat();
const ts = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'));
const copies = files.filter((f) => COPY_EXT.some((x) => f.endsWith(x)) || f.includes(`${'/'}templates${'/'}`));
// Files are overwritten in place (never a wipe first), so a build running while tests or
// other builds run does not pull dist/ from under them.
await build({
  entryPoints: ts,
  outdir: out,
  outbase: root,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  logLevel: 'warning',
});
await Promise.all(copies.filter((f) => !f.endsWith('.ts')).map(async (f) => {
  const dest = join(out, relative(root, f));
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(f, dest);
}));
for (const s of await walk(join(root, 'schemas'))) {
  const dest = join(out, relative(root, s));
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(s, dest);
}

// Precompiled validators for the kernel's own schemas: `cx-ops` need not load ajv at start.
const { createRequire } = await import('node:module');
const require = createRequire(import.meta.url);
const Ajv = require('ajv').default;
const standalone = require('ajv/dist/standalone').default;
const { readFile, writeFile } = await import('node:fs/promises');
await mkdir(join(out, 'core', 'validators'), { recursive: true });
for (const name of ['plugin.schema.json', 'config.schema.json']) {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, code: { source: true } });
  const validate = ajv.compile(JSON.parse(await readFile(join(root, 'schemas', name), 'utf8')));
  await writeFile(join(out, 'core', 'validators', name.replace(/\.json$/, '.cjs')), standalone(ajv, validate));
}

// Built-in plugins' config_schema, precompiled the same way (the kernel uses these only for
// built-in plugins: a third-party directory's code is never loaded into the host).
const { parse: parseYaml } = await import('yaml');
for (const dir of await readdir(join(root, 'plugins-builtin'), { withFileTypes: true })) {
  if (!dir.isDirectory()) continue;
  let manifest;
  try {
    manifest = parseYaml(await readFile(join(root, 'plugins-builtin', dir.name, 'plugin.yaml'), 'utf8'));
  } catch {
    continue;
  }
  if (!manifest?.config_schema) continue;
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, code: { source: true } });
  const validate = ajv.compile(manifest.config_schema);
  await writeFile(join(out, 'plugins-builtin', dir.name, 'config-schema.validator.cjs'), standalone(ajv, validate));
}
