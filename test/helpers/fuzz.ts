/**
 * A small, seeded, dependency-free generator of hostile inputs for the file-format fuzz suite:
 * byte mutations of a valid sample (truncation, flipped and inserted bytes, control characters,
 * invalid UTF-8, repetition), shape mutations (a value at a random path replaced by another type,
 * a huge or deeply nested one, a key removed or added) and YAML-only hazards (alias bombs,
 * undefined aliases, tags, merge keys, duplicate keys). Every input is at most MAX_CASE_BYTES.
 * The same seed gives the same cases, so a failure names a case that can be run again.
 */
import { parse, stringify } from 'yaml';

/** The largest input a case produces. */
export const MAX_CASE_BYTES = 64 * 1024;

/** Cases per format: CX_FUZZ_CASES (the longer, nightly-style run), else a quick default. */
export const FUZZ_CASES = Number(process.env.CX_FUZZ_CASES) || 60;

/** mulberry32: a tiny seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

function deep(depth: number, array: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = array ? [v] : { a: v };
  return v;
}

/** Values of every type and of hostile content, for shape mutations. */
function hostileValue(r: Rand): unknown {
  const choices: Array<() => unknown> = [
    () => null,
    () => [],
    () => ({}),
    () => '',
    () => 0,
    () => -1,
    () => 1e308,
    () => 3.5,
    () => true,
    () => 'x'.repeat(1 + int(r, 20_000)),
    () => deep(50 + int(r, 400), r() < 0.5),
    () => ({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }),
    () => '../../../../etc/passwd',
    () => '/dev/zero',
    () => '\u001b[31mred\u0007\r[host] forged line',
    () => '\ud800',
    () => ['a', 1, null, {}],
    () => Object.fromEntries(Array.from({ length: 1 + int(r, 300) }, (_, i) => [`k${i}`, i])),
  ];
  return pick(r, choices)();
}

/** Every path (keys and indexes) of a JSON-like value. */
function pathsOf(v: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...prefix, k], out);
  return out;
}

/** A copy of `data` with one shape mutation. */
function mutateShape(r: Rand, data: unknown): unknown {
  const copy = structuredClone(data);
  const paths = pathsOf(copy);
  const path = pick(r, paths);
  if (path.length === 0) return hostileValue(r);
  const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], copy) as
    Record<string | number, unknown> | unknown[];
  const key = path[path.length - 1]!;
  const op = int(r, 3);
  if (op === 0 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else if (op === 1 && !Array.isArray(parent)) (parent as Record<string, unknown>)[`unknown_${int(r, 99)}`] = 1;
  else (parent as Record<string | number, unknown>)[key] = hostileValue(r);
  return copy;
}

const CONTROL = [0x00, 0x07, 0x08, 0x0b, 0x0c, 0x0d, 0x1b, 0x7f, 0xc3, 0x28, 0xff, 0xfe, 0xef, 0xbb, 0xbf];

/** A copy of `bytes` with one byte mutation. */
function mutateBytes(r: Rand, bytes: Buffer): Buffer {
  const at = int(r, bytes.length + 1);
  switch (int(r, 6)) {
    case 0:
      return bytes.subarray(0, at);
    case 1: {
      const b = Buffer.from(bytes);
      if (b.length) b[Math.min(at, b.length - 1)] ^= 1 << int(r, 8);
      return b;
    }
    case 2:
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([pick(r, CONTROL)]), bytes.subarray(at)]);
    case 3:
      return Buffer.concat([
        bytes.subarray(0, at),
        Buffer.from(Array.from({ length: 1 + int(r, 64) }, () => int(r, 256))),
        bytes.subarray(at),
      ]);
    case 4: {
      const chunk = bytes.subarray(at, at + 1 + int(r, 200));
      const times = Math.floor(MAX_CASE_BYTES / 2 / Math.max(chunk.length, 1));
      return Buffer.concat([bytes.subarray(0, at), ...Array.from({ length: times }, () => chunk), bytes.subarray(at)]);
    }
    default:
      return Buffer.from([0xc3, 0x28, ...bytes]);
  }
}

/** YAML hazards that a JSON sample cannot show. */
function yamlHazard(r: Rand, text: string): string {
  const bomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    ...Array.from({ length: 9 }, (_, i) => {
      const prev = i === 0 ? 'a' : `l${i - 1}`;
      return `l${i}: &l${i} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`;
    }),
  ].join('\n');
  return pick(r, [
    `${bomb}\n${text}`,
    `${text}\nextra: *nope\n`,
    `x: !!js/function 'function () { return 1 }'\n${text}`,
    `base: &b { a: 1 }\nm:\n  <<: *b\n${text}`,
    `${text}\n${text}`,
    `--- !!binary |\n  R0lGODlhDAAMAIQAAP\n`,
    `? [a, b]\n: c\n${text}`,
    `%YAML 9.9\n---\n${text}`,
    `${'- '.repeat(3000)}x\n`,
    `${'['.repeat(5000)}${']'.repeat(5000)}\n`,
  ]);
}

/** The kind of text a format is written in. */
export type Syntax = 'yaml' | 'json' | 'jsonl' | 'bytes';

/** One generated case: its bytes and what was done, to name it when it fails. */
export interface FuzzCase {
  bytes: Buffer;
  how: string;
}

/** `count` hostile variants of `sample` (a valid file of the format), deterministic for `seed`. */
export function fuzzCases(sample: string | Buffer, syntax: Syntax, seed: number, count = FUZZ_CASES): FuzzCase[] {
  const r = rng(seed);
  const base = Buffer.isBuffer(sample) ? sample : Buffer.from(sample);
  const data = syntax === 'bytes' ? undefined : (JSON.parse(JSON.stringify(parseSample(base, syntax))) as unknown);
  const out: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const kind =
      syntax === 'bytes' ? 'bytes' : pick(r, ['bytes', 'shape', 'shape', syntax === 'yaml' ? 'yaml' : 'shape']);
    let bytes: Buffer;
    if (kind === 'bytes') bytes = mutateBytes(r, base);
    else if (kind === 'yaml') bytes = Buffer.from(yamlHazard(r, base.toString('utf8')));
    else {
      const v = mutateShape(r, data);
      bytes = Buffer.from(serialize(v, syntax as Exclude<Syntax, 'bytes'>));
    }
    out.push({ bytes: bytes.subarray(0, MAX_CASE_BYTES), how: `${kind} #${i} (seed ${seed})` });
  }
  return out;
}

/** A sample as data; JSON Lines as the array of its records. */
function parseSample(bytes: Buffer, syntax: 'yaml' | 'json' | 'jsonl'): unknown {
  const text = bytes.toString('utf8');
  if (syntax === 'json') return JSON.parse(text);
  if (syntax === 'jsonl')
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown);
  return parse(text) as unknown;
}

/** Data back as text of the syntax; JSON Lines: each element a line (anything else one line). */
function serialize(v: unknown, syntax: 'yaml' | 'json' | 'jsonl'): string {
  if (syntax === 'json') return JSON.stringify(v);
  if (syntax === 'jsonl')
    return Array.isArray(v) ? v.map((e) => `${JSON.stringify(e)}\n`).join('') : `${JSON.stringify(v)}\n`;
  return stringify(v, { aliasDuplicateObjects: false });
}
