/**
 * Alertmanager's label matchers, for silences: `name=value`, `name!=value`, `name=~regex`,
 * `name!~regex` (regexes anchored at both ends, as Alertmanager's are; an absent label is the
 * empty string, so `team=""` matches alerts without a team).
 */

/** One matcher of a silence. */
export interface LabelMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;
const regexes = new Map<string, RegExp>();

const regexOf = (source: string): RegExp => {
  let r = regexes.get(source);
  if (!r) regexes.set(source, (r = new RegExp(`^(?:${source})$`, 'u')));
  return r;
};

/** Parses `name=value` (the value may be double-quoted); a string says what is wrong. */
export function parseMatcher(text: string): LabelMatcher | string {
  const m = MATCHER.exec(text);
  if (!m)
    return `'${text}' is not a label matcher: give name=value, name!=value, name=~regex or name!~regex (e.g. task=backup, host=~"web.*")`;
  const raw = m[3]!;
  const value = /^".*"$/.test(raw) ? raw.slice(1, -1).replace(/\\"/g, '"') : raw;
  const op = m[2] as LabelMatcher['op'];
  if (op === '=~' || op === '!~')
    try {
      regexOf(value);
    } catch (e) {
      return `'${text}': ${e instanceof Error ? e.message : String(e)}`;
    }
  return { name: m[1]!, op, value };
}

/** Whether `labels` satisfy every matcher. */
export function matchesAll(labels: Record<string, string>, matchers: LabelMatcher[]): boolean {
  return matchers.every((m) => {
    const v = labels[m.name] ?? '';
    switch (m.op) {
      case '=':
        return v === m.value;
      case '!=':
        return v !== m.value;
      case '=~':
        return regexOf(m.value).test(v);
      case '!~':
        return !regexOf(m.value).test(v);
    }
  });
}

/** `name="value"` as Alertmanager prints a matcher. */
export const matcherText = (m: LabelMatcher): string => `${m.name}${m.op}${JSON.stringify(m.value)}`;

/** A silence's matchers as stored: a list, or (silences made before label matchers) label -> value. */
export function matchersOf(stored: unknown): LabelMatcher[] {
  if (Array.isArray(stored)) return stored as LabelMatcher[];
  if (stored && typeof stored === 'object')
    return Object.entries(stored as Record<string, string>).map(([name, value]) => ({ name, op: '=', value }));
  return [];
}
