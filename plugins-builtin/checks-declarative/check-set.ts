/**
 * The `declarative` check set: doctor asks it for the checks of the files (its config's
 * `declarative.files` and doctor's --checks-file) and runs each one through it. A file that
 * cannot be read or does not validate throws a positioned CxError; doctor reports it as ERROR.
 */
import { CxError, type CheckOutcome, type PluginContext } from 'cx-ops/sdk';
import { evaluate } from './assertions.js';
import type { CheckSetEntry, CheckSetRequest } from './check-set-kind.js';
import { parseChecksFile, type DeclaredCheck } from './checks-file.js';

export interface DeclarativeConfig {
  files: string[];
}

export type { CheckSetRequest } from './check-set-kind.js';

/** Reads one checks file: a path on this machine (config paths are host paths, put under --root by the caller). */
export async function readChecksFile(ctx: PluginContext<unknown>, file: string): Promise<DeclaredCheck[]> {
  if (!(await ctx.localFs.stat(file)))
    throw new CxError('CX_ERR_CHECKS_FILE_INVALID', { file, field: 'file', detail: 'does not exist' });
  return parseChecksFile(await ctx.localFs.readFile(file), file);
}

async function allChecks(ctx: PluginContext<DeclarativeConfig>, given: string[]): Promise<DeclaredCheck[]> {
  const files = [...(ctx.config.files ?? []).map((f) => ctx.fs.diskPath(f)), ...given];
  const out: DeclaredCheck[] = [];
  const where = new Map<string, string>();
  for (const f of [...new Set(files)]) {
    for (const c of await readChecksFile(ctx, f)) {
      if (where.has(c.id))
        throw new CxError('CX_ERR_CHECKS_FILE_INVALID', {
          file: c.at.replace(/:[^:]*$/, ''),
          line: Number(c.at.split(':').pop()) || undefined,
          field: 'id',
          detail: `'${c.id}' is also declared at ${where.get(c.id)}; give each check its own id`,
        });
      where.set(c.id, c.at);
      out.push(c);
    }
  }
  return out;
}

/** The check set's entry point. */
export async function runCheckSet(
  ctx: PluginContext<DeclarativeConfig>,
  req: CheckSetRequest,
): Promise<CheckSetEntry[] | CheckOutcome> {
  const checks = await allChecks(ctx, (req.files ?? []).map(String));
  if (req.op === 'list') {
    return checks.map((c) => ({
      id: c.id,
      name: c.name,
      description: c.description,
      category: c.category,
      severity: c.severity,
      fix_id: null,
      depends_on: [],
      declared_at: c.at,
    }));
  }
  const c = checks.find((x) => x.id === req.id);
  if (!c)
    throw new Error(
      `no declared check '${req.id}' in ${[...(ctx.config.files ?? []), ...(req.files ?? [])].join(', ') || 'any checks file'}`,
    );
  return evaluate(ctx, c);
}
