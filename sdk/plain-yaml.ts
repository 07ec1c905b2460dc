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
 * It translates the text to JSON and lets the engine's JSON.parse build the value: far fewer
 * objects live during the read than when building it here (about 5 times faster on a 10,000-
 * service manifest, and some 50 times faster than the full parser). A test compares it with the
 * `yaml` library on generated and damaged documents.
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

const isKeyStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
const isKeyChar = (c: number) => isKeyStart(c) || c === 45 || c === 46 || c === 47;

/** A resolved plain scalar as JSON text (NaN, the infinities and -0 have none: outside the subset). */
function jsonOf(s: string): string {
  const v = resolvePlain(s);
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) throw OUTSIDE;
  return String(v);
}

const NEEDS_ESCAPE = /["\\]/;
const jsonString = (s: string) => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

/**
 * Parses `text` if it is in the plain subset; `undefined` otherwise (read it with the full
 * parser). The top level must be a block mapping.
 */
export function parsePlainYaml(text: string): Record<string, unknown> | undefined {
  // Characters outside the subset anywhere: tab, CR, other C0 and C1 controls, DEL, BOM.
  if (/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\ufeff\ufffe\uffff]/.test(text)) return undefined;
  let json: string;
  try {
    json = new PlainReader(text).document();
  } catch (e) {
    if (e === OUTSIDE) return undefined;
    throw e;
  }
  return JSON.parse(json) as Record<string, unknown>;
}

const KEY_CACHE_SIZE = 256;

/**
 * The keys of one mapping, by a 32-bit hash of their text, to find a duplicate (JSON.parse would
 * keep the last one silently). Two different keys with one hash leave the subset too: rare, and
 * the full parser then reads the text.
 */
class KeySet {
  private few: number[] = [];
  private many: Set<number> | null = null;
  add(hash: number): void {
    if (this.many) {
      if (this.many.has(hash)) throw OUTSIDE;
      this.many.add(hash);
      return;
    }
    if (this.few.includes(hash)) throw OUTSIDE;
    this.few.push(hash);
    if (this.few.length > 8) this.many = new Set(this.few);
  }
}

/** JSON text built in flat chunks (a rope of a million pieces would live until the end). */
class JsonText {
  private readonly chunks: string[] = [];
  private parts: string[] = [];
  add(s: string): void {
    if (this.parts.push(s) === 4096) {
      this.chunks.push(this.parts.join(''));
      this.parts = [];
    }
  }
  done(): string {
    this.chunks.push(this.parts.join(''));
    return this.chunks.join('');
  }
}

class PlainReader {
  private readonly text: string;
  private readonly end: number;
  private readonly out = new JsonText();
  /** Checked keys as JSON (`"name":`) by a hash of their text (see key()). */
  private readonly keys: Array<string | undefined> = new Array<string | undefined>(KEY_CACHE_SIZE);
  private readonly keyTexts: Array<string | undefined> = new Array<string | undefined>(KEY_CACHE_SIZE);
  /** The current content line: its indentation, where its content starts and where it ends. */
  private indent = 0;
  private start = 0;
  private lineEnd = 0;
  private atEnd = false;
  /** Where the next line begins. */
  private next = 0;
  /** The first '#' at or after the last place hashFrom looked from. */
  private nextHash = -1;

  constructor(text: string) {
    this.text = text;
    this.end = text.length;
  }

  /** The whole document as JSON text. */
  document(): string {
    this.advance();
    if (!this.atEnd && this.text.startsWith('---', this.start) && this.indent === 0) {
      if (this.lineEnd !== this.start + 3) throw OUTSIDE;
      this.advance();
    }
    if (this.atEnd || this.indent !== 0 || this.isSeqItem()) throw OUTSIDE;
    this.map(0);
    if (!this.atEnd) throw OUTSIDE;
    return this.out.done();
  }

  private lineStartOf(i: number): number {
    return this.text.lastIndexOf('\n', i - 1) + 1;
  }

