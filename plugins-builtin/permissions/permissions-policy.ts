/**
 * The permissions policy: YAML (schemas/permissions-policy.schema.json), read with positions so
 * that every mistake is reported as file:line, field, what is wrong and what was found.
 */
import { CxError } from 'cx-ops/sdk';
import { permissionsErrors } from './errors.js';
import { parseYaml } from 'cx-ops/sdk/host';

export interface PolicyRule {
  path: string;
  exclude?: string[];
  type?: 'file' | 'directory';
  owner?: string;
  group?: string;
  /** Parsed from the octal string. */
  mode?: number;
  recursive?: boolean;
  no_world_writable?: boolean;
  /** Where the rule was written, for messages: "file:line". */
  at: string;
  /** The rule's field path in the policy, e.g. "user[2]". */
  ref: string;
  /** Lines of its owner and group fields (checked later, against the host's accounts). */
  lines: { owner?: number; group?: number };
}

export interface Policy {
  file: string;
  cx: PolicyRule[];
  user: PolicyRule[];
}

/** A policy mistake: file, line, field (the plugin's catalogue's CX_ERR_POLICY_INVALID, exit 2). */
export function policyError(
  file: string,
  line: number | undefined,
  field: string,
  detail: string,
  found?: unknown,
): CxError {
  return permissionsErrors.CX_ERR_POLICY_INVALID({ file, line, field, detail, found });
}

const RULE_KEYS = ['path', 'exclude', 'type', 'owner', 'group', 'mode', 'recursive', 'no_world_writable'];
const PATH_START = /^(\/|\{config_dir\}|\{data_dir\}|\{home\})/;

/** Parses and validates a policy file's text. */
export function parsePolicy(text: string, file: string): Policy {
  const doc = parseYaml(text, file);
  const lineOf = (path: Array<string | number>) => doc.lineOf(path);
  const fail = (path: Array<string | number>, detail: string, found?: unknown): never => {
    const field = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('');
    throw policyError(file, lineOf(path), field || '(top)', detail, found);
  };
  const data = doc.data as Record<string, unknown> | null;
  if (!data || typeof data !== 'object' || Array.isArray(data))
    fail([], 'must be a mapping with version, cx and user', data);
  for (const k of Object.keys(data!))
    if (!['version', 'cx', 'user'].includes(k)) fail([k], 'is not a policy field; expected version, cx or user');
  if (data!.version !== 1) fail(['version'], 'must be 1', data!.version);
  const rules = (section: 'cx' | 'user'): PolicyRule[] => {
    const list = data![section] ?? [];
    if (!Array.isArray(list)) fail([section], 'must be a list of rules', list);
    return (list as unknown[]).map((raw, i) => {
      const at = [section, i];
      if (!raw || typeof raw !== 'object' || Array.isArray(raw))
        fail(at, 'must be a mapping with at least a path', raw);
      const r = raw as Record<string, unknown>;
      for (const k of Object.keys(r))
        if (!RULE_KEYS.includes(k)) fail([...at, k], `is not a rule field; expected one of ${RULE_KEYS.join(', ')}`);
      if (typeof r.path !== 'string' || !PATH_START.test(r.path))
        fail([...at, 'path'], 'must be an absolute path or start with {config_dir}, {data_dir} or {home}', r.path);
      if (section === 'cx' && String(r.path).includes('{home}'))
        fail([...at, 'path'], 'cannot use {home} in the cx section', r.path);
      if (r.exclude !== undefined && (!Array.isArray(r.exclude) || r.exclude.some((x) => typeof x !== 'string' || !x)))
        fail([...at, 'exclude'], 'must be a list of name patterns', r.exclude);
      if (r.type !== undefined && r.type !== 'file' && r.type !== 'directory')
        fail([...at, 'type'], "must be 'file' or 'directory'", r.type);
      for (const k of ['owner', 'group'] as const)
        if (r[k] !== undefined && typeof r[k] !== 'string' && typeof r[k] !== 'number')
          fail([...at, k], 'must be a name or a number', r[k]);
      let mode: number | undefined;
      if (r.mode !== undefined) {
        // An unquoted 0700 reaches us as the number 448 (YAML 1.2 reads it as decimal 700): ask for quotes.
        if (typeof r.mode !== 'string' || !/^0?[0-7]{3,4}$/.test(r.mode))
          fail([...at, 'mode'], 'must be an octal mode in quotes, like "0700"', r.mode);
        mode = parseInt(r.mode as string, 8);
      }
      for (const k of ['recursive', 'no_world_writable'] as const)
        if (r[k] !== undefined && typeof r[k] !== 'boolean') fail([...at, k], 'must be true or false', r[k]);
      if (r.recursive && mode !== undefined && !r.type)
        fail(
          [...at, 'mode'],
          'with recursive: true needs type: file or type: directory (one mode cannot fit both)',
          r.mode,
        );
      return {
        path: r.path as string,
        exclude: r.exclude as string[] | undefined,
        type: r.type as PolicyRule['type'],
        owner: r.owner === undefined ? undefined : String(r.owner),
        group: r.group === undefined ? undefined : String(r.group),
        mode,
        recursive: r.recursive as boolean | undefined,
        no_world_writable: r.no_world_writable as boolean | undefined,
        at: `${file}:${lineOf(at) ?? '?'}`,
        ref: `${section}[${i}]`,
        lines: { owner: lineOf([...at, 'owner']), group: lineOf([...at, 'group']) },
      };
    });
  };
  return { file, cx: rules('cx'), user: rules('user') };
}

/** One line of /etc/passwd. */
export interface PasswdUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Parses /etc/passwd text. */
export function parsePasswd(text: string): PasswdUser[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

/** Parses /etc/group text into name -> gid. */
export function parseGroups(text: string): Map<string, number> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'))
      .filter((f) => f.length >= 3)
      .map((f) => [f[0]!, Number(f[2])] as [string, number]),
  );
}
