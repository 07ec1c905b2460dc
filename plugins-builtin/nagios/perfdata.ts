/**
 * The Nagios plugin output format (Nagios plugin API / monitoring-plugins guidelines):
 *
 *   TEXT OUTPUT | PERFDATA
 *   LONG TEXT LINE 1
 *   LONG TEXT LINE 2 | PERFDATA 2
 *   PERFDATA 3
 *
 * Perfdata is space-separated `'label'=value[UOM];[warn];[crit];[min];[max]`; labels with spaces
 * or '=' are single-quoted, a quote inside a quoted label is doubled (''). Value may be "U"
 * (undetermined). warn/crit are ranges ("10", "10:", "~:10", "10:20", "@10:20").
 */

/** One perfdata item. */
export interface PerfDatum {
  label: string;
  /** null when the plugin reported "U" (value undetermined). */
  value: number | null;
  uom: string;
  warn: string | null;
  crit: string | null;
  min: number | null;
  max: number | null;
}

export interface PluginOutput {
  /** The first line's text (before any '|'). */
  text: string;
  /** Long text lines (without their perfdata). */
  long_text: string[];
  perfdata: PerfDatum[];
  /** Perfdata items that do not follow the format, with the reason. */
  perfdata_errors: string[];
}

/** Units the guidelines allow: none, s/ms/us, %, B/KB/MB/GB/TB, c (counter); others are kept as written. */
const UOM = /^(s|ms|us|%|B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|c)?$/;

/** Splits a perfdata string into items, honouring single-quoted labels ('' is a literal quote). */
export function splitPerfdata(s: string): string[] {
  const items: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === "'") {
      if (quoted && s[i + 1] === "'") {
        cur += "''";
        i++;
        continue;
      }
      quoted = !quoted;
      cur += ch;
    } else if (/\s/.test(ch) && !quoted) {
      if (cur) items.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) items.push(cur);
  return items;
}

const num = (s: string | undefined): number | null => {
  if (s === undefined || s === '') return null;
  const n = Number(s.replace(',', '.'));
  return Number.isFinite(n) ? n : null;
};

/** Whether a threshold is a Nagios range: [@][start:][end] with ~ for -infinity. */
export function isRange(s: string): boolean {
  return /^@?(~|[-+]?\d+(\.\d+)?(e[-+]?\d+)?)?:?([-+]?\d+(\.\d+)?(e[-+]?\d+)?)?$/i.test(s) && s !== '@';
}

/** Parses one perfdata item; throws with the reason when it does not follow the format. */
export function parsePerfItem(item: string): PerfDatum {
  let label: string;
  let rest: string;
  if (item.startsWith("'")) {
    const end = findClosingQuote(item);
    if (end < 0) throw new Error(`unterminated quoted label in ${JSON.stringify(item)}`);
    label = item.slice(1, end).replace(/''/g, "'");
    if (item[end + 1] !== '=') throw new Error(`expected '=' after the label in ${JSON.stringify(item)}`);
    rest = item.slice(end + 2);
  } else {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`expected label=value, found ${JSON.stringify(item)}`);
    label = item.slice(0, eq);
    rest = item.slice(eq + 1);
  }
  if (!label) throw new Error(`empty label in ${JSON.stringify(item)}`);
  const [valuePart = '', warn, crit, min, max, ...extra] = rest.split(';');
  if (extra.some((x) => x !== '')) throw new Error(`too many ';' fields in ${JSON.stringify(item)}`);
  let value: number | null;
  let uom = '';
  if (valuePart === 'U') value = null;
  else {
    const m = /^([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)(.*)$/.exec(valuePart);
    if (!m) throw new Error(`value of '${label}' is not a number: ${JSON.stringify(valuePart)}`);
    value = num(m[1]);
    uom = m[2]!;
    if (!UOM.test(uom) && !/^[A-Za-z%/]+$/.test(uom))
      throw new Error(`unit of '${label}' is not valid: ${JSON.stringify(uom)}`);
  }
  for (const [name, t] of [
    ['warn', warn],
    ['crit', crit],
  ] as const) {
    if (t && !isRange(t)) throw new Error(`${name} threshold of '${label}' is not a range: ${JSON.stringify(t)}`);
  }
  for (const [name, t] of [
    ['min', min],
    ['max', max],
  ] as const) {
    if (t && num(t) === null) throw new Error(`${name} of '${label}' is not a number: ${JSON.stringify(t)}`);
  }
  return { label, value, uom, warn: warn || null, crit: crit || null, min: num(min), max: num(max) };
}

function findClosingQuote(item: string): number {
  for (let i = 1; i < item.length; i++) {
    if (item[i] === "'") {
      if (item[i + 1] === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

/** Parses a plugin's whole stdout. */
export function parsePluginOutput(stdout: string): PluginOutput {
  const lines = stdout.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  const perfStrings: string[] = [];
  const first = lines[0] ?? '';
  const bar = first.indexOf('|');
  const text = (bar >= 0 ? first.slice(0, bar) : first).trim();
  if (bar >= 0) perfStrings.push(first.slice(bar + 1));
  const long: string[] = [];
  let inPerf = false;
  for (const line of lines.slice(1)) {
    if (inPerf) {
      perfStrings.push(line);
      continue;
    }
    const b = line.indexOf('|');
    if (b >= 0) {
      if (line.slice(0, b).trim()) long.push(line.slice(0, b));
      perfStrings.push(line.slice(b + 1));
      inPerf = true;
    } else long.push(line);
  }
  const perfdata: PerfDatum[] = [];
  const errors: string[] = [];
  for (const item of perfStrings.flatMap(splitPerfdata)) {
    try {
      perfdata.push(parsePerfItem(item));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { text, long_text: long, perfdata, perfdata_errors: errors };
}
