#!/usr/bin/env node
// The cx-ops launcher: runs the compiled kernel (dist/), never compiles TypeScript at start.
import { existsSync } from 'node:fs';

const entry = new URL('../../dist/core/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: cx-ops is not built yet. Run: npm run build\n');
  process.exit(2);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// Let stdout drain before exiting (a plugin's stray timer must not keep the process alive).
process.stdout.write('', () => process.exit(code));
