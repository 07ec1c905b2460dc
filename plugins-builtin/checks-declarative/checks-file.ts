/**
 * The declarative checks file (schemas/declarative-checks.schema.json): a YAML list of checks,
 * each one assertion about the host. Read with positions, so a mistake is reported with the
 * file, line and field (CX_ERR_CHECKS_FILE_INVALID), never half-accepted.
 */
import { CxError } from 'cx-ops/sdk';
import { parseYaml } from 'cx-ops/sdk/host';

/** What a check asserts: the one type key, and its fields. */
export const ASSERTION_FIELDS = {
  file: { exists: 'boolean', mode: 'mode', owner: 'string', group: 'string', contains: 'strings', type: 'string' },
  port: { listening: 'boolean', address: 'string', protocol: 'string' },
  process: { running: 'boolean' },
  package: { installed: 'boolean', version: 'string' },
  service: { state: 'string' },
  http: { status: 'integer', body: 'strings', timeout_ms: 'integer', method: 'string' },
  command: { exit_status: 'integer', stdout: 'strings', timeout_ms: 'integer' },
  dns: { resolvable: 'boolean', server: 'string', addresses: 'strings', timeout_ms: 'integer' },
  kernel_param: { value: 'string' },
  mount: { exists: 'boolean', filesystem: 'string', options: 'strings' },
} as const;

export type AssertionType = keyof typeof ASSERTION_FIELDS;
export const ASSERTION_TYPES = Object.keys(ASSERTION_FIELDS) as AssertionType[];
const COMMON = { id: 'string', name: 'string', description: 'string', category: 'string', severity: 'string' } as const;
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const ID = /^[a-z][a-z0-9]*([_-][a-z0-9]+)*$/;

/** One declared check. */
export interface DeclaredCheck {
  id: string;
  name: string;
  description: string;
  category: string;
  severity: string;
  type: AssertionType;
  /** The subject: a path, port, name, URL, command line, ... */
  subject: string | number | string[];
  /** The assertion's fields (exists, mode, status, ...). */
  expect: Record<string, unknown>;
  /** Where it was written: "file:line". */
  at: string;
}

function invalid(file: string, line: number | undefined, field: string, detail: string, found?: unknown): CxError {
  return new CxError('CX_ERR_CHECKS_FILE_INVALID', { file, line, field, detail, found });
}

const kindOk = (kind: string, v: unknown): boolean =>
  kind === 'boolean'
    ? typeof v === 'boolean'
    : kind === 'integer'
      ? Number.isInteger(v)
      : kind === 'strings'
        ? Array.isArray(v) && v.every((x) => typeof x === 'string')
        : kind === 'mode'
          ? typeof v === 'string' && /^0?[0-7]{3,4}$/.test(v)
          : typeof v === 'string' && v.length > 0;

const kindText: Record<string, string> = {
  boolean: 'true or false',
  integer: 'a whole number',
  strings: 'a list of strings',
  mode: "an octal mode in quotes, e.g. '0644'",
  string: 'a non-empty string',
};

