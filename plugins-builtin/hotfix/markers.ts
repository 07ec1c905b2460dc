/**
 * Marked blocks for `append`: a block is the lines `<marker> BEGIN <identifier>`, the body and
 * `<marker> END <identifier>`. Markers are matched as whole lines, exactly once each; anything
 * else (a prefix match, a doubled or orphaned marker, a marker line with stray whitespace, a
 * body containing its own marker) is refused before anything changes. Ansible's blockinfile
 * users get hurt exactly there. The same rules are in cx-ops-rollback's removeBlock.
 */

export const DEFAULT_MARKER = '# HOTFIX';

export interface MarkerLines {
  begin: string;
  end: string;
}

export function markerLines(marker: string, identifier: string): MarkerLines {
  return { begin: `${marker} BEGIN ${identifier}`, end: `${marker} END ${identifier}` };
}

/** A marker problem: what is wrong and on which line (1-based) of the target. */
export interface MarkerProblem {
  line?: number;
  detail: string;
  fix: string;
}

/** Where the block is in the target's text (line indexes, 0-based), or null when absent. */
export interface BlockPosition {
  begin: number;
  end: number;
}

/** Splits text into lines without their newlines (a final newline ends the last line). */
function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Problems with the body itself: it may not contain its own markers. */
export function bodyProblem(body: string, marker: string, m: MarkerLines): MarkerProblem | null {
  const lines = linesOf(body);
  const i = lines.findIndex(
    (l) => l.includes(`${marker} BEGIN`) || l.includes(`${marker} END`) || l.trim() === m.begin || l.trim() === m.end,
  );
  if (i < 0) return null;
  return {
    line: i + 1,
    detail: `the source's line ${i + 1} contains the block's own marker ('${lines[i]!.trim()}'), so the block could not be found again reliably`,
    fix: 'Remove that line from the source, or choose another marker.',
  };
}

/**
 * Finds the block in the target's text. Throws nothing: a doubled, orphaned or damaged marker
 * is returned as a problem (the caller refuses the run).
 */
export function findBlock(
  text: string,
  m: MarkerLines,
): { position: BlockPosition | null; problem: MarkerProblem | null } {
  const lines = linesOf(text);
  const begins: number[] = [];
  const ends: number[] = [];
  for (const [i, l] of lines.entries()) {
    if (l === m.begin) begins.push(i);
    else if (l === m.end) ends.push(i);
    else if (l.trim() === m.begin || l.trim() === m.end) {
      return {
        position: null,
        problem: {
          line: i + 1,
          detail: `line ${i + 1} is the marker '${l.trim()}' with leading or trailing whitespace, so it does not match as a whole line`,
          fix: 'Remove the stray whitespace around the marker line (or the damaged block) by hand.',
        },
      };
    }
  }
  const fix = 'Repair the block by hand (one BEGIN line, then one END line), or remove both marker lines.';
  if (begins.length > 1)
    return {
      position: null,
      problem: {
        line: begins[1]! + 1,
        detail: `the begin marker '${m.begin}' appears ${begins.length} times (lines ${begins.map((b) => b + 1).join(', ')})`,
        fix,
      },
    };
  if (ends.length > 1)
    return {
      position: null,
      problem: {
        line: ends[1]! + 1,
        detail: `the end marker '${m.end}' appears ${ends.length} times (lines ${ends.map((b) => b + 1).join(', ')})`,
        fix,
      },
    };
  if (begins.length === 1 && ends.length === 0)
    return {
      position: null,
      problem: {
        line: begins[0]! + 1,
        detail: `the begin marker '${m.begin}' has no end marker '${m.end}' (an orphaned block: removing it would delete everything after it)`,
        fix,
      },
    };
  if (ends.length === 1 && begins.length === 0)
    return {
      position: null,
      problem: { line: ends[0]! + 1, detail: `the end marker '${m.end}' has no begin marker '${m.begin}'`, fix },
    };
  if (begins.length === 1 && ends[0]! < begins[0]!)
    return {
      position: null,
      problem: {
        line: ends[0]! + 1,
        detail: `the end marker (line ${ends[0]! + 1}) comes before the begin marker (line ${begins[0]! + 1})`,
        fix,
      },
    };
  return { position: begins.length ? { begin: begins[0]!, end: ends[0]! } : null, problem: null };
}

/** The block as it is written: markers, body, each line ending in a newline. */
export function blockText(body: string, m: MarkerLines): string {
  return [m.begin, ...linesOf(body), m.end].map((l) => `${l}\n`).join('');
}

/**
 * The target's text with the block in place: appended when absent, replaced in place when the
 * body differs, unchanged when it is already there (applying twice appends once).
 */
export function withBlock(text: string, body: string, m: MarkerLines, position: BlockPosition | null): string {
  const lines = linesOf(text);
  const block = linesOf(blockText(body, m));
  if (!position) {
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    return `${text}${sep}${block.map((l) => `${l}\n`).join('')}`;
  }
  const out = [...lines.slice(0, position.begin), ...block, ...lines.slice(position.end + 1)];
  return out.map((l) => `${l}\n`).join('');
}

/** The text with exactly the block's lines removed. */
export function withoutBlock(text: string, position: BlockPosition): string {
  const lines = linesOf(text);
  const kept = [...lines.slice(0, position.begin), ...lines.slice(position.end + 1)];
  const endsWithNewline = text.endsWith('\n') || position.end + 1 >= lines.length;
  return kept.map((l, i) => (i < kept.length - 1 || endsWithNewline ? `${l}\n` : l)).join('');
}
