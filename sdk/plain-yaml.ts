/**
 * A fast reader for the plain subset of YAML that generated and hand-written config files use:
 * block mappings and sequences indented with spaces, one-line flow collections (`[a, b]`,
 * `{ a: 1 }`), plain and simply quoted scalars, comments. It returns exactly what the `yaml`
 * library's parse (YAML 1.2, core schema) returns for such a text, or `undefined` for anything
 * outside the subset — anchors, tags, block scalars, multi-line scalars, escapes, tabs, CR,
 * control characters, duplicate keys, invalid YAML — so that the caller reads it with the full
 * parser, which also names the position of any syntax error. It keeps no positions: a caller
 * that needs one (to report a problem) parses again with the full parser.
 *
 * It scans the text once by character code and builds the value as it goes: no per-line
 * substrings, no regular expressions on the common path (a scalar that starts with a letter is a
 * string at once), each repeated key text found again by a hash instead of sliced anew. A test
 * compares it with the `yaml` library on generated and damaged documents.
 */

// Core-schema resolution of plain scalars, in the `yaml` library's order (null, bool, int
// octal/decimal/hex, float nan/inf, exponent, decimal).
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** The value of a plain scalar under the core schema. */
function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  // Most scalars start with a letter that no tag but a string begins with: answer at once.
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) {
    if (c !== 116 && c !== 84 && c !== 102 && c !== 70 && c !== 110 && c !== 78) return s;
  } else if (!(c >= 48 && c <= 57) && c !== 43 && c !== 45 && c !== 46 && c !== 126) return s;
  // No number has two dots: an IP address is a string at once.
  else if (s.indexOf('.', s.indexOf('.') + 1) > 0) return s;
  if (NULL.test(s)) return null;
  if (BOOL.test(s)) return c === 116 || c === 84;
  if (INT_OCT.test(s)) return parseInt(s.substring(2), 8);
  if (INT.test(s)) return parseInt(s, 10);
  if (INT_HEX.test(s)) return parseInt(s.substring(2), 16);
  if (FLOAT_NAN.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity;
  if (FLOAT_EXP.test(s) || FLOAT.test(s)) return parseFloat(s);
  return s;
}

/** Thrown inside the reader when the text leaves the subset; never escapes parsePlainYaml. */
const OUTSIDE = new Error('outside the plain YAML subset');

/** Characters of a plain key: 1 may start one (letters, digits, `_`), 2 only follow (`-`, `.`, `/`). */
const KEY_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const word = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
  KEY_CHARS[c] = word ? 1 : c === 45 || c === 46 || c === 47 ? 2 : 0;
}
const isKeyStart = (c: number) => c < 128 && KEY_CHARS[c] === 1;

/**
 * A resolved plain scalar. NaN, the infinities and -0 stay outside the subset (it once went
 * through JSON, which has none of them; they are the full parser's to read).
 */
function scalarOf(s: string): unknown {
  const v = resolvePlain(s);
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) throw OUTSIDE;
  return v;
}

/**
 * Parses `text` if it is in the plain subset; `undefined` otherwise (read it with the full
 * parser). The top level must be a block mapping.
 */
export function parsePlainYaml(text: string): Record<string, unknown> | undefined {
  // Characters outside the subset anywhere: tab, CR, other C0 and C1 controls, DEL, BOM.
  if (/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\ufeff\ufffe\uffff]/.test(text)) return undefined;
  try {
    return new PlainReader(text).document();
  } catch (e) {
    if (e === OUTSIDE) return undefined;
    throw e;
  }
}

const KEY_CACHE_SIZE = 256;

type Mapping = Record<string, unknown>;

const MAP = 0;
const SEQ = 1;

class PlainReader {
  private readonly text: string;
  private readonly end: number;
  /** Keys seen before, by a hash of their text (see key()). */
  private readonly keyTexts: Array<string | undefined> = new Array<string | undefined>(KEY_CACHE_SIZE);
  /** Where the current line's content ends (trailing spaces left out). */
  private lineEnd = 0;
  /** The first '#' at or after the last place hashFrom looked from. */
  private nextHash = -1;
  /** The first ':' at or after the last place colonFrom looked from. */
  private nextColon = -1;
  /** The hash of the key keyEnd found last (see key()). */
  private keyHash = 0;
  /** Where the last quoted or flow node read ended (the index after it). */
  private after = 0;

  constructor(text: string) {
    this.text = text;
    this.end = text.length;
  }

