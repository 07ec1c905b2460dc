// The types in schemas/types/ are generated from the schemas: a schema changed without
// regenerating (or a generated file edited by hand) fails here.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

describe('schemas/types', () => {
  test('every generated file is what its schema generates (regenerate with node core/bin/gen-schema-types.js)', () => {
    const run = () =>
      execFileSync(process.execPath, ['core/bin/gen-schema-types.js', '--check'], {
        cwd: repo,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    expect(run).not.toThrow();
  });

  test('holds only generated files', () => {
    expect(readdirSync(`${repo}schemas/types`).sort()).toEqual([
      'alerts.ts',
      'doctor-result.ts',
      'plugin-shape.ts',
      'plugin.ts',
      'plugins-lock.ts',
      'registry-index.ts',
      'snapshot-manifest.ts',
    ]);
  });
});
