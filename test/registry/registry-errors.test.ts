import { describe, expect, test } from 'vitest';
import { ERRORS } from '../../core/errors.js';
import { REGISTRY_ERRORS } from '../../plugins-builtin/registry/registry-errors.js';

// The plugin cannot import core/, so it carries copies of its catalogue entries; they must not drift.
const sample: Record<string, any> = {
  name: 'team', url: 'http://127.0.0.1:1/', known: ['a', 'b'], detail: 'cannot connect', source: 'index.yaml', line: 7, field: 'plugins.x[0].sha256',
  found: 'zz', plugin: 'disk-guard', where: 'registry team', suggestions: ['disk-guards'], range: '^2', kernel: '0.1.0', available: ['1.0.0'], hint: 'try this',
  version: '1.0.0', actual: 'a'.repeat(64), expected: 'b'.repeat(64), expectedFrom: 'the index', kept: 'disk-guard 0.9.0 stays installed', keyId: '0123456789abcdef',
  status: 'unsigned', config: '/etc/cx/config.yaml', archive: 'x.tgz', entry: '../x', registry: '/srv/reg/index.yaml', lock: '/var/lib/cx/plugins.lock.json',
  file: 'plugin.yaml', what: 'the registry list', pid: 42, path: '/x',
};

describe('the registry plugin and the error catalogue agree', () => {
  test.each(Object.keys(REGISTRY_ERRORS))('%s', (code) => {
    const mine = REGISTRY_ERRORS[code as keyof typeof REGISTRY_ERRORS];
    const catalogue = (ERRORS as Record<string, { exit: number; message: (p: Record<string, any>) => string }>)[code];
    expect(catalogue, `${code} is missing from core/errors.ts`).toBeDefined();
    expect(mine.exit).toBe(catalogue!.exit);
    expect(mine.message(sample)).toBe(catalogue!.message(sample));
    expect(mine.message({ ...sample, line: undefined, found: undefined, kept: undefined, suggestions: [], known: [] })).toBe(
      catalogue!.message({ ...sample, line: undefined, found: undefined, kept: undefined, suggestions: [], known: [] }),
    );
  });
});
