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
    execArgv: ['--no-node-snapshot'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