  /**
   * The whole document, line by line in one loop: the open block collections are a stack (one
   * function and plain locals, which the engine runs fast from its first line, where recursive
   * readers per collection kind are each compiled with the others inlined).
   *
   * A block collection at indent I holds the lines at exactly I below where it starts; a line
   * less indented ends it (and a sequence ends at a line of indent I that is no `- ` item). A
   * line more indented than the collection it falls into is outside the subset (a multi-line
   * scalar, or a misplaced line), except right after `key:` or `-` with nothing after them,
   * where it starts the value: a block collection at its indent.
   */
  document(): Mapping {
    const t = this.text;
    const end = this.end;
    // The open collections: kind, indent, the value, and for a mapping the key awaiting a block value.
    const kinds: number[] = [];
    const indents: number[] = [];
    const values: Array<Mapping | unknown[]> = [];
    const keys: string[] = [];
    let top = -1;
    // The current line: where it starts, its indent, where its content starts.
    let lineStart = 0;
    let indent = 0;
    let start = 0;
    let atEnd: boolean;
    let next = 0;
    // `key:` or `-` with nothing after it on the line before: its value is still to come.
    let pending = false;
    let started = false;
    const root: Mapping = {};
    for (;;) {
      // The next line with content (blank and comment lines are skipped).
      atEnd = true;
      let i = next;
      while (i < end) {
        let s = i;
        while (t.charCodeAt(s) === 32) s++;
        const c = t.charCodeAt(s);
        if (c === 10) {
          i = s + 1;
          continue;
        }
        const nl = s < end ? t.indexOf('\n', s) : -1;
        const lineEnd = nl < 0 ? end : nl;
        if (c === 35 || s >= end) {
          i = lineEnd + 1;
          continue;
        }
        // Trailing spaces are not content.
        let e = lineEnd;
        while (t.charCodeAt(e - 1) === 32) e--;
        // A document marker other than a leading `---` starts another document: not the subset.
        if (
          s === i &&
          (c === 45 || c === 46) &&
          (t.startsWith('---', s) || t.startsWith('...', s)) &&
          (e === s + 3 || t.charCodeAt(s + 3) === 32)
        ) {
          if (i !== 0 || !t.startsWith('---', s)) throw OUTSIDE;
        }
        lineStart = i;
        indent = s - i;
        start = s;
        this.lineEnd = e;
        next = lineEnd + 1;
        atEnd = false;
        break;
      }
      if (top < 0) {
        // The first line: an optional `---` alone, then a mapping at indent 0.
        if (!started && !atEnd && indent === 0 && t.startsWith('---', start)) {
          if (this.lineEnd !== start + 3) throw OUTSIDE;
          started = true;
          continue;
        }
        if (atEnd || indent !== 0 || this.isSeqItem(start)) throw OUTSIDE;
        top = 0;
        kinds[0] = MAP;
        indents[0] = 0;
        values[0] = root;
      }
      if (pending) {
        pending = false;
        const at = indents[top]!;
        if (!atEnd && indent > at) {
          top++;
          kinds[top] = this.isSeqItem(start) ? SEQ : MAP;
          indents[top] = indent;
          values[top] = kinds[top] === SEQ ? [] : {};
        } else if (!atEnd && indent === at && kinds[top] === MAP && this.isSeqItem(start)) {
          // An indentless sequence: `key:` then `- item` lines at the key's indent.
          top++;
          kinds[top] = SEQ;
          indents[top] = indent;
          values[top] = [];
        } else if (kinds[top] === MAP) (values[top] as Mapping)[keys[top]!] = null;
        else (values[top] as unknown[]).push(null);
      }
      // Close the collections this line is not part of, each into its parent.
      for (;;) {
        const at = indents[top]!;
        if (top > 0 && (atEnd || indent < at || (kinds[top] === SEQ && indent === at && !this.isSeqItem(start)))) {
          const value = values[top]!;
          top--;
          if (kinds[top] === MAP) (values[top] as Mapping)[keys[top]!] = value;
          else (values[top] as unknown[]).push(value);
          continue;
        }
        if (!atEnd && indent > at) throw OUTSIDE;
        break;
      }
      if (atEnd) return root;
      if (kinds[top] === SEQ) {
        // `- item` (the closing loop above let through only items at this indent).
        let v = start + 1;
        const e = this.lineEnd;
        while (v < e && t.charCodeAt(v) === 32) v++;
        if (v === e || t.charCodeAt(v) === 35) {
          pending = true;
          continue;
        }
        if (this.keyEnd(v) < 0) {
          if (t.charCodeAt(v) === 45 && (v + 1 === e || t.charCodeAt(v + 1) === 32)) throw OUTSIDE;
          (values[top] as unknown[]).push(this.inline(v));
          continue;
        }
        // `- key: value`: a mapping whose keys line up with this first one.
        top++;
        kinds[top] = MAP;
        indents[top] = v - lineStart;
        values[top] = {};
        indent = v - lineStart;
        start = v;
      }
      // `key: value` or `key:` in the mapping on top.
      if (this.isSeqItem(start)) throw OUTSIDE;
      const colon = this.keyEnd(start);
      if (colon < 0) throw OUTSIDE;
      const into = values[top] as Mapping;
      const key = this.key(start, colon, this.keyHash, into);
      let v = colon + 1;
      const e = this.lineEnd;
      while (v < e && t.charCodeAt(v) === 32) v++;
      if (v === e || t.charCodeAt(v) === 35) {
        keys[top] = key;
        pending = true;
      } else into[key] = this.inline(v);
    }
  }

