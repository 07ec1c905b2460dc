#!/usr/bin/env node
// TypeScript types generated from the JSON Schemas, so each file format has one source of truth:
// schemas/<name>.schema.json is the contract (ajv validates against it, users' editors read it),
// schemas/types/<name>.ts is what the code sees. Run by core/bin/build.js (only when a schema
// changed: each generated file carries the hash of its schema); test/core/schema-types.test.ts runs
// it with --check, which fails when a committed file differs from what its schema generates.
import { createHash } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Schema file -> the name of the type its root becomes. */
export const GENERATED = Object.freeze({
  'plugin.schema.json': 'PluginManifest',
  'plugin-shape.schema.json': 'PluginShape',
  'snapshot-manifest.schema.json': 'SnapshotManifest',
  'doctor-result.schema.json': 'DoctorReport',
  'plugins-lock.schema.json': 'PluginsLock',
  'registry-index.schema.json': 'RegistryIndex',
  'alerts.schema.json': 'AlertsFile',
});

/** schemas/types/<name>.ts for schemas/<name>.schema.json. */
export const typesFile = (schemaFile) => join(root, 'schemas', 'types', schemaFile.replace(/\.schema\.json$/, '.ts'));

const VERSION = 1; // bump when the generator's output changes for the same schema

/** The hash a generated file records of its schema (and of this generator's output version). */
export function schemaHash(text) {
  return createHash('sha256').update(`${VERSION}\n${text}`).digest('hex').slice(0, 16);
}

const banner = (schemaFile, hash) =>
  [
    `/* Generated from schemas/${schemaFile} by core/bin/gen-schema-types.js: edit the schema, not this file. */`,
    `/* schema-hash: ${hash} */`,
  ].join('\n');

/** The hash recorded in a generated file, or undefined. */
export function recordedHash(text) {
  return /\/\* schema-hash: ([0-9a-f]+) \*\//.exec(text)?.[1];
}

/** Wraps doc-comment lines longer than the lint limit (descriptions are single long lines in the schemas). */
function wrapComments(ts, width = 110) {
  return ts
    .split('\n')
    .flatMap((line) => {
      const m = /^(\s*\* )(.*)$/.exec(line);
      if (!m || line.length <= width) return [line];
      const out = [];
      let cur = '';
      for (const word of m[2].split(' ')) {
        if (cur && m[1].length + cur.length + 1 + word.length > width) {
          out.push(m[1] + cur);
          cur = word;
        } else cur = cur ? `${cur} ${word}` : word;
      }
      if (cur) out.push(m[1] + cur);
      return out;
    })
    .join('\n');
}

/** The generated TypeScript for one schema file. */
export async function generate(schemaFile) {
  const { compile } = await import('json-schema-to-typescript');
  const text = await readFile(join(root, 'schemas', schemaFile), 'utf8');
  const schema = JSON.parse(text);
  // The root type is named by the table above, not by the schema's human title.
  const name = GENERATED[schemaFile];
  const ts = await compile({ ...schema, title: name }, name, {
    bannerComment: banner(schemaFile, schemaHash(text)),
    style: JSON.parse(await readFile(join(root, '.prettierrc.json'), 'utf8')),
    cwd: join(root, 'schemas'),
  });
  return wrapComments(ts);
}

/** Regenerates the files whose schema changed; returns the files written. */
export async function generateAll({ force = false } = {}) {
  const written = [];
  await mkdir(join(root, 'schemas', 'types'), { recursive: true });
  for (const schemaFile of Object.keys(GENERATED)) {
    const out = typesFile(schemaFile);
    const current = await readFile(out, 'utf8').catch(() => '');
    const hash = schemaHash(await readFile(join(root, 'schemas', schemaFile), 'utf8'));
    if (!force && recordedHash(current) === hash) continue;
    const next = await generate(schemaFile);
    if (next === current) continue;
    await writeFile(out, next);
    written.push(out);
  }
  return written;
}

/** The generated files that differ from what their schema generates (or are missing). */
export async function staleFiles() {
  const stale = [];
  for (const schemaFile of Object.keys(GENERATED)) {
    const out = typesFile(schemaFile);
    if ((await readFile(out, 'utf8').catch(() => '')) !== (await generate(schemaFile))) stale.push(out);
  }
  return stale;
}

// `node core/bin/gen-schema-types.js` regenerates what changed; `--force` all; `--check` writes
// nothing and exits 1 naming each file that differs from what its schema generates.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rel = (f) => f.slice(root.length + 1);
  if (process.argv.includes('--check')) {
    const stale = await staleFiles();
    for (const f of stale)
      console.error(`${rel(f)} is not what its schema generates: run node core/bin/gen-schema-types.js`);
    process.exitCode = stale.length ? 1 : 0;
  } else {
    for (const f of await generateAll({ force: process.argv.includes('--force') })) console.log(`wrote ${rel(f)}`);
  }
}
