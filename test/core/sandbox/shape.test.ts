// core/sandbox/shape.ts: a plugin's shape is checked against schemas/plugin-shape.schema.json; a
// bad one is refused with what is wrong (field, what it must be, what was found).
import { describe, expect, test } from 'vitest';
import { checkShape, parseShape } from '../../../core/sandbox/shape.js';

const base = { name: 'p', contributes: [], taps: [], kinds: [], hooks: [], hasActivate: false, hasDeactivate: false };
const text = (extra: Record<string, unknown>) => JSON.stringify({ ...base, ...extra });

describe('parseShape', () => {
  test('a valid shape comes back normalized: a null priority and an empty errors list are left out, unknown fields of kinds and hooks dropped', () => {
    const shape = parseShape(
      text({
        contributes: [{ kind: 'check', id: 'disk_space', meta: { category: 'disk', n: [1, { a: null }] } }],
        taps: [
          { hook: 'startup', priority: null, index: 0 },
          { hook: 'shutdown', priority: 10, index: 1 },
        ],
        kinds: [{ kind: 'task', description: 'tasks', metaSchema: { type: 'object' }, extra: 1 }],
        hooks: [{ name: 'pre_task', description: 'before', type: 'bail', __payload: 'x' }],
        errors: [],
      }),
    );
    expect(shape).toEqual({
      ...base,
      contributes: [{ kind: 'check', id: 'disk_space', meta: { category: 'disk', n: [1, { a: null }] } }],
      taps: [
        { hook: 'startup', index: 0 },
        { hook: 'shutdown', priority: 10, index: 1 },
      ],
      kinds: [{ kind: 'task', description: 'tasks', metaSchema: { type: 'object' } }],
      hooks: [{ name: 'pre_task', description: 'before', type: 'bail' }],
    });
  });

  test.each([
    ['not JSON', '{', 'its definition is not plain data'],
    ['not an object', '[1]', 'its default export is not an object'],
    [
      'no name',
      JSON.stringify({ ...base, name: undefined }),
      "its definition has no name (definePlugin({ name: '...' })): name is required but missing",
    ],
    [
      'a name that is not a string',
      text({ name: 5 }),
      "its definition has no name (definePlugin({ name: '...' })): name must be of type string, found 5",
    ],
    [
      'contributes not a list',
      text({ contributes: { kind: 'x' } }),
      'its definition is not a plugin definition: contributes must be of type array, found {"kind":"x"}',
    ],
    [
      'a contribution without meta',
      text({
        contributes: [
          { kind: 'check', id: 'a', meta: {} },
          { kind: 'check', id: 'b' },
        ],
      }),
      "contribution #1 (check 'b') needs a kind, an id and a meta object: contributes[1].meta is required but missing",
    ],
    [
      'a contribution with an empty id',
      text({ contributes: [{ kind: 'check', id: '', meta: {} }] }),
      `contribution #0 needs a kind, an id and a meta object: contributes[0].id must NOT have fewer than 1 characters, found ""`,
    ],
    [
      'a tap without a hook',
      text({ taps: [{ index: 0 }] }),
      'tap #0 needs a hook name: taps[0].hook is required but missing',
    ],
    [
      'a tap priority that is a string',
      text({ taps: [{ hook: 'startup', priority: 'high', index: 0 }] }),
      `the tap on 'startup' has a priority that is not a number: taps[0].priority must be of type number, found "high"`,
    ],
    [
      'a kind without a description',
      text({ kinds: [{ kind: 'task' }] }),
      'a declared kind needs a kind and a description: kinds[0].description is required but missing',
    ],
    [
      'a metaSchema that is a list',
      text({ kinds: [{ kind: 'task', description: 'd', metaSchema: [] }] }),
      "kind 'task' has a metaSchema that is not an object: kinds[0].metaSchema must be of type object, found []",
    ],
    [
      'a hook of an unknown type',
      text({ hooks: [{ name: 'x', description: 'y', type: 'weird' }] }),
      `a declared hook needs a name, a description and a type of 'series', 'bail' or 'waterfall': hooks[0].type must be one of: "series", "bail", "waterfall", found "weird"`,
    ],
    [
      'an error code out of range',
      text({ errors: [{ code: 'MY_ERR_X', exit: 200, summary: 's' }] }),
      'a declared error code needs a code, an exit code from 1 to 125 and a summary (defineErrors): errors[0].exit must be <= 125, found 200',
    ],
    [
      'an unknown top-level field',
      text({ extra: true }),
      'its definition is not a plugin definition: extra is not allowed here (unknown field), found true',
    ],
  ])('refuses %s', (_what, input, message) => {
    expect(parseShape(input)).toBe(message);
  });

  test('checkShape takes the shape as data (a trusted definition, a cache entry)', () => {
    expect(checkShape({ ...base, hasActivate: 'yes' })).toBe(
      'its definition is not a plugin definition: hasActivate must be of type boolean, found "yes"',
    );
    expect(checkShape(base)).toEqual(base);
  });
});