  private isSeqItem(start: number): boolean {
    const t = this.text;
    return t.charCodeAt(start) === 45 && (start + 1 === this.lineEnd || t.charCodeAt(start + 1) === 32);
  }

  /**
   * Where `key:` ends on the current line (the index of ':'), or -1 when the content is no key;
   * keyHash is then the hash of the key's text.
   */
  private keyEnd(from: number): number {
    const t = this.text;
    const e = this.lineEnd;
    // Most lines without a key (sequence items) have no ':' at all: one search, not a scan.
    if (this.colonFrom(from) >= e) return -1;
    let c = t.charCodeAt(from);
    if (!isKeyStart(c)) return -1;
    let h = c;
    let i = from + 1;
    for (; i < e; i++) {
      c = t.charCodeAt(i);
      if (c >= 128 || KEY_CHARS[c] === 0) break;
      h = (Math.imul(h, 31) + c) | 0;
    }
    if (c !== 58) return -1;
    this.keyHash = h;
    return i + 1 === e || t.charCodeAt(i + 1) === 32 ? i : -1;
  }

  /** The first ':' at or after i (the text's length when there is none), found once per ':'. */
  private colonFrom(i: number): number {
    if (this.nextColon < i) {
      const h = this.text.indexOf(':', i);
      this.nextColon = h < 0 ? this.end : h;
    }
    return this.nextColon;
  }

  /**
   * The key text[from, to), checked, and not already in `into` (a duplicate is the full parser's
   * to name). Keys repeat in every service: a key seen before is found by a hash of its text
   * and not sliced or checked again.
   */
  private key(from: number, to: number, h: number, into: Mapping): string {
    const t = this.text;
    const n = to - from;
    const slot = h & (KEY_CACHE_SIZE - 1);
    let key = this.keyTexts[slot];
    if (key === undefined || key.length !== n || !t.startsWith(key, from)) {
      key = t.slice(from, to);
      // The full parser refuses implicit keys over 1024 characters, and converts keys that read
      // as numbers, booleans or null; the prototype's name is not a plain key of an object.
      if (n > 1000 || key === '__proto__' || resolvePlain(key) !== key) throw OUTSIDE;
      if (n <= 32) this.keyTexts[slot] = key;
    }
    if (Object.hasOwn(into, key)) throw OUTSIDE;
    return key;
  }

  /** A value that starts at `v` and ends on this line (a comment may follow). */
  private inline(v: number): unknown {
    const t = this.text;
    const c = t.charCodeAt(v);
    if (c === 34 || c === 39) {
      const s = this.quoted(v);
      this.rest(this.after);
      return s;
    }
    if (c === 91 || c === 123) {
      const f = this.flow(v);
      this.rest(this.after);
      return f;
    }
    // A plain scalar: up to a comment or the end of the line.
    if (this.badPlainStart(v)) throw OUTSIDE;
    let e = this.lineEnd;
    for (let h = this.hashFrom(v); h < this.lineEnd; h = this.hashFrom(h + 1))
      if (t.charCodeAt(h - 1) === 32) {
        e = h;
        while (t.charCodeAt(e - 1) === 32) e--;
        break;
      }
    // ": " or a final ":" would make it a mapping (an error on a key's line).
    if (t.charCodeAt(e - 1) === 58) throw OUTSIDE;
    for (let i = this.colonFrom(v); i < e - 1; i = this.colonFrom(i + 1)) if (t.charCodeAt(i + 1) === 32) throw OUTSIDE;
    return scalarOf(t.slice(v, e));
  }

  /** The first '#' at or after i (the text's length when there is none), found once per '#'. */
  private hashFrom(i: number): number {
    if (this.nextHash < i) {
      const h = this.text.indexOf('#', i);
      this.nextHash = h < 0 ? this.end : h;
    }
    return this.nextHash;
  }

  /** After a node: only spaces, then nothing or a comment. */
  private rest(i: number): void {
    const t = this.text;
    if (i === this.lineEnd) return;
    if (t.charCodeAt(i) !== 32) throw OUTSIDE;
    while (i < this.lineEnd && t.charCodeAt(i) === 32) i++;
    if (i < this.lineEnd && t.charCodeAt(i) !== 35) throw OUTSIDE;
  }

