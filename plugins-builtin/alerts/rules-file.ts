/**
 * alerts.yaml (in the configuration directory; schemas/alerts.schema.json): read with positions,
 * so every mistake is CX_ERR_ALERTS_INVALID at file:line:col (or CX_ERR_YAML_SYNTAX), with close
 * names for an unknown check, receiver or receiver type. Each receiver's settings are checked
 * against the schema its type declares (kind `alert-receiver`, meta settings_schema).
 */
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { closest, type CheckStatus, type ContributionInfo, type FsCapability, type Json } from 'cx-ops/sdk';
import { describeSchemaError, parseYaml, type FieldPath } from 'cx-ops/sdk/host';
import type { AlertsFile } from '../../schemas/types/alerts.js';
import type { AlertRule, EventSelector, Grouping, ReceiverConfig, RuleSet } from './alert-types.js';
import { alertsErrors } from './errors.js';
import { KNOWN_EVENT_TYPES } from './event-types.js';

const require = createRequire(import.meta.url);
let fileValidator: ValidateFunction | undefined;
const settingsValidators = new Map<string, ValidateFunction | string>();

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const settingsKey = (s: Record<string, Json>) =>
  JSON.stringify(Object.entries(s).sort(([x], [y]) => x.localeCompare(y)));

/** Milliseconds of `30s`, `5m`, `4h` (the schema's duration pattern). */
export function durationMs(v: string): number {
  const m = /^([0-9]+)(ms|s|m|h|d)$/.exec(v);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : NaN;
}

/** Alertmanager's defaults. */
export const DEFAULT_GROUPING: Grouping = {
  group_by: ['alertname'],
  group_wait_ms: 30_000,
  group_interval_ms: 300_000,
  repeat_interval_ms: 4 * 3_600_000,
};

function validatorFor(type: ContributionInfo): ValidateFunction | string {
  const cached = settingsValidators.get(`${type.plugin}/${type.id}`);
  if (cached) return cached;
  const { Ajv } = require('ajv') as typeof import('ajv');
  let v: ValidateFunction | string;
  try {
    v = new Ajv({ strict: true, allErrors: true }).compile(type.meta.settings_schema as object);
  } catch (e) {
    v = `receiver type '${type.id}' of plugin '${type.plugin}' declares a settings schema that does not compile: ${e instanceof Error ? e.message : String(e)}`;
  }
  settingsValidators.set(`${type.plugin}/${type.id}`, v);
  return v;
}

export interface ReadRulesOptions {
  /** The registered checks (id -> category): an unknown check is an error with close names. */
  checks: Map<string, string>;
  /** The registered `alert-receiver` contributions. */
  receiverTypes: ContributionInfo[];
  /** The loaded plugins' names: an event rule's type must be one of theirs (`<plugin>_<what>`); unset: not checked. */
  plugins?: string[];
}

