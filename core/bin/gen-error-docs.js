#!/usr/bin/env node
// Writes docs/errors.md from the compiled error catalogue (run `npm run build` first).
import { writeFileSync } from 'node:fs';
const { renderErrorDocs } = await import(new URL('../../dist/core/error-docs.js', import.meta.url).href);
writeFileSync(new URL('../../docs/errors.md', import.meta.url), renderErrorDocs());
