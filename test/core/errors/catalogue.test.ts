import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { builtinCatalogues, renderErrorDocs } from '../../../core/error-docs.js';
import { CxError, ERRORS, closest } from '../../../core/errors.js';

describe('the error catalogue', () => {
  const builtins = () => builtinCatalogues(fileURLToPath(new URL('../../../dist/plugins-builtin/', import.meta.url)));

  test('docs/errors.md lists exactly the catalogues of the kernel and the built-in plugins (regenerate with node core/bin/gen-error-docs.js)', async () => {
    const plugins = await builtins();
    expect(plugins.map((p) => p.plugin)).toEqual(expect.arrayContaining(['permissions', 'registry']));
    expect(readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')).toBe(renderErrorDocs(plugins));
  });

  test('every code is CX_ERR_ and upper snake case, with a summary and an exit code; no code is in two catalogues', async () => {
    const all = [ERRORS, ...(await builtins()).map((p) => p.specs)];
    const seen = new Set<string>();
    for (const specs of all) {
      for (const [code, spec] of Object.entries(specs)) {
        expect(code).toMatch(/^CX_ERR_[A-Z0-9_]+$/);
        expect(seen.has(code)).toBe(false);
        seen.add(code);
        expect(spec.summary.length).toBeGreaterThan(10);
        expect(spec.exit).toBeGreaterThan(0);
      }
    }
  });

  test('a CxError carries code, plugin, exit code and a message with the next step', () => {
    const e = new CxError('CX_ERR_PLUGIN_UNKNOWN', { plugin: 'dsik-guard', suggestions: ['disk-guard'] });
    expect(e.toJSON()).toEqual({
      code: 'CX_ERR_PLUGIN_UNKNOWN',
      plugin: 'dsik-guard',
      message:
        "no plugin named 'dsik-guard'. Did you mean: disk-guard?\nList plugins with: cx-ops plugins list --available",
    });
    expect(e.exitCode).toBe(2);
  });

  test('closest suggests near names, best first', () => {
    expect(closest('disk_spce', ['disk_space', 'memory', 'dns_resolution'])).toEqual(['disk_space']);
    expect(closest('zzz', ['disk_space', 'memory'])).toEqual([]);
  });
});