  /** Moves to the next line with content (skipping blank and comment lines). */
  private advance(): void {
    const t = this.text;
    let i = this.next;
    while (i < this.end) {
      const nl = t.indexOf('\n', i);
      const lineEnd = nl < 0 ? this.end : nl;
      let s = i;
      while (s < lineEnd && t.charCodeAt(s) === 32) s++;
      if (s < lineEnd && t.charCodeAt(s) !== 35) {
        // Trailing spaces are not content.
        let e = lineEnd;
        while (t.charCodeAt(e - 1) === 32) e--;
        // A document marker other than a leading `---` starts another document: not the subset.
        if (
          s === i &&
          (t.startsWith('---', s) || t.startsWith('...', s)) &&
          (e === s + 3 || t.charCodeAt(s + 3) === 32)
        ) {
          if (i !== 0 || !t.startsWith('---', s)) throw OUTSIDE;
        }
        this.indent = s - i;
        this.start = s;
        this.lineEnd = e;
        this.next = lineEnd + 1;
        this.atEnd = false;
        return;
      }
      i = lineEnd + 1;
    }
    this.atEnd = true;
    this.next = this.end;
  }

  private isSeqItem(): boolean {
    const t = this.text;
    return t.charCodeAt(this.start) === 45 && (this.start + 1 === this.lineEnd || t.charCodeAt(this.start + 1) === 32);
  }

  /** The block node whose first line is the current one, indented `indent`. */
  private block(indent: number): void {
    if (this.isSeqItem()) this.seq(indent);
    else this.map(indent);
  }

  /** Where `key:` ends on the current line (the index of ':'), or -1 when the content is no key. */
  private keyEnd(from: number): number {
    const t = this.text;
    if (!isKeyStart(t.charCodeAt(from))) return -1;
    let i = from + 1;
    while (i < this.lineEnd && isKeyChar(t.charCodeAt(i))) i++;
    if (t.charCodeAt(i) !== 58) return -1;
    return i + 1 === this.lineEnd || t.charCodeAt(i + 1) === 32 ? i : -1;
  }

  private map(indent: number): void {
    const t = this.text;
    const out = this.out;
    const keys = new KeySet();
    let first = true;
    out.add('{');
    while (!this.atEnd && this.indent === indent) {
      if (this.isSeqItem()) throw OUTSIDE;
      const colon = this.keyEnd(this.start);
      if (colon < 0) throw OUTSIDE;
      if (!first) out.add(',');
      first = false;
      out.add(this.key(this.start, colon, keys));
      let v = colon + 1;
      while (v < this.lineEnd && t.charCodeAt(v) === 32) v++;
      if (v === this.lineEnd || t.charCodeAt(v) === 35) {
        // `key:` alone: a block below it, an indentless sequence, or null.
        this.advance();
        if (!this.atEnd && this.indent > indent) this.block(this.indent);
        else if (!this.atEnd && this.indent === indent && this.isSeqItem()) this.seq(indent);
        else out.add('null');
      } else {
        this.inline(v);
        this.advance();
        // A deeper line after a value on the key's line continues a multi-line scalar.
        if (!this.atEnd && this.indent > indent) throw OUTSIDE;
      }
    }
    if (!this.atEnd && this.indent > indent) throw OUTSIDE;
    out.add('}');
  }

  /**
   * The key text[from, to), checked, as JSON followed by ':'. Keys repeat in every service: a key
   * seen before is found by a hash of its text and not checked or quoted again.
   */
  private key(from: number, to: number, keys: KeySet): string {
    const t = this.text;
    const n = to - from;
    let h = n;
    for (let i = from; i < to; i++) h = (Math.imul(h, 31) + t.charCodeAt(i)) | 0;
    keys.add(h);
    const slot = h & (KEY_CACHE_SIZE - 1);
    const seen = this.keyTexts[slot];
    let json: string;
    if (seen !== undefined && seen.length === n && t.startsWith(seen, from)) json = this.keys[slot]!;
    else {
      const key = t.slice(from, to);
      // The full parser refuses implicit keys over 1024 characters, and converts keys that read
      // as numbers, booleans or null; the prototype's name is not a plain key of an object.
      if (n > 1000 || key === '__proto__' || resolvePlain(key) !== key) throw OUTSIDE;
      json = `${jsonString(key)}:`;
      if (n <= 32) {
        this.keyTexts[slot] = key;
        this.keys[slot] = json;
      }
    }
    return json;
  }

