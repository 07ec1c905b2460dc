// The plain-YAML fast reader (cx-ops/sdk/host parsePlainYaml) against the `yaml` library it
// stands in for: on every text it accepts, the same value; every text it is unsure of (or that
// is not valid YAML) left to the full parser.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePlainYaml } from '../../../sdk/host.js';

/** What the full parser makes of a text: its value, or 'invalid' when it reports an error. */
function full(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  return doc.errors.length ? 'invalid' : doc.toJS({ maxAliasCount: 100 });
}

/** Asserts the fast reader agrees with the full one; returns whether it took the text. */
function agrees(text: string): boolean {
  const fast = parsePlainYaml(text);
  if (fast === undefined) return false;
  expect({ text, value: fast }).toEqual({ text, value: full(text) });
  return true;
}

// Scalars chosen to sit on every boundary of the core schema and of plain-scalar syntax.
const SCALARS: unknown[] = [
  'x',
  'hello world',
  '',
  ' ',
  'true',
  'True',
  'TRUE',
  'tRue',
  'false',
  'yes',
  'no',
  'on',
  'null',
  'Null',
  'NULL',
  '~',
  '0',
  '-0',
  '+1',
  '012',
  '0o17',
  '0o8',
  '0x1F',
  '0xg',
  '1e3',
  '1E-2',
  '.5',
  '-.5',
  '1.',
  '1.50',
  '.inf',
  '-.Inf',
  '.NaN',
  '.nan.',
  '1_000',
  '1,000',
  '127.0.0.1',
  '10.0.0.0/8',
  '512M',
  '1m30s',
  'a: b',
  'a:b',
  'a:',
  ':a',
  '-a',
  '- a',
  '-',
  '?a',
  '? a',
  '#x',
  'a #b',
  'a# b',
  "it's",
  'say "hi"',
  '"q"',
  "'q'",
  '[a]',
  '{a}',
  'a,b',
  'a]',
  'x[y',
  '&a',
  '*a',
  '!t',
  '|',
  '>',
  '%p',
  '@a',
  '`a',
  'http://127.0.0.12:8080/health',
  'tcp:5432',
  'systemctl is-active --quiet postgresql',
  'back\\slash',
  'ünïcödé',
  'a  b',
  'trailing ',
  ' leading',
  1,
  0,
  -7,
  1.5,
  1e21,
  65535,
  true,
  false,
  null,
];
const KEYS = ['a', 'b', 'name', 'svc-1', 'web.1', 'x_y', 'a/b', '8080', 'true', 'null', '0x1', 'a b', 'a:b', '-k', '~'];

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
}

function randomValue(r: () => number, depth: number): unknown {
  const p = r();
  if (depth > 3 || p < 0.45) return SCALARS[Math.floor(r() * SCALARS.length)];
  const n = Math.floor(r() * 4);
  if (p < 0.7) return Array.from({ length: n }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) o[KEYS[Math.floor(r() * KEYS.length)]!] = randomValue(r, depth + 1);
  return o;
}

const STYLES = [
  {},
  { indent: 4 },
  { indentSeq: false },
  { collectionStyle: 'flow' as const },
  { defaultStringType: 'QUOTE_SINGLE' as const },
  { defaultStringType: 'QUOTE_DOUBLE' as const },
  { flowCollectionPadding: false },
];

