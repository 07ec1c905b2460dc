/**
 * Reads a service manifest: YAML (or JSON) checked against schemas/deploy-manifest.schema.json.
 * Every schema problem is reported at once with its file:line:col, field, what was expected and
 * what was found. JSON and plain YAML (the SDK's parsePlainYaml: what manifests are written in)
 * are read on fast paths that keep no positions; the `yaml` library reads anything else, and
 * reads the text again, with positions, only when a problem must be reported.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parsePlainYaml } from 'cx-ops/sdk/host';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { createRequire } from 'node:module';
import { LEAN_MANIFEST_OPTIONS, LEAN_MANIFEST_VALIDATOR, leanManifestSchema } from './lean-manifest-schema.js';
import type { ServiceManifest } from './manifest-types.js';

/** One problem of a manifest: where it is and what is wrong. */
export interface ManifestProblem {
  file: string;
  line: number;
  column: number;
  /** Field path, e.g. "services.app.ip". */
  field: string;
  /** The seed's message, e.g. "Error: Duplicate IP addresses: 192.168.1.10". */
  message: string;
  /** What follows the message: the cycle, who needs a missing service, the fix. */
  detail?: string;
}

/** A parsed manifest and where each of its fields is. */
export interface ManifestSource {
  file: string;
  manifest: ServiceManifest;
  /** 1-based line and column of the node at a path (the closest existing parent's when absent). */
  position(path: ReadonlyArray<string | number>, options?: { key?: boolean }): { line: number; column: number };
}

export type ReadResult = { ok: true; source: ManifestSource } | { ok: false; problems: ManifestProblem[] };

// The shipped schema file itself (dist/schemas beside the compiled plugins); a JSON module
// import would be cleaner, but the build's target strips import attributes.
const require = createRequire(import.meta.url);
const schema = require('../../schemas/deploy-manifest.schema.json') as Record<string, unknown>;

// Two validators of the one schema: a lean one that stops at the first error (what a valid
// manifest, the usual case, goes through; precompiled by the build), and one that collects every
// error with its schema and data for the messages, compiled only when the lean one fails.
let lean: ValidateFunction | undefined;
let explaining: ValidateFunction | undefined;
function schemaValid(data: unknown): boolean {
  lean ??= leanValidator();
  return lean(data);
}

/** The build's precompiled lean validator (dist), else the schema compiled here once. */
function leanValidator(): ValidateFunction {
  try {
    const mod = require(`./${LEAN_MANIFEST_VALIDATOR}`) as { default?: ValidateFunction } & ValidateFunction;
    return mod.default ?? mod;
  } catch {
    return new Ajv({ ...LEAN_MANIFEST_OPTIONS, strict: true }).compile(
      leanManifestSchema(schema) as Record<string, unknown>,
    );
  }
}

function explain(): ValidateFunction {
  explaining ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(schema);
  return explaining;
}

/** Positions from a YAML document (JSON is YAML, so a JSON manifest is re-read here on error). */
function positions(doc: Document, lines: LineCounter): ManifestSource['position'] {
  return (path, options = {}) => {
    let node = doc.contents as Node | null | undefined;
    let at = node?.range ? node.range[0] : 0;
    for (const [i, key] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
        if (!pair) break;
        if (isScalar(pair.key) && pair.key.range) at = pair.key.range[0];
        if (options.key && i === path.length - 1) break;
        node = pair.value as Node | null;
        // A value on the key's line points at the value; a block value keeps the key.
        if (node?.range && (isScalar(node) || (!isMap(node) && !isSeq(node)))) at = node.range[0];
      } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
        node = node.items[key] as Node;
        if (node?.range) at = node.range[0];
      } else break;
    }
    const p = lines.linePos(at);
    return { line: p.line, column: p.col };
  };
}

function yamlDocument(text: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  return { doc, lines };
}

const IP_FIELDS = new Set(['ip', 'dns_server', 'gateway']);

