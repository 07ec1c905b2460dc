#!/usr/bin/env node
// The cx-ops launcher: runs the compiled kernel (dist/), never compiles TypeScript at start.
import { existsSync } from 'node:fs';

const entry = new URL('../../dist/core/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: cx-ops is not built yet. Run: npm run build\n');
  process.exit(2);
}
// A reader that stops early (`cx-ops doctor | head -1`) closes the pipe: further output is
// dropped, the command finishes what it was doing (a repair is never cut short half-way) and
// exits with its own code, without a trace. Any other output error is still an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
  });
}
// SIGTERM/SIGINT are held while the kernel boots: a command that stops on them (the daemon) takes
// them over, any other has them released (and dies of one that came meanwhile) before it runs.
const { holdStopSignals } = await import(new URL('../../dist/sdk/stop-signals.js', import.meta.url).href);
holdStopSignals();
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// Let stdout drain before exiting (a plugin's stray timer must not keep the process alive).
if (process.stdout.destroyed || process.stdout.writableEnded) process.exit(code);
process.stdout.write('', () => process.exit(code));