/** Parses and validates a checks file's text (the SDK's one YAML reader: aliases, depth, syntax). */
export function parseChecksFile(text: string, file: string): DeclaredCheck[] {
  const doc = parseYaml(text, file);
  const isMapping = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const top = doc.data;
  if (!isMapping(top)) throw invalid(file, 1, 'checks', 'the file must be a mapping with a checks: list');
  for (const k of Object.keys(top))
    if (k !== 'checks')
      throw invalid(file, doc.lineOf([k], true), k, "is not allowed here: the only top-level key is 'checks'");
  const seq = top.checks;
  if (!Array.isArray(seq)) throw invalid(file, doc.lineOf(['checks']) ?? 1, 'checks', 'must be a list of checks');
  const out: DeclaredCheck[] = [];
  const seen = new Map<string, number | undefined>();
  seq.forEach((item: unknown, i) => {
    const ref = `checks[${i}]`;
    const line = doc.lineOf(['checks', i]);
    if (!isMapping(item)) throw invalid(file, line, ref, 'must be a mapping (id:, one assertion type, its fields)');
    const raw = item;
    const lineOfKey = (k: string) => (Object.hasOwn(raw, k) ? doc.lineOf(['checks', i, k], true) : undefined) ?? line;
    const types = ASSERTION_TYPES.filter((t) => t in raw);
    if (types.length !== 1) {
      throw invalid(
        file,
        line,
        ref,
        types.length
          ? `has ${types.join(' and ')}: give each check exactly one of ${ASSERTION_TYPES.join(', ')}`
          : `needs one assertion type: ${ASSERTION_TYPES.join(', ')}`,
      );
    }
    const type = types[0]!;
    const fields: Record<string, string> = { ...COMMON, ...ASSERTION_FIELDS[type] };
    for (const [k, v] of Object.entries(raw)) {
      if (k === type) continue;
      const kind = fields[k];
      if (!kind)
        throw invalid(
          file,
          lineOfKey(k),
          `${ref}.${k}`,
          `is not a field of a ${type} check; its fields: ${Object.keys(ASSERTION_FIELDS[type]).join(', ')}`,
          v,
        );
      if (!kindOk(kind, v)) throw invalid(file, lineOfKey(k), `${ref}.${k}`, `must be ${kindText[kind]}`, v);
    }
    const id = raw.id;
    if (typeof id !== 'string' || !ID.test(id))
      throw invalid(
        file,
        lineOfKey('id'),
        `${ref}.id`,
        'is required: a snake_case or kebab-case id (it becomes the doctor check id)',
        id,
      );
    if (seen.has(id))
      throw invalid(
        file,
        lineOfKey('id'),
        `${ref}.id`,
        `'${id}' is already used at line ${seen.get(id)}; give each check its own id`,
        id,
      );
    seen.set(id, lineOfKey('id'));
    if (raw.severity !== undefined && !SEVERITIES.includes(String(raw.severity)))
      throw invalid(
        file,
        lineOfKey('severity'),
        `${ref}.severity`,
        `must be one of ${SEVERITIES.join(', ')}`,
        raw.severity,
      );
    const subject = raw[type];
    const subjectOk =
      type === 'port'
        ? Number.isInteger(subject) && (subject as number) > 0 && (subject as number) < 65536
        : type === 'command'
          ? (Array.isArray(subject) && subject.length > 0 && subject.every((x) => typeof x === 'string')) ||
            (typeof subject === 'string' && subject.length > 0)
          : type === 'file' || type === 'mount'
            ? typeof subject === 'string' && subject.startsWith('/')
            : type === 'http'
              ? typeof subject === 'string' && /^https?:\/\//.test(subject)
              : typeof subject === 'string' && subject.length > 0;
    if (!subjectOk) {
      const want =
        {
          port: 'a TCP port number',
          command: 'a program and its arguments, e.g. [/usr/bin/test, -d, /srv]',
          file: 'an absolute path',
          mount: 'an absolute mount point',
          http: 'an http(s) URL',
        }[type as string] ?? 'a name';
      throw invalid(file, lineOfKey(type), `${ref}.${type}`, `must be ${want}`, subject);
    }
    if (type === 'package' && typeof raw.version === 'string') {
      try {
        parseVersionRange(raw.version);
      } catch (e) {
        throw invalid(file, lineOfKey('version'), `${ref}.version`, (e as Error).message, raw.version);
      }
    }
    const expect = Object.fromEntries(Object.entries(raw).filter(([k]) => !(k in COMMON) && k !== type));
    out.push({
      id,
      name:
        typeof raw.name === 'string'
          ? raw.name
          : `${type} ${Array.isArray(subject) ? subject.join(' ') : String(subject)}`,
      description: typeof raw.description === 'string' ? raw.description : `declared in ${file}`,
      category: typeof raw.category === 'string' ? raw.category : 'system',
      severity: typeof raw.severity === 'string' ? raw.severity : 'medium',
      type,
      subject:
        typeof subject === 'string' && type === 'command'
          ? subject.split(/\s+/)
          : (subject as DeclaredCheck['subject']),
      expect,
      at: `${file}:${line ?? '?'}`,
    });
  });
  return out;
}

/** `>= 1.2, < 2.0` as comparator pairs (dpkg's order decides). */
export function parseVersionRange(text: string): Array<{ op: '<' | '<=' | '=' | '>=' | '>'; version: string }> {
  return text.split(',').map((part) => {
    const m = /^\s*(<=|>=|<<|>>|<|>|=)?\s*([0-9][A-Za-z0-9.+~:-]*)\s*$/.exec(part);
    if (!m) throw new Error(`'${part.trim()}' is not a version constraint: use e.g. '>= 1.2' or '>= 1.2, < 2.0'`);
    const op = (m[1] === '<<' ? '<' : m[1] === '>>' ? '>' : (m[1] ?? '=')) as '<' | '<=' | '=' | '>=' | '>';
    return { op, version: m[2]! };
  });
}
