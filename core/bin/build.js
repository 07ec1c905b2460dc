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
const SOURCE_DIRS = ['core', 'sdk', 'harness', 'plugins-builtin'];
const COPY_EXT = ['.yaml', '.json'];

async function walk(dir) {
  const found = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...(await walk(p)));
    else found.push(p);
  }
  return found;
}

const files = (await Promise.all(SOURCE_DIRS.map((d) => walk(join(root, d))))).flat();
// Scaffold templates (core/cli/templates/) are copied as they are: they are sources for new plugins.
const isTemplate = (f) => f.includes(`${'/'}templates${'/'}`);
const ts = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts') && !isTemplate(f));
const copies = files.filter((f) => COPY_EXT.some((x) => f.endsWith(x)) || isTemplate(f));
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
await Promise.all(
  copies
    .filter((f) => isTemplate(f) || !f.endsWith('.ts'))
    .map(async (f) => {
      const dest = join(out, relative(root, f));
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(f, dest);
    }),
);
// A new id for the built-in plugins at every build: the shape cache keys them on it instead of
// stat-ing every file of theirs at each start (core/loader/shape-cache.ts, builtinStamp).
{
  const { randomUUID } = await import('node:crypto');
  const { writeFile: write } = await import('node:fs/promises');
  await write(join(out, 'plugins-builtin', '.build-id'), `${randomUUID()}\n`);
}
for (const s of (await walk(join(root, 'schemas'))).filter((f) => f.endsWith('.json'))) {
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

// Types generated from the schemas (schemas/types/*.ts, committed), regenerated when a schema
// changed. The generator is a devDependency: an install without it keeps the committed files.
await generateSchemaTypes();

await mkdir(join(out, 'core', 'validators'), { recursive: true });
for (const name of ['plugin.schema.json', 'plugin-shape.schema.json', 'config.schema.json', 'state.schema.json']) {
  const ajv = new Ajv({ allErrors: false, strict: true, useDefaults: true, code: { source: true } });
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
  const ajv = new Ajv({ allErrors: false, strict: true, useDefaults: true, code: { source: true } });
  const validate = ajv.compile(manifest.config_schema);
  await writeFile(join(out, 'plugins-builtin', dir.name, 'config-schema.validator.cjs'), standalone(ajv, validate));
}

// Plugins' own file schemas that are read on every run, precompiled with the options the plugin
// compiles them with when this file is missing (hotfix: every problem of a module at once).
{
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    code: { source: true },
  });
  const validate = ajv.compile(JSON.parse(await readFile(join(root, 'schemas', 'hotfix-index.schema.json'), 'utf8')));
  await writeFile(join(out, 'plugins-builtin', 'hotfix', 'hotfix-index.validator.cjs'), standalone(ajv, validate));
}
// The hotfix run journal's records (checked on every read of a journal): the first error is enough.
{
  const ajv = new Ajv({ strict: true, strictRequired: false, validateFormats: false, code: { source: true } });
  const validate = ajv.compile(JSON.parse(await readFile(join(root, 'schemas', 'hotfix-journal.schema.json'), 'utf8')));
  await writeFile(join(out, 'plugins-builtin', 'hotfix', 'hotfix-journal.validator.cjs'), standalone(ajv, validate));
}

// The deploy manifest's lean validator (stops at the first error), precompiled: every `deploy`
// command reads a manifest, and compiling the schema was most of a small plan's time.
{
  const { LEAN_MANIFEST_OPTIONS, LEAN_MANIFEST_VALIDATOR, leanManifestSchema } = await import(
    join(out, 'plugins-builtin', 'deploy', 'lean-manifest-schema.js')
  );
  const ajv = new Ajv({ ...LEAN_MANIFEST_OPTIONS, strict: true, code: { source: true } });
  const schema = JSON.parse(await readFile(join(root, 'schemas', 'deploy-manifest.schema.json'), 'utf8'));
  const validate = ajv.compile(leanManifestSchema(schema));
  await writeFile(join(out, 'plugins-builtin', 'deploy', LEAN_MANIFEST_VALIDATOR), standalone(ajv, validate));
}

// Type declarations for every entry point in package.json's `exports` (their `types` files),
// so a plugin author's strict `tsc` sees the SDK's types. Emitted incrementally: a build with
// no change to core/, sdk/, harness/ or package.json skips this step. (Type checking stays
// `npm run typecheck`.)
await emitDeclarations();

async function generateSchemaTypes() {
  const { GENERATED, typesFile, schemaHash, recordedHash, generateAll } = await import('./gen-schema-types.js');
  const stale = [];
  for (const schemaFile of Object.keys(GENERATED)) {
    const current = await readFile(typesFile(schemaFile), 'utf8').catch(() => '');
    if (recordedHash(current) !== schemaHash(await readFile(join(root, 'schemas', schemaFile), 'utf8')))
      stale.push(schemaFile);
  }
  if (!stale.length) return;
  try {
    require.resolve('json-schema-to-typescript');
  } catch {
    console.warn(
      `build: json-schema-to-typescript is not installed, so the types of ${stale.join(', ')} were not regenerated (npm install --include=dev)`,
    );
    return;
  }
  for (const f of await generateAll()) console.log(`build: regenerated ${relative(root, f)}`);
}

async function emitDeclarations() {
  let typescript;
  try {
    typescript = require('typescript');
  } catch {
    console.warn('build: typescript is not installed, so no .d.ts files were written (npm install --include=dev)');
    return;
  }
  const { existsSync, statSync } = await import('node:fs');
  const generated = (await walk(join(root, 'schemas', 'types'))).filter((f) => f.endsWith('.ts'));
  const inputs = [join(root, 'package.json'), join(root, 'tsconfig.json'), ...declarationSources(), ...generated];
  const stamp = inputs.map((f) => `${relative(root, f)}:${statSync(f).mtimeMs}`).join('\n');
  const stampFile = join(out, '.declarations.stamp');
  if ((await readFile(stampFile, 'utf8').catch(() => '')) === stamp) return;
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const entries = Object.values(pkg.exports)
    .map((e) => join(root, e.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts')))
    .filter((f) => existsSync(f));
  const config = typescript.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    { ...typescript.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  const options = {
    ...config.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    outDir: out,
    rootDir: root,
    incremental: true,
    tsBuildInfoFile: join(out, '.declarations.tsbuildinfo'),
  };
  const program = typescript.createIncrementalProgram({ rootNames: entries, options });
  const result = program.emit();
  const problems = result.diagnostics.filter((d) => d.category === typescript.DiagnosticCategory.Error);
  if (problems.length) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    console.error(typescript.formatDiagnostics(problems, host));
    process.exitCode = 1;
    return;
  }
  await writeFile(stampFile, stamp);
}

/** The TypeScript files the declarations can depend on (plugins-builtin/ and tests cannot). */
function declarationSources() {
  // A plugin's library exported beside the SDK (cx-ops/sdk/deploy) is declared from its directory.
  const dirs = ['core', 'sdk', 'harness', 'plugins-builtin/deploy'];
  return ts.filter((f) => dirs.some((d) => relative(root, f).startsWith(`${d}/`)));
}