describe('parsePlainYaml', () => {
  it("reads the deploy examples and the repository's YAML exactly as the yaml library does", () => {
    const dir = fileURLToPath(new URL('../../plugins/deploy/fixtures/', import.meta.url));
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
      const text = readFileSync(`${dir}${f}`, 'utf8');
      expect(agrees(text), `${f} takes the fast path`).toBe(true);
    }
  });

  it('agrees with the yaml library on generated documents in every output style', () => {
    let taken = 0;
    let total = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const doc: Record<string, unknown> = {};
      for (let i = 0; i < 1 + Math.floor(r() * 5); i++) doc[KEYS[Math.floor(r() * 6)]!] = randomValue(r, 0);
      for (const style of STYLES) {
        total++;
        if (agrees(stringify(doc, style))) taken++;
      }
    }
    // Not vacuous: hundreds of the documents are compared (the others hold a scalar the subset leaves out).
    expect(taken).toBeGreaterThan(total / 5);
  });

  it('never accepts what the yaml library rejects, nor reads a damaged text otherwise (mutations)', () => {
    const base = readFileSync(
      fileURLToPath(new URL('../../plugins/deploy/fixtures/full-stack.yaml', import.meta.url)),
      'utf8',
    );
    const r = rng(7);
    const inserts = [
      ':',
      ' ',
      '  ',
      '-',
      '- ',
      '#',
      ' #',
      '"',
      "'",
      '[',
      ']',
      '{',
      '}',
      ',',
      '&a ',
      '*a',
      '!',
      '|',
      '\n',
      '\n  ',
      'x: 1\n',
      '---\n',
      '? ',
    ];
    let taken = 0;
    for (let i = 0; i < 2000; i++) {
      const at = Math.floor(r() * base.length);
      const text =
        r() < 0.3
          ? base.slice(0, at) + base.slice(at + 1 + Math.floor(r() * 3))
          : base.slice(0, at) + inserts[Math.floor(r() * inserts.length)]! + base.slice(at);
      const fast = parsePlainYaml(text);
      if (fast === undefined) continue;
      taken++;
      expect({ text, value: fast }).toEqual({ text, value: full(text) });
    }
    expect(taken).toBeGreaterThan(200);
  });

  it.each([
    ['a: 1\na: 2\n', 'a duplicate key (the full parser names its line)'],
    ['a: &x 1\nb: *x\n', 'anchors and aliases'],
    ['a: !!str 1\n', 'tags'],
    ['a: |\n  text\n', 'block scalars'],
    ['a: one\n  two\n', 'a multi-line plain scalar'],
    ['a: "x\\ty"\n', 'escapes'],
    ['a:\tb\n', 'tabs'],
    ['a: 1\r\nb: 2\r\n', 'CR line ends'],
    ['- a\n- b\n', 'a top level that is not a mapping'],
    ['', 'an empty document'],
    ['a: 1\n---\nb: 2\n', 'a second document'],
    ['a: [1,\n  2]\n', 'a flow collection over lines'],
    ['"a": 1\n', 'a quoted key'],
    ['1: x\n', 'a key the full parser reads as a number'],
    ['__proto__: x\n', 'the prototype key'],
    ['a: b: c\n', 'invalid YAML'],
  ])('leaves %j to the full parser: %s', (text) => {
    expect(parsePlainYaml(text)).toBeUndefined();
  });

  it('reads the shapes manifests use', () => {
    const text = [
      '---',
      '# a comment',
      'network: { network_cidr: 127.0.0.0/24, vlan_tag: 100 }',
      'services:',
      '  db:   # trailing comment',
      '    enable: true',
      '    ports:',
      '    - 5432',
      "    - '5433/udp'",
      '    depends_on: { cache: { condition: service_healthy } }',
      '    environment: { URL: "http://127.0.0.1:80/a#b", EMPTY: "" }',
      '    volumes:',
      '      - name: data',
      '        path: /var/lib/db',
      '      -',
      '        name: logs',
      '    health_check: tcp:5432 # comment',
      '    resources:',
      '',
      'update: {}',
      '',
    ].join('\n');
    expect(agrees(text)).toBe(true);
    expect(parsePlainYaml(text)).toEqual({
      network: { network_cidr: '127.0.0.0/24', vlan_tag: 100 },
      services: {
        db: {
          enable: true,
          ports: [5432, '5433/udp'],
          depends_on: { cache: { condition: 'service_healthy' } },
          environment: { URL: 'http://127.0.0.1:80/a#b', EMPTY: '' },
          volumes: [{ name: 'data', path: '/var/lib/db' }, { name: 'logs' }],
          health_check: 'tcp:5432',
          resources: null,
        },
      },
      update: {},
    });
  });
});
