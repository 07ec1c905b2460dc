/**
 * The registry's check of a contribution's meta against its kind's metaSchema, and the memory of
 * metas found valid: a later run given `validMetas` of an earlier one does not compile the
 * metaSchema again for the same meta under the same schema (a process that registers cached
 * shapes then never loads ajv), and still checks everything else.
 */
import { describe, expect, test, vi } from 'vitest';
import type { Json } from '../../sdk/types.js';
import { Registry } from '../../core/registry.js';

const compiled = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../core/schema.js', async (original) => {
  const m = await original<typeof import('../../core/schema.js')>();
  return {
    ...m,
    compileSchema: (schema: Record<string, unknown>) => {
      compiled.count++;
      return m.compileSchema(schema);
    },
  };
});

const metaSchema: Record<string, Json> = {
  type: 'object',
  properties: { interval: { type: 'number', exclusiveMinimum: 0 } },
  required: ['interval'],
};
const registry = (schema = metaSchema) => {
  const r = new Registry();
  r.declareKind({ kind: 'job', description: 'a job', owner: 'owner', metaSchema: schema });
  return r;
};
const job = (id: string, meta: Record<string, Json>) => ({
  kind: 'job',
  id,
  plugin: 'p',
  tier: 'trusted' as const,
  meta,
  invoke: async () => null,
});

describe('meta validation', () => {
  test('a meta found valid once is not validated again under the same schema; anything else is', () => {
    const first = registry();
    compiled.count = 0;
    first.add(job('a', { interval: 5 }));
    expect(compiled.count).toBe(1);
    expect(first.validMetas.size).toBe(1);

    const next = registry();
    next.rememberValidMetas(first.validMetas);
    compiled.count = 0;
    next.add(job('a', { interval: 5 }));
    expect(compiled.count).toBe(0);
    expect([...next.validMetas]).toEqual([...first.validMetas]);
    // Another meta is checked, and refused as before.
    expect(() => next.add(job('b', { interval: -1 }))).toThrow(
      expect.objectContaining({ code: 'CX_ERR_META_INVALID', params: expect.objectContaining({ id: 'b' }) }),
    );
    expect(compiled.count).toBe(1);

    // The same meta under a changed metaSchema is checked again.
    const changed = registry({ ...metaSchema, properties: { interval: { type: 'number', minimum: 10 } } });
    changed.rememberValidMetas(first.validMetas);
    compiled.count = 0;
    expect(() => changed.add(job('a', { interval: 5 }))).toThrow(
      expect.objectContaining({ code: 'CX_ERR_META_INVALID' }),
    );
    expect(compiled.count).toBe(1);
  });

  test('a meta the schema fills defaults into is never remembered (skipping it would change the meta)', () => {
    const withDefault = {
      ...metaSchema,
      properties: { ...(metaSchema.properties as object), health: { type: 'boolean', default: false } },
    };
    const r = registry(withDefault as Record<string, Json>);
    const meta: Record<string, Json> = { interval: 5 };
    r.add(job('a', meta));
    expect(meta).toEqual({ interval: 5, health: false });
    expect(r.validMetas.size).toBe(0);
  });
});