  /** Indicators that cannot start a plain scalar (or start something outside the subset). */
  private badPlainStart(v: number): boolean {
    const t = this.text;
    const c = t.charCodeAt(v);
    // & * ! | > % @ ` , ] } #
    if (c === 38 || c === 42 || c === 33 || c === 124 || c === 62 || c === 37 || c === 64 || c === 96) return true;
    if (c === 44 || c === 93 || c === 125 || c === 35) return true;
    // - ? : need a non-space after them to be plain.
    if (c === 45 || c === 63 || c === 58) {
      const d = t.charCodeAt(v + 1);
      return v + 1 >= this.lineEnd || d === 32;
    }
    return false;
  }

  /** A quoted scalar on one line without escapes; `after` is set to the index after it. */
  private quoted(v: number): string {
    const t = this.text;
    const q = t.charCodeAt(v);
    if (q === 34) {
      const close = t.indexOf('"', v + 1);
      if (close < 0 || close >= this.lineEnd) throw OUTSIDE;
      const slash = t.indexOf('\\', v + 1);
      if (slash >= 0 && slash < close) throw OUTSIDE;
      this.after = close + 1;
      return t.slice(v + 1, close);
    }
    let s = '';
    let i = v + 1;
    for (;;) {
      const close = t.indexOf("'", i);
      if (close < 0 || close >= this.lineEnd) throw OUTSIDE;
      s += t.slice(i, close);
      if (t.charCodeAt(close + 1) === 39) {
        s += "'";
        i = close + 2;
      } else {
        this.after = close + 1;
        return s;
      }
    }
  }

  /** A flow collection on this line; `after` is set to the index after its closing bracket. */
  private flow(v: number): unknown[] | Mapping {
    const t = this.text;
    const open = t.charCodeAt(v);
    const close = open === 91 ? 93 : 125;
    const list: unknown[] | null = open === 91 ? [] : null;
    const map: Mapping | null = open === 123 ? {} : null;
    const out = (list ?? map)!;
    let i = this.spaces(v + 1);
    if (t.charCodeAt(i) === close) {
      this.after = i + 1;
      return out;
    }
    for (;;) {
      i = this.spaces(i);
      let key = '';
      if (map) {
        // key: value, the key a plain word.
        let c = t.charCodeAt(i);
        if (!isKeyStart(c)) throw OUTSIDE;
        let h = c;
        let k = i + 1;
        for (; k < this.lineEnd; k++) {
          c = t.charCodeAt(k);
          if (c >= 128 || KEY_CHARS[c] === 0) break;
          h = (Math.imul(h, 31) + c) | 0;
        }
        if (t.charCodeAt(k) !== 58 || t.charCodeAt(k + 1) !== 32) throw OUTSIDE;
        key = this.key(i, k, h, map);
        i = this.spaces(k + 2);
      }
      const value = this.flowNode(i);
      if (map) map[key] = value;
      else list!.push(value);
      i = this.after;
      while (i < this.lineEnd && t.charCodeAt(i) === 32) i++;
      const c = t.charCodeAt(i);
      if (c === close) {
        this.after = i + 1;
        return out;
      }
      if (c !== 44) throw OUTSIDE;
      i = this.spaces(i + 1);
      // A trailing comma is YAML, but not the subset.
      if (t.charCodeAt(i) === close) throw OUTSIDE;
    }
  }

  /** The first non-space from i; the line must go on. */
  private spaces(i: number): number {
    while (i < this.lineEnd && this.text.charCodeAt(i) === 32) i++;
    if (i >= this.lineEnd) throw OUTSIDE;
    return i;
  }

  /** One node inside a flow collection; `after` is set to the index after it. */
  private flowNode(i: number): unknown {
    const t = this.text;
    const c = t.charCodeAt(i);
    if (c === 34 || c === 39) return this.quoted(i);
    if (c === 91 || c === 123) return this.flow(i);
    if (this.badPlainStart(i)) throw OUTSIDE;
    // A plain scalar in flow: up to , ] } or a comment; ": " inside would make it a pair.
    let e = i;
    while (e < this.lineEnd) {
      const d = t.charCodeAt(e);
      if (d === 44 || d === 93 || d === 125 || d === 91 || d === 123) break;
      if (d === 58 && (t.charCodeAt(e + 1) === 32 || e + 1 === this.lineEnd)) throw OUTSIDE;
      if (d === 35 && t.charCodeAt(e - 1) === 32) throw OUTSIDE;
      e++;
    }
    let s = e;
    while (t.charCodeAt(s - 1) === 32) s--;
    // A ':' just before , ] } reads as an empty pair value in the full parser.
    if (t.charCodeAt(s - 1) === 58) throw OUTSIDE;
    this.after = e;
    return scalarOf(t.slice(i, s));
  }
}
