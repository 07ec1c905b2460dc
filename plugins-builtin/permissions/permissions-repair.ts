/**
 * `repair permissions`: expands the policy's rules for cx-ops' directories and users' homes,
 * compares owner, group and mode of every matching entry, and changes what differs. Every change
 * is written to a journal before it is made, so `--undo` can put the old values back.
 */
import { CxError, type PluginContext } from 'cx-ops/sdk';
import { readStateFile, shippedSchemaValidator } from 'cx-ops/sdk/host';
import {
  policyError,
  parseGroups,
  parsePasswd,
  type PasswdUser,
  type Policy,
  type PolicyRule,
} from './permissions-policy.js';

export interface Ownership {
  mode: number;
  uid: number;
  gid: number;
}

export interface PermissionChange {
  path: string;
  /** e.g. "mode 0777 -> 0700", "owner 1234 -> 1000 (dev)". */
  reasons: string[];
  before: Ownership;
  after: Ownership;
  /** file:line of the rule that asked for it. */
  rule: string;
}

export interface PermissionsReport {
  dryRun: boolean;
  status: 'ok' | 'repaired' | 'planned' | 'declined';
  scopes: string[];
  checked: number;
  changes: PermissionChange[];
  /** Journal id, to undo with `repair permissions --undo ID`. */
  journal: string | null;
}

export interface Scope {
  /** "cx" or "user NAME". */
  name: string;
  rules: PolicyRule[];
  user?: PasswdUser;
}

interface Want {
  uid?: number;
  gid?: number;
  mode?: number;
  noWorldWritable?: boolean;
  rule: string;
}

/** A host path under the root, as a path on disk: this plugin works in disk paths (ctx.localFs), as its policy's
 * {config_dir} and {data_dir} are. */
const underRoot = (root: string, p: string) =>
  root.replace(/\/+$/, '') === '' ? p : `${root.replace(/\/+$/, '')}${p}`;

const octal = (m: number) => m.toString(8).padStart(4, '0');
const globRe = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** Users and groups of the host under ctx.env.root. */
export async function readAccounts(
  ctx: PluginContext<unknown>,
): Promise<{ users: PasswdUser[]; groups: Map<string, number> }> {
  const read = async (p: string) => {
    try {
      return await ctx.localFs.readFile(underRoot(ctx.env.root, p));
    } catch {
      return '';
    }
  };
  return { users: parsePasswd(await read('/etc/passwd')), groups: parseGroups(await read('/etc/group')) };
}

async function walk(ctx: PluginContext<unknown>, dir: string, out: string[]): Promise<void> {
  for (const e of await ctx.localFs.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    out.push(p);
    if (e.type === 'directory') await walk(ctx, p, out);
  }
}

/** The paths a rule matches that exist now. */
async function expand(
  ctx: PluginContext<unknown>,
  rule: PolicyRule,
  scope: Scope,
): Promise<Array<{ path: string; top: boolean }>> {
  let p = rule.path.replace('{config_dir}', ctx.env.configDir).replace('{data_dir}', ctx.env.dataDir);
  if (p.includes('{home}')) p = p.replace('{home}', underRoot(ctx.env.root, scope.user!.home));
  else if (!rule.path.startsWith('{')) p = underRoot(ctx.env.root, p);
  p = p.replace(/\/+$/, '');
  const slash = p.lastIndexOf('/');
  const [dir, last] = [p.slice(0, slash), p.slice(slash + 1)];
  let tops: string[] = [];
  if (last.includes('*')) {
    if (!(await ctx.localFs.stat(dir))) return [];
    const re = globRe(last);
    const ex = (rule.exclude ?? []).map(globRe);
    tops = (await ctx.localFs.readDir(dir))
      .filter((e) => re.test(e.name) && !ex.some((x) => x.test(e.name)))
      .map((e) => `${dir}/${e.name}`);
  } else if (await ctx.localFs.stat(p)) tops = [p];
  const out = tops.map((path) => ({ path, top: true }));
  if (rule.recursive) {
    for (const t of tops) {
      if ((await ctx.localFs.stat(t))?.type !== 'directory') continue;
      const below: string[] = [];
      await walk(ctx, t, below);
      out.push(...below.map((path) => ({ path, top: false })));
    }
  }
  return out;
}

