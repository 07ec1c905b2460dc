/**
 * The permissions plugin: `cx-ops repair permissions [--cx] [--user NAME] [--dry-run] [--undo]`
 * and the `repair_permissions` fix for doctor. The policy is YAML
 * (schemas/permissions-policy.schema.json): --policy FILE, else <config_dir>/permissions-policy.yaml,
 * else the default one shipped beside this file.
 */
import { fileURLToPath } from 'node:url';
import {
  appendJournal,
  closest,
  CxError,
  defineCommand,
  defineFix,
  definePlugin,
  type CommandInput,
  type PluginContext,
} from 'cx-ops/sdk';
import { permissionsErrors } from './errors.js';
import { parsePolicy, type Policy } from './permissions-policy.js';
import {
  applyPermissionChanges,
  planPermissions,
  readAccounts,
  undoableJournals,
  undoPermissions,
  type PermissionsReport,
  type Scope,
} from './permissions-repair.js';

/** Bad input the user can fix: error[CX_ERR_USAGE], exit 2. */
const usage = (detail: string, hint?: string) => new CxError('CX_ERR_USAGE', { detail, hint });

async function loadPolicy(ctx: PluginContext<unknown>, file: string | undefined): Promise<Policy> {
  const candidates = file
    ? [file]
    : [
        `${ctx.env.configDir}/permissions-policy.yaml`,
        fileURLToPath(new URL('./default-policy.yaml', import.meta.url)),
      ];
  for (const f of candidates) {
    if (!(await ctx.localFs.stat(f))) {
      if (file)
        throw usage(
          `repair permissions: policy file ${file} does not exist.`,
          `${ctx.env.command} repair permissions --policy ${ctx.env.configDir}/permissions-policy.yaml   (or leave --policy out for the built-in policy)`,
        );
      continue;
    }
    return parsePolicy(await ctx.localFs.readFile(f), f);
  }
  throw usage(
    'repair permissions: no permissions policy found: the built-in default-policy.yaml is missing from the installation.',
    `write one to ${ctx.env.configDir}/permissions-policy.yaml (format: schemas/permissions-policy.schema.json), or reinstall cx-ops`,
  );
}

async function scopesFor(
  ctx: PluginContext<unknown>,
  policy: Policy,
  o: { cx: boolean; user: string | null },
): Promise<Scope[]> {
  const { users } = await readAccounts(ctx);
  const people = users.filter((u) => u.uid >= 1000 && u.uid < 65534);
  const scopes: Scope[] = [];
  if (o.cx || !o.user) scopes.push({ name: 'cx', rules: policy.cx });
  if (o.user) {
    const u = users.find((x) => x.name === o.user);
    if (!u) {
      const near = closest(
        o.user,
        users.map((x) => x.name),
      );
      throw usage(
        `repair permissions: no user '${o.user}' in ${ctx.fs.diskPath('/etc/passwd')}.${near.length ? ` Did you mean: ${near.join(', ')}?` : ''} Users with a home: ${people.map((p) => p.name).join(', ') || '(none)'}`,
        people.length
          ? `${ctx.env.command} repair permissions --user ${people[0]!.name}`
          : `${ctx.env.command} repair permissions --cx`,
      );
    }
    scopes.push({ name: `user ${u.name}`, rules: policy.user, user: u });
  } else if (!o.cx) {
    for (const u of people) {
      if (await ctx.fs.stat(u.home)) scopes.push({ name: `user ${u.name}`, rules: policy.user, user: u });
    }
  }
  return scopes;
}

/** Checks (dry run) or repairs permissions for the scopes. */
export async function repairPermissions(
  ctx: PluginContext<unknown>,
  o: { cx: boolean; user: string | null; policy?: string; confirm?: (r: PermissionsReport) => Promise<boolean> },
): Promise<PermissionsReport> {
  const policy = await loadPolicy(ctx, o.policy);
  const scopes = await scopesFor(ctx, policy, o);
  const { checked, changes } = await planPermissions(ctx, policy, scopes);
  const base = { dryRun: ctx.env.dryRun, scopes: scopes.map((s) => s.name), checked, changes, journal: null };
  if (!changes.length) return { ...base, status: 'ok' };
  if (ctx.env.dryRun) return { ...base, status: 'planned' };
  if (o.confirm && !(await o.confirm({ ...base, status: 'planned' }))) return { ...base, status: 'declined' };
  const lock = await ctx.lock('permissions-repair', { what: 'repair permissions' });
  let journal: string;
  try {
    journal = await applyPermissionChanges(ctx, changes);
  } finally {
    await lock.release();
  }
  await appendJournal(ctx, {
    run: 'repair permissions',
    scopes: base.scopes,
    changes: changes.length,
    undo: `${ctx.env.command} repair permissions --undo ${journal}`,
  });
  return { ...base, status: 'repaired', journal };
}

function format(r: PermissionsReport, command: string): string {
  const lines = [
    `Permissions (${r.scopes.join(', ')}): ${r.checked} path(s) checked${r.dryRun ? ', dry run: nothing is changed' : ''}`,
  ];
  for (const c of r.changes)
    lines.push(`  ${r.dryRun ? 'would fix' : 'fixed'} ${c.path}: ${c.reasons.join(', ')}  [${c.rule}]`);
  if (r.status === 'ok') lines.push('OK: everything matches the policy');
  else if (r.status === 'planned') lines.push(`PLANNED: ${r.changes.length} change(s)`);
  else if (r.status === 'declined')
    lines.push(`DECLINED: not repaired: ${r.changes.length} change(s) planned and not confirmed; nothing changed`);
  else
    lines.push(`REPAIRED: ${r.changes.length} change(s); undo with: ${command} repair permissions --undo ${r.journal}`);
  return `${lines.join('\n')}\n`;
}

