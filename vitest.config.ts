import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const sdk = (p: string) => fileURLToPath(new URL(`./sdk/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^cx-ops\/sdk$/, replacement: sdk('index.ts') },
      { find: /^cx-ops\/sdk\/host$/, replacement: sdk('host.ts') },
      { find: /^cx-ops\/sdk\/testing$/, replacement: fileURLToPath(new URL('./harness/index.ts', import.meta.url)) },
      { find: /^cx-ops\/sdk\/bundle$/, replacement: sdk('bundle.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/bench/**'],
    globalSetup: ['test/setup/build.ts'],
    pool: 'forks',
    // Most test time is spent waiting on the programs and servers a test starts, so two files at
    // a time keep both cores busy (vitest's default, cores - 1, runs one file at a time on 2 cores).
    maxWorkers: 2,
    execArgv: ['--no-node-snapshot'],
    // A safety net against a hang, not a speed check: a test running several CLI commands took
    // over 60 s on this 2-core machine under load, and the machine's load must not fail a test.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