function resolveId(
  ctx: PluginContext<unknown>,
  kind: 'owner' | 'group',
  value: string,
  rule: PolicyRule,
  scope: Scope,
  accounts: { users: PasswdUser[]; groups: Map<string, number> },
  file: string,
): number {
  const field = `${rule.ref}.${kind}`;
  if (value === '{user}' || value === '{group}') {
    if (!scope.user)
      throw policyError(
        file,
        rule.lines[kind],
        field,
        `uses ${value}, which only rules in the user section may`,
        value,
      );
    return value === '{user}' ? scope.user.uid : scope.user.gid;
  }
  if (/^\d+$/.test(value)) return Number(value);
  const id = kind === 'owner' ? accounts.users.find((u) => u.name === value)?.uid : accounts.groups.get(value);
  if (id !== undefined) return id;
  if (value === 'root') return 0; // uid/gid 0 is root even where the account files are missing
  const where = underRoot(ctx.env.root, kind === 'owner' ? '/etc/passwd' : '/etc/group');
  throw policyError(
    file,
    rule.lines[kind],
    field,
    `names no ${kind === 'owner' ? 'user' : 'group'} in ${where}; use a name from there or a number`,
    value,
  );
}

/** Works out every change the policy asks for (reads only). */
export async function planPermissions(
  ctx: PluginContext<unknown>,
  policy: Policy,
  scopes: Scope[],
): Promise<{ checked: number; changes: PermissionChange[] }> {
  const accounts = await readAccounts(ctx);
  const wants = new Map<string, Want>();
  for (const scope of scopes) {
    for (const rule of scope.rules) {
      const uid =
        rule.owner === undefined ? undefined : resolveId(ctx, 'owner', rule.owner, rule, scope, accounts, policy.file);
      const gid =
        rule.group === undefined ? undefined : resolveId(ctx, 'group', rule.group, rule, scope, accounts, policy.file);
      for (const { path, top } of await expand(ctx, rule, scope)) {
        const s = await ctx.localFs.stat(path);
        if (!s || s.type === 'symlink') continue; // symlinks are never followed nor changed
        const typeOk = !rule.type || rule.type === s.type;
        // A rule's type filters the entries it names; entries below a recursive rule all get its
        // owner, group and world-writable rule, and its mode when their type matches.
        const applies = top ? typeOk : true;
        const modeApplies = rule.mode !== undefined && typeOk;
        if (!applies && !modeApplies) continue;
        const w = wants.get(path) ?? { rule: rule.at };
        if (applies && uid !== undefined) w.uid = uid;
        if (applies && gid !== undefined) w.gid = gid;
        if (applies && rule.no_world_writable) w.noWorldWritable = true;
        if (modeApplies) w.mode = rule.mode;
        w.rule = rule.at;
        wants.set(path, w);
      }
    }
  }
  const changes: PermissionChange[] = [];
  const name = (uid: number) => accounts.users.find((u) => u.uid === uid)?.name;
  for (const [path, w] of [...wants].sort(([a], [b]) => a.localeCompare(b))) {
    const s = (await ctx.localFs.stat(path))!;
    const before = { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
    const after = { ...before };
    const reasons: string[] = [];
    if (w.uid !== undefined && w.uid !== s.uid) {
      after.uid = w.uid;
      reasons.push(
        `owner ${s.uid}${name(s.uid) ? ` (${name(s.uid)})` : ''} -> ${w.uid}${name(w.uid) ? ` (${name(w.uid)})` : ''}`,
      );
    }
    if (w.gid !== undefined && w.gid !== s.gid) {
      after.gid = w.gid;
      reasons.push(`group ${s.gid} -> ${w.gid}`);
    }
    if (w.mode !== undefined) after.mode = (before.mode & ~0o7777) | w.mode;
    if (w.noWorldWritable && after.mode & 0o002) {
      after.mode &= ~0o002;
      if (w.mode === undefined) reasons.push(`world-writable (${octal(before.mode)}) -> ${octal(after.mode)}`);
    }
    if (after.mode !== before.mode && !reasons.some((r) => r.startsWith('world-writable')))
      reasons.push(`mode ${octal(before.mode)} -> ${octal(after.mode)}`);
    if (reasons.length) changes.push({ path, reasons, before, after, rule: w.rule });
  }
  return { checked: wants.size, changes };
}

function stamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace('T', '-')
    .replace(/\.(\d+)Z$/, '-$1');
}

/** Applies the changes (chown first: it may clear set-id bits), journaled before each step. */
export async function applyPermissionChanges(
  ctx: PluginContext<unknown>,
  changes: PermissionChange[],
): Promise<string> {
  const dir = `${ctx.env.stateDir}/journal`;
  await ctx.localFs.mkdir(dir, { mode: 0o700 });
  const id = stamp();
  const file = `${dir}/${id}.json`;
  await ctx.localFs.writeFile(
    file,
    `${JSON.stringify({ id, created: new Date().toISOString(), undone: false, changes }, null, 2)}\n`,
    { mode: 0o600 },
  );
  for (const c of changes) {
    if (c.after.uid !== c.before.uid || c.after.gid !== c.before.gid)
      await ctx.localFs.chown(c.path, c.after.uid, c.after.gid);
    if (c.after.mode !== c.before.mode || c.after.uid !== c.before.uid || c.after.gid !== c.before.gid)
      await ctx.localFs.chmod(c.path, c.after.mode);
  }
  return id;
}

