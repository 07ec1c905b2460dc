/**
 * `capture`: the seed's StateCapture as an operation, so a one-way step (a migration) can be
 * undone. It changes nothing itself; its undo puts the captured state back.
 * - `database: { type: sqlite, path }`: `VACUUM INTO` (one consistent snapshot while the
 *   database is written to, WAL or not; never a file copy), then `PRAGMA integrity_check` of the
 *   copy; undone with `.restore` (the online backup API) into the live database.
 * - `database: { type: postgresql, host, port, database, user }`: `pg_dump -Fc`; undone with
 *   `pg_restore --clean --if-exists --exit-on-error --single-transaction`.
 * - `services: [names]`: each one's state through the service managers (services plugin);
 *   undone by starting what was running (the manager contract has no stop: a service that was
 *   stopped and runs afterwards is reported, not stopped).
 * - `files: [paths]`: captured like any touched path and restored byte for byte.
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import { askServiceManager, serviceManagerKind } from '../../services/service-manager-contract.js';
import { operationKind, type OperationPlan, type OperationRequest } from '../operation-kind.js';
import type { UndoAction } from '../run-journal.js';

type Database =
  | { type: 'sqlite'; path: string }
  | { type: 'postgresql'; host?: string; port?: number; database: string; user?: string };

/** pg_dump/pg_restore connection arguments. */
export function pgArgs(c: { host?: string; port?: number; user?: string }): string[] {
  return [
    ...(c.host ? ['-h', c.host] : []),
    ...(c.port ? ['-p', String(c.port)] : []),
    ...(c.user ? ['-U', c.user] : []),
    '-w',
  ];
}

/** A path that sqlite3's dot-commands can take in single quotes. */
function sqlQuoted(p: string): string {
  return `'${p.replace(/'/g, "''")}'`;
}

async function plan(ctx: PluginContext<unknown>, req: OperationRequest): Promise<OperationPlan> {
  const o = req.operation;
  const problems: OperationPlan['problems'] = [];
  const undo: UndoAction[] = [];
  const parts: string[] = [];
  const db = o.database as Database | undefined;
  if (db?.type === 'sqlite') {
    const real = ctx.fs.diskPath(db.path);
    if ((await ctx.localFs.stat(real))?.type !== 'file')
      problems.push({ field: 'database.path', detail: `${real} is not a SQLite database file`, found: db.path });
    undo.push({ do: 'sqlite_restore', backup: `captures/${o.id}.sqlite`, path: real });
    parts.push(`back up SQLite ${db.path} (VACUUM INTO, then PRAGMA integrity_check)`);
  } else if (db?.type === 'postgresql') {
    const conn = {
      ...(db.host ? { host: db.host } : {}),
      ...(db.port ? { port: db.port } : {}),
      ...(db.user ? { user: db.user } : {}),
      database: db.database,
    };
    undo.push({ do: 'pg_restore', dump: `captures/${o.id}.dump`, conn });
    parts.push(`pg_dump -Fc PostgreSQL database ${db.database}${db.host ? ` on ${db.host}:${db.port ?? 5432}` : ''}`);
  }
  const services = (o.services as string[] | undefined) ?? [];
  if (services.length) {
    undo.push({ do: 'services', file: `captures/${o.id}.services.json` });
    parts.push(`record the state of ${services.join(', ')}`);
  }
  const files = (o.files as string[] | undefined) ?? [];
  if (files.length) {
    undo.unshift({ do: 'restore' });
    parts.push(`capture ${files.join(', ')}`);
  }
  if (!parts.length)
    problems.push({ field: 'database', detail: 'a capture needs at least one of database, services or files' });
  return {
    touches: files,
    summary: parts.join('; '),
    preview: [{ note: `capture: ${parts.join('; ')} (changes nothing)` }],
    undo,
    problems,
  };
}

async function run(ctx: PluginContext<unknown>, cmd: string, args: string[]): Promise<string> {
  const r = await ctx.exec.run(cmd, args, { timeoutMs: 3_600_000 });
  if (r.exitCode !== 0)
    throw new Error(`${cmd} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

/** Every service's state through the first service manager that is available and knows it. */
export async function serviceStates(
  ctx: PluginContext<unknown>,
  names: string[],
): Promise<Array<{ name: string; manager: string; state: string }>> {
  const managers: string[] = [];
  for (const m of await ctx.registry.list(serviceManagerKind)) {
    const d = await askServiceManager(ctx, m.id, { op: 'detect' });
    if (d?.available) managers.push(m.id);
  }
  const out = [];
  for (const name of names) {
    let found: { name: string; manager: string; state: string } | null = null;
    for (const m of managers) {
      const s = await askServiceManager(ctx, m, { op: 'status', name });
      if (s.state !== 'unknown') {
        found = { name, manager: m, state: s.state };
        break;
      }
    }
    out.push(found ?? { name, manager: '', state: 'unknown' });
  }
  return out;
}

async function apply(ctx: PluginContext<unknown>, req: OperationRequest) {
  const o = req.operation;
  const dir = `${req.run_dir}/captures`;
  await ctx.localFs.mkdir(dir, { mode: 0o700 });
  const done: string[] = [];
  const db = o.database as Database | undefined;
  if (db?.type === 'sqlite') {
    const real = ctx.fs.diskPath(db.path);
    const part = `${dir}/.${o.id}.sqlite.partial`;
    if (await ctx.localFs.stat(part)) await ctx.localFs.remove(part);
    // VACUUM INTO reads one consistent snapshot in a single read transaction: a live writer (WAL)
    // goes on, where the backup API's step loop would restart after every write and never end.
    await run(ctx, 'sqlite3', [real, `VACUUM INTO ${sqlQuoted(part)};`]);
    const check = (await run(ctx, 'sqlite3', [part, 'PRAGMA integrity_check;'])).trim();
    if (check !== 'ok') throw new Error(`the backup of ${real} fails PRAGMA integrity_check: ${check}`);
    await ctx.localFs.rename(part, `${dir}/${o.id}.sqlite`);
    done.push(`SQLite ${real} backed up (integrity_check ok)`);
  } else if (db?.type === 'postgresql') {
    const part = `${dir}/.${o.id}.dump.partial`;
    await run(ctx, 'pg_dump', ['-Fc', ...pgArgs(db), '-f', part, db.database]);
    await ctx.localFs.rename(part, `${dir}/${o.id}.dump`);
    done.push(`PostgreSQL ${db.database} dumped (pg_dump -Fc)`);
  }
  const services = (o.services as string[] | undefined) ?? [];
  if (services.length) {
    const states = await serviceStates(ctx, services);
    await ctx.localFs.writeFile(`${dir}/${o.id}.services.json`, `${JSON.stringify(states)}\n`, { mode: 0o600 });
    done.push(`services: ${states.map((s) => `${s.name} ${s.state}`).join(', ')}`);
  }
  return { ok: true, detail: done.join('; ') || 'files captured' };
}

export const captureOperation = defineContribution(
  operationKind,
  'capture',
  {
    description:
      'capture state for the rollback: a database (SQLite online backup, pg_dump -Fc), services (active state), files',
  },
  async (ctx, req) => (req.op === 'plan' ? plan(ctx, req) : apply(ctx, req)),
);
