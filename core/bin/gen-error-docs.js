#!/usr/bin/env node
// Writes docs/errors.md from the compiled error catalogues (run `npm run build` first).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const { renderErrorDocs, builtinCatalogues } = await import(
  new URL('../../dist/core/error-docs.js', import.meta.url).href
);
const plugins = await builtinCatalogues(fileURLToPath(new URL('../../dist/plugins-builtin/', import.meta.url)));
writeFileSync(new URL('../../docs/errors.md', import.meta.url), renderErrorDocs(plugins));