export interface UndoReport {
  journal: string;
  restored: Array<{ path: string; to: Ownership }>;
  /** Paths that are gone or were changed again since (left as they are). */
  skipped: Array<{ path: string; reason: string }>;
}

/** A journal file as it is written: schemas/permissions-journal.schema.json. */
interface PermissionsJournal {
  id: string;
  created: string;
  undone: boolean;
  changes: PermissionChange[];
}

/**
 * Reads one journal, checked against its schema: a damaged journal is CX_ERR_STATE_INVALID naming
 * the file (never "nothing to undo", never a bare JSON error). Temp files of killed writes
 * (`.<id>.json.tmp-*`, by ctx.localFs's atomic writer) are not journals.
 */
async function readPermissionsJournal(ctx: PluginContext<unknown>, file: string): Promise<PermissionsJournal> {
  const j = await readStateFile<PermissionsJournal>(ctx.localFs, file, {
    what: 'permissions journal',
    schema: 'schemas/permissions-journal.schema.json',
    validate: shippedSchemaValidator('permissions-journal.schema.json'),
    consequence: `its changes can then no longer be undone by cx-ops; what it holds is each path's owner, group and mode before the repair`,
  });
  if (!j) throw new CxError('CX_ERR_IO', { path: file, detail: 'does not exist' });
  if (`${j.id}.json` !== file.slice(file.lastIndexOf('/') + 1))
    throw new CxError('CX_ERR_STATE_INVALID', {
      file,
      detail: `field 'id' must name its own file (found: ${JSON.stringify(j.id)})`,
      what: 'permissions journal',
      schema: 'schemas/permissions-journal.schema.json',
    });
  return j;
}

/** Journals that can still be undone, newest first. */
export async function undoableJournals(ctx: PluginContext<unknown>): Promise<string[]> {
  const dir = `${ctx.env.stateDir}/journal`;
  if (!(await ctx.localFs.stat(dir))) return [];
  const ids: string[] = [];
  for (const e of await ctx.localFs.readDir(dir)) {
    if (!e.name.endsWith('.json') || e.name.startsWith('.')) continue;
    const j = await readPermissionsJournal(ctx, `${dir}/${e.name}`);
    if (!j.undone) ids.push(j.id);
  }
  return ids.sort().reverse();
}

/** chown clears the set-id bits of a file: a mode seen after a chown may lack them. */
const SET_ID = 0o6000;

/**
 * Whether `now` is a state that applying or undoing `c` can leave behind, whatever the point it
 * was killed at: each of owner and group is its before or after value, and the mode is its
 * before or after value, either possibly without the set-id bits a chown cleared.
 */
function reachable(c: PermissionChange, now: Ownership): boolean {
  const modes = [c.before.mode, c.after.mode].flatMap((m) => [m, m & ~SET_ID]);
  return (
    [c.before.uid, c.after.uid].includes(now.uid) &&
    [c.before.gid, c.after.gid].includes(now.gid) &&
    modes.includes(now.mode)
  );
}

const same = (a: Ownership, b: Ownership) => a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;

/**
 * Puts back what a journal changed. A path found in any state that the repair (or an earlier
 * undo) could have left when it was killed between its steps is restored; one changed by
 * something else since is left alone and reported. The journal is marked undone only when every
 * path is back, so an interrupted or partial undo can be run again.
 */
export async function undoPermissions(ctx: PluginContext<unknown>, id: string): Promise<UndoReport> {
  const file = `${ctx.env.stateDir}/journal/${id}.json`;
  const j = await readPermissionsJournal(ctx, file);
  const report: UndoReport = { journal: id, restored: [], skipped: [] };
  for (const c of [...j.changes].reverse()) {
    const s = await ctx.localFs.stat(c.path);
    if (!s) {
      report.skipped.push({ path: c.path, reason: 'no longer exists' });
      continue;
    }
    const now = { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
    if (!reachable(c, now)) {
      report.skipped.push({
        path: c.path,
        reason: `changed again since (now ${octal(now.mode)} ${now.uid}:${now.gid})`,
      });
      continue;
    }
    if (!same(now, c.before) && !ctx.env.dryRun) {
      if (now.uid !== c.before.uid || now.gid !== c.before.gid)
        await ctx.localFs.chown(c.path, c.before.uid, c.before.gid);
      await ctx.localFs.chmod(c.path, c.before.mode);
    }
    report.restored.push({ path: c.path, to: c.before });
  }
  if (!ctx.env.dryRun && report.skipped.length === 0) {
    await ctx.localFs.writeFile(file, `${JSON.stringify({ ...j, undone: true }, null, 2)}\n`, { mode: 0o600 });
  }
  return report;
}
