/**
 * The one YAML reader of cx-ops: text (or bytes, which must be UTF-8) to data plus the position
 * of every field, so that any mistake in any file is reported as file:line:col. Every syntax
 * problem — duplicate keys, an undefined alias, an alias bomb, invalid UTF-8 — is
 * CX_ERR_YAML_SYNTAX with the file and position. JSON is YAML, so JSON files are read with it
 * too and get the same positions.
 */
import { createRequire } from 'node:module';
import type { Document, Node } from 'yaml';
import { CxError } from './errors.js';

/**
 * The YAML library is loaded on first use: a warm doctor run reads only JSON (the manifest and
 * shape caches), and loading the library was a sizeable share of a short command's start.
 */
let yamlModule: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}

/** A field path: map keys and list indexes, e.g. ['permissions', 'exec', 0]. */
export type FieldPath = Array<string | number>;

/** A 1-based position in a file. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed YAML (or JSON) file with positions. */
export interface YamlDocument {
  file: string;
  data: unknown;
  /**
   * Where the node at `path` starts; the closest existing parent's position when it is absent.
   * With `atKey`, the position of the last key itself (for an unknown field).
   */
  positionOf(path: FieldPath, atKey?: boolean): Position | undefined;
  /** positionOf(path, atKey)?.line. */
  lineOf(path: FieldPath, atKey?: boolean): number | undefined;
}

/** How many alias expansions a document may hold (beyond that it is an alias bomb). */
export const MAX_ALIAS_COUNT = 100;

function syntax(file: string, pos: Position, detail: string): CxError {
  return new CxError('CX_ERR_YAML_SYNTAX', { file, line: pos.line, column: pos.column, detail });
}

/** Offset of the first byte that is not valid UTF-8 (a lead byte, its continuation bytes, the shortest form). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const strict = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 1 : b >> 5 === 6 ? 2 : b >> 4 === 14 ? 3 : b >> 3 === 30 ? 4 : 0;
    if (n === 0 || i + n > bytes.length) return i;
    if (n > 1) {
      try {
        strict.decode(bytes.subarray(i, i + n));
      } catch {
        return i;
      }
    }
    i += n;
  }
  return bytes.length;
}

/** Text of UTF-8 bytes; invalid UTF-8 is CX_ERR_YAML_SYNTAX at the first bad byte. */
function decode(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const i = firstInvalidUtf8(bytes);
    const lines = new TextDecoder().decode(bytes.subarray(0, i)).split('\n');
    const detail = `invalid UTF-8 at byte offset ${i}${i < bytes.length ? ` (0x${bytes[i]!.toString(16).padStart(2, '0')})` : ''}; save the file as UTF-8 text`;
    throw syntax(file, { line: lines.length, column: lines[lines.length - 1]!.length + 1 }, detail);
  }
}

/** Whether valid JSON text has a key twice in one object (JSON.parse would keep the last silently). */
function duplicateKey(text: string): boolean {
  const stack: Array<Set<string> | null> = [];
  let key = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      stack.push(new Set());
      key = true;
    } else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') key = stack[stack.length - 1] instanceof Set;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (key && top) {
        const k = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(k)) return true;
        top.add(k);
      }
      key = false;
      i = j;
    }
  }
  return false;
}

/**
 * Parses YAML text or UTF-8 bytes; any problem is CX_ERR_YAML_SYNTAX with file:line:col. JSON
 * text (an object or a list) with no duplicate key is read with JSON.parse, which is many times
 * faster than the YAML parser on a large file; its positions are worked out when first asked for.
 */
export function parseYaml(input: string | Uint8Array, file: string): YamlDocument {
  const text = typeof input === 'string' ? input : decode(input, file);
  if (/^\s*[[{]/.test(text)) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return parseDocumentText(text, file); // not JSON after all: the YAML parser reads (or reports) it
    }
    if (!duplicateKey(text)) {
      let full: YamlDocument | undefined;
      const positionOf = (path: FieldPath, atKey?: boolean) =>
        (full ??= parseDocumentText(text, file)).positionOf(path, atKey);
      return { file, data, positionOf, lineOf: (path, atKey) => positionOf(path, atKey)?.line };
    }
  }
  return parseDocumentText(text, file);
}

function parseDocumentText(text: string, file: string): YamlDocument {
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    // The parser recurses per nesting level: thousands of levels overflow the stack.
    if (!(e instanceof RangeError)) throw e;
    throw syntax(
      file,
      { line: 1, column: 1 },
      'is nested too deeply to read (the parser ran out of stack); flatten it',
    );
  }
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const first = doc.errors[0];
  if (first)
    throw syntax(
      file,
      first.linePos?.[0] ? { line: first.linePos[0].line, column: first.linePos[0].col } : at(first.pos[0]),
      first.message.split('\n')[0]!,
    );
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw syntax(file, aliasPosition(doc, at) ?? { line: 1, column: 1 }, aliasProblem(e));
  }
  const positionOf = (path: FieldPath, atKey = false): Position | undefined => {
    let node = doc.contents as Node | null | undefined;
    let last: Position | undefined;
    for (const [i, key] of path.entries()) {
      if (node?.range) last = at(node.range[0]);
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
        if (!pair) return last;
        if (isScalar(pair.key) && pair.key.range) last = at(pair.key.range[0]);
        if (atKey && i === path.length - 1) return last;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key] as Node | null;
      } else return last;
    }
    return node?.range ? at(node.range[0]) : last;
  };
  return { file, data, positionOf, lineOf: (path, atKey) => positionOf(path, atKey)?.line };
}

function aliasProblem(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  if (/Excessive alias count/.test(m))
    return `too many alias expansions (more than ${MAX_ALIAS_COUNT}: an alias bomb?); write the values out`;
  if (/Unresolved alias/.test(m))
    return `${m.replace(/\s*\(the anchor must be set before the alias\)/, '')}: define the anchor (&name) before its alias (*name)`;
  return m.split('\n')[0]!;
}

/** The first alias that does not resolve, else the first alias (an alias bomb). */
function aliasPosition(doc: Document, at: (offset: number) => Position): Position | undefined {
  const { visit } = yaml();
  let unresolved: Position | undefined;
  let firstAlias: Position | undefined;
  visit(doc, {
    Alias(_, node) {
      const pos = node.range ? at(node.range[0]) : undefined;
      firstAlias ??= pos;
      let target: unknown;
      try {
        target = node.resolve(doc);
      } catch {
        target = undefined;
      }
      if (target === undefined && !unresolved) {
        unresolved = pos;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return unresolved ?? firstAlias;
}