  private seq(indent: number): void {
    const t = this.text;
    const out = this.out;
    let first = true;
    out.add('[');
    while (!this.atEnd && this.indent === indent && this.isSeqItem()) {
      if (!first) out.add(',');
      first = false;
      let v = this.start + 1;
      while (v < this.lineEnd && t.charCodeAt(v) === 32) v++;
      if (v === this.lineEnd || t.charCodeAt(v) === 35) {
        this.advance();
        if (!this.atEnd && this.indent > indent) this.block(this.indent);
        else out.add('null');
      } else if (this.keyEnd(v) >= 0) {
        // `- key: value`: a mapping whose keys line up with this first one.
        this.indent = v - this.lineStartOf(v);
        this.start = v;
        this.map(this.indent);
      } else {
        if (t.charCodeAt(v) === 45 && (v + 1 === this.lineEnd || t.charCodeAt(v + 1) === 32)) throw OUTSIDE;
        this.inline(v);
        this.advance();
        if (!this.atEnd && this.indent > indent) throw OUTSIDE;
      }
    }
    if (!this.atEnd && this.indent > indent) throw OUTSIDE;
    out.add(']');
  }

  /** A value that starts at `v` and ends on this line (a comment may follow). */
  private inline(v: number): void {
    const t = this.text;
    const c = t.charCodeAt(v);
    if (c === 34 || c === 39) this.rest(this.quoted(v));
    else if (c === 91 || c === 123) this.rest(this.flow(v));
    else {
      // A plain scalar: up to a comment or the end of the line.
      if (this.badPlainStart(v)) throw OUTSIDE;
      let e = this.lineEnd;
      for (let h = this.hashFrom(v); h < this.lineEnd; h = this.hashFrom(h + 1))
        if (t.charCodeAt(h - 1) === 32) {
          e = h;
          break;
        }
      while (t.charCodeAt(e - 1) === 32) e--;
      const s = t.slice(v, e);
      // ": " or a final ":" would make it a mapping (an error on a key's line).
      if (s.includes(': ') || s.charCodeAt(s.length - 1) === 58) throw OUTSIDE;
      this.out.add(jsonOf(s));
    }
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

  /** A quoted scalar on one line without escapes, written out; returns the index after it. */
  private quoted(v: number): number {
    const t = this.text;
    const q = t.charCodeAt(v);
    if (q === 34) {
      const close = t.indexOf('"', v + 1);
      if (close < 0 || close >= this.lineEnd) throw OUTSIDE;
      const s = t.slice(v + 1, close);
      if (s.includes('\\')) throw OUTSIDE;
      this.out.add(`"${s}"`);
      return close + 1;
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
        this.out.add(jsonString(s));
        return close + 1;
      }
    }
  }

  /** A flow collection on this line, written out; returns the index after its closing bracket. */
  private flow(v: number): number {
    const t = this.text;
    const out = this.out;
    const open = t.charCodeAt(v);
    const close = open === 91 ? 93 : 125;
    const keys = open === 123 ? new KeySet() : null;
    let i = this.spaces(v + 1);
    out.add(open === 91 ? '[' : '{');
    if (t.charCodeAt(i) === close) {
      out.add(open === 91 ? ']' : '}');
      return i + 1;
    }
    for (;;) {
      i = this.spaces(i);
      if (keys) {
        // key: value, the key a plain word.
        if (!isKeyStart(t.charCodeAt(i))) throw OUTSIDE;
        let k = i + 1;
        while (k < this.lineEnd && isKeyChar(t.charCodeAt(k))) k++;
        if (t.charCodeAt(k) !== 58 || t.charCodeAt(k + 1) !== 32) throw OUTSIDE;
        out.add(this.key(i, k, keys));
        i = this.spaces(k + 2);
      }
      i = this.flowNode(i);
      while (i < this.lineEnd && t.charCodeAt(i) === 32) i++;
      const c = t.charCodeAt(i);
      if (c === close) {
        out.add(open === 91 ? ']' : '}');
        return i + 1;
      }
      if (c !== 44) throw OUTSIDE;
      i = this.spaces(i + 1);
      // A trailing comma is YAML, but not the subset.
      if (t.charCodeAt(i) === close) throw OUTSIDE;
      out.add(',');
    }
  }

  /** The first non-space from i; the line must go on. */
  private spaces(i: number): number {
    while (i < this.lineEnd && this.text.charCodeAt(i) === 32) i++;
    if (i >= this.lineEnd) throw OUTSIDE;
    return i;
  }

  /** One node inside a flow collection, written out; returns the index after it. */
  private flowNode(i: number): number {
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
    this.out.add(jsonOf(t.slice(i, s)));
    return e;
  }
}