/** Parses and checks alerts.yaml's text. */
export function parseRules(text: string | Uint8Array, file: string, o: ReadRulesOptions): RuleSet {
  const doc = parseYaml(text, file);
  const data = (doc.data ?? {}) as AlertsFile;
  const fail = (path: FieldPath, detail: string, found?: unknown, suggestions?: string[], atKey = false): never => {
    const pos = doc.positionOf(path, atKey);
    const field = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('') || '(root)';
    throw alertsErrors.CX_ERR_ALERTS_INVALID({
      file,
      line: pos?.line,
      column: pos?.column,
      field,
      detail,
      found,
      ...(suggestions?.length ? { suggestions } : {}),
    });
  };
  if (!fileValidator) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    fileValidator = new Ajv({ strict: true, allowUnionTypes: true, verbose: true, allErrors: true }).compile(
      require('../../schemas/alerts.schema.json') as object,
    );
  }
  if (!fileValidator(data)) schemaFail(fileValidator, data, fail);

  const types = new Map(o.receiverTypes.map((t) => [t.id, t]));
  const typeOf = (name: string, path: FieldPath) =>
    types.get(name) ??
    fail(
      path,
      `names receiver type '${name}', which no plugin contributes (types: ${[...types.keys()].sort().join(', ')})`,
      name,
      closest(name, types.keys()),
    );
  const checkSettings = (t: ContributionInfo, settings: Record<string, Json>, path: FieldPath, partial = false) => {
    const secrets = Array.isArray(t.meta.secrets) ? t.meta.secrets.map(String) : [];
    const plain: Record<string, Json> = {};
    for (const [k, v] of Object.entries(settings)) {
      if (k === 'type') continue;
      if (secrets.includes(k))
        fail(
          [...path, k],
          `is a secret and is never written in clear: give ${k}_file (a file of mode 0600) or ${k}_env (an environment variable)`,
          undefined,
          undefined,
          true,
        );
      const ref = /^(.*)_(file|env)$/.exec(k);
      if (ref && secrets.includes(ref[1]!)) {
        if (typeof v !== 'string' || !v) fail([...path, k], 'must name a file or an environment variable', v);
        continue;
      }
      plain[k] = v;
    }
    const validate = validatorFor(t);
    if (typeof validate === 'string') fail(path, validate);
    else if (!validate(plain)) {
      // An unknown setting says more than a missing one it may be a misspelling of. A receiver
      // named like its type holds the defaults of inline actions: what it lacks, they give.
      const errs = [...(validate.errors ?? [])]
        .filter((e) => !(partial && e.keyword === 'required' && e.instancePath === ''))
        .sort((x, y) => Number(y.keyword === 'additionalProperties') - Number(x.keyword === 'additionalProperties'));
      if (errs.length) {
        const p = describeSchemaError(errs, plain);
        const unknown = errs[0]?.keyword === 'additionalProperties';
        const known = Object.keys(((t.meta.settings_schema as Record<string, Json>).properties ?? {}) as object);
        fail(
          [...path, ...p.path],
          `${p.detail} (a ${t.id} receiver's settings: ${[...known, ...secrets.map((s) => `${s}_file|${s}_env`)].join(', ')})`,
          p.found,
          unknown ? closest(String(p.path[p.path.length - 1]), known) : undefined,
          unknown,
        );
      }
    }
  };

  const receivers: Record<string, ReceiverConfig> = {};
  for (const [name, r] of Object.entries(data.receivers ?? {})) {
    const t = typeOf(r.type, ['receivers', name, 'type']);
    checkSettings(t, r as Record<string, Json>, ['receivers', name], name === r.type);
    receivers[name] = { name, type: r.type, settings: { ...(r as Record<string, Json>) } };
  }
  // Inline actions get a receiver each; identical ones share it.
  const inline = new Map<string, string>();
  const route = data.route ?? {};
  const grouping = (g: typeof route): Grouping => ({
    group_by: g.group_by ?? route.group_by ?? DEFAULT_GROUPING.group_by,
    group_wait_ms: durationMs(g.group_wait ?? route.group_wait ?? '30s'),
    group_interval_ms: durationMs(g.group_interval ?? route.group_interval ?? '5m'),
    repeat_interval_ms: durationMs(g.repeat_interval ?? route.repeat_interval ?? '4h'),
  });
  const rules: AlertRule[] = [];
  const names = new Set<string>();
  for (const [i, a] of (data.alerts ?? []).entries()) {
    if (names.has(a.name))
      fail(['alerts', i, 'name'], 'is the name of an earlier alert: give each alert its own name', a.name);
    names.add(a.name);
    const events = a.event !== undefined ? eventSelector(a, i, o, fail) : undefined;
    const ids = a.check !== undefined ? [a.check] : a.checks;
    if (a.check !== undefined && a.checks)
      fail(['alerts', i, 'checks'], 'is given with check: use one of them', a.checks, undefined, true);
    for (const [j, id] of (ids ?? []).entries()) {
      if (!o.checks.has(id))
        fail(
          ['alerts', i, a.check !== undefined ? 'check' : 'checks', ...(a.check !== undefined ? [] : [j])],
          `names check '${id}', which is not registered (list them with: cx-ops doctor --list)`,
          id,
          closest(id, o.checks.keys()),
        );
    }
    if (a.category !== undefined) {
      const cats = new Set(o.checks.values());
      if (!cats.has(a.category))
        fail(
          ['alerts', i, 'category'],
          `names category '${a.category}', which no registered check has (${[...cats].sort().join(', ')})`,
          a.category,
          closest(a.category, cats),
        );
    }
    const statuses = (Array.isArray(a.status) ? a.status : a.status ? [a.status] : ['FAIL', 'ERROR']).map(
      (s) => s.toUpperCase() as CheckStatus,
    );
    const rec: string[] = [];
    for (const [j, act] of a.actions.entries()) {
      const path: FieldPath = ['alerts', i, 'actions', j];
      if (act.receiver !== undefined) {
        if (!receivers[act.receiver])
          fail(
            [...path, 'receiver'],
            `names receiver '${act.receiver}', which receivers: does not define`,
            act.receiver,
            closest(act.receiver, Object.keys(receivers)),
          );
        if (Object.keys(act).length > 1)
          fail(path, 'names a receiver and adds settings: put the settings on the receiver');
        const named = receivers[act.receiver]!;
        if (named.name === named.type)
          checkSettings(typeOf(named.type, [...path, 'receiver']), named.settings, ['receivers', named.name]);
        rec.push(act.receiver);
        continue;
      }
      const t = typeOf(act.type!, [...path, 'type']);
      const base = receivers[act.type!]?.type === act.type ? receivers[act.type!]!.settings : {};
      const settings = { ...base, ...(act as Record<string, Json>) };
      checkSettings(t, settings, path);
      const key = settingsKey(settings);
      let name = inline.get(key);
      if (!name) {
        const named = receivers[act.type!];
        name = act.type!;
        if (!(named && named.type === act.type && settingsKey(named.settings) === key)) {
          for (let n = 2; receivers[name]; n++) name = `${act.type}-${n}`;
          receivers[name] = { name, type: act.type!, settings };
        }
        inline.set(key, name);
      }
      if (!rec.includes(name)) rec.push(name);
    }
    rules.push({
      name: a.name,
      ...(events ? { events } : {}),
      ...(ids ? { checks: ids } : {}),
      ...(a.category !== undefined ? { category: a.category } : {}),
      statuses,
      for: a.for ?? 1,
      labels: a.labels ?? {},
      annotations: a.annotations ?? {},
      ...(a.runbook ? { runbook: a.runbook } : {}),
      grouping: grouping(a),
      receivers: rec,
    });
  }
  for (const [i, inh] of (data.inhibit ?? []).entries()) {
    for (const [path, n] of [
      [['inhibit', i, 'source'], inh.source],
      ...inh.target.map((t, j) => [['inhibit', i, 'target', j], t]),
    ] as Array<[FieldPath, string]>)
      if (!names.has(n)) fail(path, `names alert '${n}', which alerts: does not define`, n, closest(n, names));
  }
  return {
    file,
    rules,
    receivers,
    inhibit: (data.inhibit ?? []).map((x) => ({ source: x.source, target: x.target, equal: x.equal ?? ['host'] })),
    flapping: { changes: data.flapping?.changes ?? 4, cycles: data.flapping?.cycles ?? 10 },
  };
}