/** Shows the plan (each path, what changes, its rule) and asks on a terminal; without one it needs -y. */
function confirmPlan(ctx: PluginContext<unknown>): (r: PermissionsReport) => Promise<boolean> {
  return async (r) => {
    ctx.io.err(
      `repair permissions will change ${r.changes.length} path(s):\n${r.changes.map((c) => `  ${c.path}: ${c.reasons.join(', ')}  [${c.rule}]\n`).join('')}(undoable with: ${ctx.env.command} repair permissions --undo)\n`,
    );
    if (ctx.env.assumeYes) return true;
    if (!ctx.io.interactive) {
      ctx.io.err(
        'not changing anything: no terminal to ask. Run again with -y to apply this plan (or --dry-run to only look).\n',
      );
      return false;
    }
    return ctx.io.confirm('Apply these changes?');
  };
}

async function command(ctx: PluginContext<unknown>, input: CommandInput): Promise<number> {
  const o = input.options;
  if (o.undo !== undefined && o.undo !== false) {
    const ids = await undoableJournals(ctx);
    const asked = typeof o.undo === 'string' ? o.undo : null;
    const id = asked ?? ids[0];
    if (!id)
      throw usage(
        'repair permissions --undo: nothing to undo: repair permissions has made no changes (or they were all undone).',
        `${ctx.env.command} repair permissions --dry-run   (shows what a repair would change)`,
      );
    if (!ids.includes(id)) {
      throw usage(
        `repair permissions --undo: '${id}' is not the id of an undoable permissions change. ${ids.length ? `Undoable changes, newest first: ${ids.join(', ')}` : 'There are none: repair permissions has made no changes (or they were all undone)'}.`,
        ids.length
          ? `${ctx.env.command} repair permissions --undo ${ids[0]}`
          : `${ctx.env.command} repair permissions --dry-run   (shows what a repair would change)`,
      );
    }
    const lock = await ctx.lock('permissions-repair', { what: 'repair permissions --undo' });
    const u = await undoPermissions(ctx, id).finally(() => lock.release());
    await appendJournal(ctx, {
      run: 'repair permissions --undo',
      journal: id,
      restored: u.restored.length,
      left: u.skipped.length,
    });
    if (o.json) ctx.io.out(`${JSON.stringify(u, null, 2)}\n`);
    else {
      for (const x of u.restored)
        ctx.io.out(
          `  ${ctx.env.dryRun ? 'would restore' : 'restored'} ${x.path}: mode ${x.to.mode.toString(8).padStart(4, '0')} owner ${x.to.uid}:${x.to.gid}\n`,
        );
      for (const x of u.skipped) ctx.io.out(`  left ${x.path}: ${x.reason}\n`);
      ctx.io.out(
        `UNDONE: ${u.restored.length} change(s) of ${id}${u.skipped.length ? `, ${u.skipped.length} left alone` : ''}\n`,
      );
    }
    return u.skipped.length ? 1 : 0;
  }
  const r = await repairPermissions(ctx, {
    cx: Boolean(o.cx),
    user: typeof o.user === 'string' ? o.user : null,
    policy: typeof o.policy === 'string' ? o.policy : undefined,
    confirm: confirmPlan(ctx),
  });
  ctx.io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : format(r, ctx.env.command));
  // A dry run that found differences exits 1 (like apt-get check); so does a plan not confirmed.
  return r.status === 'planned' || r.status === 'declined' ? 1 : 0;
}

export default definePlugin({
  name: 'permissions',
  errors: permissionsErrors,
  contributes: [
    defineCommand({
      name: 'repair permissions',
      dryRun: true,
      description:
        "Fix ownership, modes and world-writable files of cx-ops' directories and users' homes (policy-driven, undoable)",
      options: [
        { flags: '--dry-run', description: 'show what differs from the policy; change nothing' },
        { flags: '--cx', description: "only cx-ops' own directories" },
        { flags: '--user <name>', description: "only this user's home (~/.ssh 700, private keys 600, ...)" },
        {
          flags: '--policy <file>',
          description: 'policy file (default: <config_dir>/permissions-policy.yaml, else the built-in one)',
        },
        { flags: '--undo [id]', description: 'put back what a repair changed (the last one by default)' },
        { flags: '--json', description: 'print the report as JSON' },
      ],
      help: 'Shows its plan (each path and what changes) and asks on a terminal; without a terminal it needs -y.\nExit codes: 0 matches the policy or repaired, 1 differences remain (a --dry-run that found some, or a plan not confirmed), 5 another run holds the lock.',
      run: command,
    }),
    defineFix({
      id: 'repair_permissions',
      name: 'Repair permissions',
      description: "Fixes ownership and modes of cx-ops' directories and users' homes from the permissions policy",
      // Undoable, but it changes who may read what: never applied without asking.
      safe: false,
      async run(ctx) {
        const r = await repairPermissions(ctx, { cx: false, user: null });
        return {
          ok: true,
          message:
            r.status === 'ok'
              ? 'permissions match the policy'
              : `${r.dryRun ? 'would fix' : 'fixed'} ${r.changes.length} path(s)${r.journal ? `; undo with: ${ctx.env.command} repair permissions --undo ${r.journal}` : ''}`,
          actions: r.changes.map((c) => `${c.path}: ${c.reasons.join(', ')}`),
        };
      },
    }),
  ],
});
