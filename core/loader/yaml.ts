/**
 * YAML files with positions: parse errors carry line and column, and a JSON pointer-like
 * field path can be mapped back to the line it came from.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument, isMap, isSeq, isScalar, LineCounter, type Document, type Node } from 'yaml';
import { CxError } from '../errors.js';

export interface YamlFile {
  file: string;
  data: unknown;
  /** 1-based line of the node at a path like ['permissions', 'exec', 0] (at 'key': of its key); undefined if absent. */
  lineOf(path: Array<string | number>, at?: 'value' | 'key'): number | undefined;
}

/** Parses YAML text; a syntax error becomes CX_ERR_YAML_SYNTAX with line and column. */
export function parseYaml(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0] ?? lineCounter.linePos(first.pos[0]);
    throw new CxError('CX_ERR_YAML_SYNTAX', {
      file,
      line: pos.line,
      column: pos.col,
      detail: first.message.split('\n')[0],
    });
  }
  const lineOf = (path: Array<string | number>, at: 'value' | 'key' = 'value'): number | undefined => {
    let node: Node | null | undefined = doc.contents as Node | null;
    let lastLine: number | undefined;
    for (const key of path) {
      if (node && node.range) lastLine = lineCounter.linePos(node.range[0]).line;
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
        if (!pair) return lastLine;
        if (isScalar(pair.key) && pair.key.range) lastLine = lineCounter.linePos(pair.key.range[0]).line;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key] as Node | null;
      } else {
        return lastLine;
      }
    }
    if (at === 'value' && node && node.range) return lineCounter.linePos(node.range[0]).line;
    return lastLine;
  };
  return { file, data: doc.toJS({ maxAliasCount: 100 }), lineOf };
}

/** Reads and parses a YAML file; a missing file returns undefined. */
export async function readYamlFile(file: string): Promise<YamlFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e: any) {
    if (e?.code === 'ENOENT') return undefined;
    throw new CxError('CX_ERR_IO', { path: file, detail: e?.message ?? String(e) });
  }
  return parseYaml(text, file);
}
