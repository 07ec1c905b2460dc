/** Alertmanager's label matchers: parsing, =, !=, =~, !~ (anchored), absent labels as empty, and stored legacy silences. */
import { describe, expect, test } from 'vitest';
import { matchersOf, matchesAll, matcherText, parseMatcher } from '../../../plugins-builtin/alerts/label-matchers.js';

const labels = { alertname: 'task-failed', task: 'backup', host: 'web1' };
const m = (text: string) => {
  const x = parseMatcher(text);
  if (typeof x === 'string') throw new Error(x);
  return x;
};

describe('label matchers', () => {
  test('parsed, quoted values unquoted, printed as Alertmanager does', () => {
    expect(parseMatcher('task=backup')).toEqual({ name: 'task', op: '=', value: 'backup' });
    expect(parseMatcher('host =~ "web.*"')).toEqual({ name: 'host', op: '=~', value: 'web.*' });
    expect(parseMatcher('team!=""')).toEqual({ name: 'team', op: '!=', value: '' });
    expect(matcherText(m('host!~db[0-9]'))).toBe('host!~"db[0-9]"');
    expect(parseMatcher('task~backup')).toMatch(/^'task~backup' is not a label matcher: give name=value/);
    expect(parseMatcher('host=~(web')).toMatch(/^'host=~\(web': Invalid regular expression/);
  });

  test('every matcher must hold; regexes are anchored; an absent label is empty', () => {
    expect(matchesAll(labels, [m('task=backup'), m('host=~web.*')])).toBe(true);
    expect(matchesAll(labels, [m('task=backup'), m('host!=web1')])).toBe(false);
    expect(matchesAll(labels, [m('host=~eb')])).toBe(false);
    expect(matchesAll(labels, [m('host!~db.*')])).toBe(true);
    expect(matchesAll(labels, [m('team=""')])).toBe(true);
    expect(matchesAll(labels, [m('team!=""')])).toBe(false);
    expect(matchesAll(labels, [])).toBe(true);
  });

  test("a silence stored before matchers ({ label: value }) reads as '=' matchers", () => {
    expect(matchersOf({ alertname: 'disk', check: 'disk_space' })).toEqual([
      { name: 'alertname', op: '=', value: 'disk' },
      { name: 'check', op: '=', value: 'disk_space' },
    ]);
  });
});