type Fail = (path: FieldPath, detail: string, found?: unknown, suggestions?: string[], atKey?: boolean) => never;
type RuleEntry = NonNullable<AlertsFile['alerts']>[number];
const listOf = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** An event rule's selector; what belongs to check rules only, or types no loaded plugin records, fail. */
function eventSelector(a: RuleEntry, i: number, o: ReadRulesOptions, fail: Fail): EventSelector {
  for (const k of ['check', 'checks', 'category', 'status', 'for'] as const)
    if (a[k] !== undefined)
      fail(
        ['alerts', i, k],
        'is for a rule over check results: an event rule (event:) fires on each matching event and resolves by resolve_on or resolve_after',
        undefined,
        undefined,
        true,
      );
  const types = listOf(a.event);
  const resolveOn = listOf(a.resolve_on);
  const check = (t: string, path: FieldPath) => {
    if (!o.plugins) return;
    const owner = o.plugins.find((p) => t.startsWith(`${p.replace(/-/g, '_')}_`));
    const known = owner ? KNOWN_EVENT_TYPES.get(owner) : undefined;
    if (owner && (!known || known.includes(t))) return;
    const all = o.plugins.flatMap((p) => KNOWN_EVENT_TYPES.get(p) ?? []);
    fail(
      path,
      owner
        ? `names event type '${t}', which plugin '${owner}' does not record (its types: ${known!.join(', ')})`
        : `names event type '${t}', which no loaded plugin records: a daemon event's type is <plugin>_<what> (loaded plugins: ${o.plugins.join(', ')})`,
      t,
      closest(t, all),
    );
  };
  types.forEach((t, j) => check(t, ['alerts', i, 'event', ...(Array.isArray(a.event) ? [j] : [])]));
  resolveOn.forEach((t, j) => {
    const path: FieldPath = ['alerts', i, 'resolve_on', ...(Array.isArray(a.resolve_on) ? [j] : [])];
    check(t, path);
    if (types.includes(t))
      fail(path, `is also a type that fires this alert (event:): an event cannot both fire and resolve it`, t);
  });
  return {
    types,
    match: Object.fromEntries(Object.entries(a.match ?? {}).map(([k, v]) => [k, String(v)])),
    by: a.by ?? [],
    resolve_on: resolveOn,
    // With resolve_on the resolving event is awaited; without, Alertmanager's resolve_timeout.
    resolve_after_ms:
      a.resolve_after === 'never' || (a.resolve_after === undefined && resolveOn.length)
        ? null
        : durationMs(a.resolve_after ?? '5m'),
  };
}

function schemaFail(v: ValidateFunction, data: unknown, fail: Fail): never {
  const errors = [...(v.errors ?? [])].sort(
    (x, y) => Number(y.keyword === 'additionalProperties') - Number(x.keyword === 'additionalProperties'),
  );
  // An action with both or neither of type/receiver fails its oneOf: say that, not "must NOT be valid".
  const action = errors.find((e) => e.keyword === 'oneOf' && /\/actions\/\d+$/.test(e.instancePath));
  if (action) {
    const p = describeSchemaError([action], data);
    fail(
      p.path,
      'needs exactly one of type: (a receiver type, with its settings) or receiver: (a receiver defined under receivers:)',
    );
  }
  const p = describeSchemaError(errors, data);
  const unknown = errors[0]?.keyword === 'additionalProperties';
  const validKeys = unknown ? Object.keys((errors[0]?.parentSchema as { properties?: object })?.properties ?? {}) : [];
  fail(
    p.path,
    unknown && validKeys.length ? `${p.detail}; valid keys here: ${validKeys.join(', ')}` : p.detail,
    unknown ? undefined : p.found,
    unknown ? closest(String(p.path[p.path.length - 1]), validKeys) : undefined,
    unknown,
  );
}

/** Reads `file` (null when it does not exist). */
export async function readRules(fs: FsCapability, file: string, o: ReadRulesOptions): Promise<RuleSet | null> {
  if (!(await fs.stat(file))) return null;
  return parseRules(await fs.readBytes(file), file, o);
}