/** An ajv error as the field, its path and a sentence saying what was expected and found. */
function describe(e: ErrorObject, data: unknown): { path: Array<string | number>; detail: string; atKey?: boolean } {
  const path: Array<string | number> = e.instancePath
    ? e.instancePath
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
    : [];
  const params = e.params as Record<string, unknown>;
  let found: unknown = data;
  for (const k of path)
    found = found == null || typeof found !== 'object' ? undefined : (found as Record<string | number, unknown>)[k];
  const was = ` (found: ${JSON.stringify(found)})`;
  const last = path[path.length - 1];
  switch (e.keyword) {
    case 'additionalProperties': {
      path.push(String(params.additionalProperty));
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return {
        path,
        atKey: true,
        detail: `is not a known field${known.length ? `; expected one of: ${known.join(', ')}` : ''}`,
      };
    }
    case 'required':
      path.push(String(params.missingProperty));
      return { path, detail: 'is required but missing' };
    case 'propertyNames':
      path.push(String(params.propertyName));
      return {
        path,
        atKey: true,
        detail: 'is not a valid service name (letters, digits, ".", "_", "-"; starting with a letter or digit)',
      };
    case 'enum':
      return {
        path,
        detail: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${was}`,
      };
    case 'type':
      return { path, detail: `must be of type ${params.type}${was}` };
    case 'pattern':
      if (IP_FIELDS.has(String(last))) return { path, detail: `must be an IPv4 address like 192.168.1.10${was}` };
      if (last === 'network_cidr') return { path, detail: `must be an IPv4 network like 192.168.1.0/24${was}` };
      return { path, detail: `must match ${params.pattern}${was}` };
    default:
      return { path, detail: `${e.message ?? 'is invalid'}${was}` };
  }
}

/** A oneOf failure repeats its branches' errors; keep the most specific one per field. */
function pick(errors: ErrorObject[]): ErrorObject[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const k =
      e.instancePath +
      (e.keyword === 'additionalProperties'
        ? `/${(e.params as { additionalProperty?: string }).additionalProperty}`
        : e.keyword === 'required'
          ? `/${(e.params as { missingProperty?: string }).missingProperty}`
          : '');
    byPath.set(k, [...(byPath.get(k) ?? []), e]);
  }
  const out: ErrorObject[] = [];
  for (const [k, es] of byPath) {
    // A field with a deeper error is explained by it; its oneOf/type summary adds nothing.
    if (
      [...byPath.keys()].some((o) => o !== k && o.startsWith(`${k}/`)) &&
      es.every((e) => ['oneOf', 'type', 'anyOf'].includes(e.keyword))
    )
      continue;
    const oneOf = es.find((e) => e.keyword === 'oneOf');
    const types = es.filter((e) => e.keyword === 'type');
    if (oneOf && types.length === es.length - 1) {
      out.push({ ...types[0]!, params: { type: types.map((t) => (t.params as { type?: string }).type).join(' or ') } });
      continue;
    }
    out.push(es.find((e) => e.keyword !== 'oneOf') ?? es[0]!);
  }
  return out;
}

/** How many object keys valid JSON text holds (each string followed by ':'). */
function jsonKeysInText(text: string): number {
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 34) continue;
    // A string: to its closing quote (past escapes), then a key if ':' follows.
    let j = i + 1;
    for (let c = text.charCodeAt(j); c !== 34; c = text.charCodeAt(j)) j += c === 92 ? 2 : 1;
    i = j + 1;
    while (
      i < text.length &&
      (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13 || text.charCodeAt(i) === 9)
    )
      i++;
    if (text.charCodeAt(i) === 58) keys++;
    i--;
  }
  return keys;
}

/** How many object keys a parsed JSON value holds, at every depth (iterative: a deep value cannot overflow the stack). */
function keysIn(root: unknown): number {
  let n = 0;
  const todo: unknown[] = [root];
  while (todo.length) {
    const v = todo.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) todo.push(...v);
    else
      for (const k in v) {
        n++;
        todo.push((v as Record<string, unknown>)[k]);
      }
  }
  return n;
}

/** Parses and schema-checks manifest text; `file` is how problems name it. */
export function readManifest(text: string, file: string): ReadResult {
  let data: unknown;
  let yaml: { doc: Document; lines: LineCounter } | undefined;
  const json = /^\s*[{[]/.test(text);
  if (json) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not plain JSON after all: YAML reads it or names the position.
    }
    // JSON.parse keeps the last of two equal keys silently; the yaml library names the second.
    if (data !== undefined && jsonKeysInText(text) !== keysIn(data)) data = undefined;
  }
  if (data === undefined && !json) data = parsePlainYaml(text);
  if (data === undefined) {
    const notYaml = (line: number, column: number, why: string): ReadResult => ({
      ok: false,
      problems: [
        {
          file,
          line,
          column,
          field: '(root)',
          message: `Error: Not a YAML or JSON manifest: ${why}`,
          detail: 'Fix the syntax at that position.',
        },
      ],
    });
    try {
      yaml = yamlDocument(text);
    } catch (e) {
      // Thousands of nesting levels overflow the parser's stack.
      return notYaml(1, 1, `nested too deeply to read (${e instanceof Error ? e.message : String(e)})`);
    }
    const first = yaml.doc.errors[0];
    if (first) {
      const pos = first.linePos?.[0] ?? yaml.lines.linePos(first.pos[0]);
      return notYaml(pos.line, pos.col, first.message.split('\n')[0]!);
    }
    try {
      data = yaml.doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // An alias bomb, or an alias whose anchor is not defined.
      return notYaml(1, 1, (e instanceof Error ? e.message : String(e)).split('\n')[0]!);
    }
  }
  const pos = () => {
    yaml ??= yamlDocument(text);
    return positions(yaml.doc, yaml.lines);
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      problems: [
        {
          file,
          line: 1,
          column: 1,
          field: '(root)',
          message: 'Error: A manifest is a mapping with `services:` (and optionally `network:` and `update:`)',
          detail: `found: ${Array.isArray(data) ? 'a list' : JSON.stringify(data)}`,
        },
      ],
    };
  }
  if (!schemaValid(data)) {
    const v = explain();
    v(data);
    const at = pos();
    const problems = pick(v.errors ?? []).map((e) => {
      const d = describe(e, data);
      const field =
        d.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(root)';
      return {
        file,
        ...at(d.path, { key: d.atKey }),
        field,
        message: `Error: Invalid field ${field}: ${d.detail}`,
        detail: 'The format is schemas/deploy-manifest.schema.json.',
      };
    });
    return { ok: false, problems: sortProblems(problems) };
  }
  let cached: ManifestSource['position'] | undefined;
  return { ok: true, source: { file, manifest: data as ServiceManifest, position: (p) => (cached ??= pos())(p) } };
}

/** Problems in file order. */
export function sortProblems(ps: ManifestProblem[]): ManifestProblem[] {
  return ps.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** "file:line:col: message" lines, each followed by its indented detail. */
export function formatProblems(ps: readonly ManifestProblem[]): string {
  return ps
    .map(
      (p) =>
        `${p.file}:${p.line}:${p.column}: ${p.message}${p.detail ? `\n    ${p.detail.replace(/\n/g, '\n    ')}` : ''}\n`,
    )
    .join('');
}
