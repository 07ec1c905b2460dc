/**
 * `symlink`: makes `target` a symbolic link to `source` (an absolute host path, written as it
 * is, or a file in src/). What was there (a file, another link, nothing) is backed up. With
 * `permissions`, user/group set the link's own owner and mode the file it points to (an absolute
 * source only: a link into src/ would change the module itself).
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import { HostFiles } from '../host-files.js';
import { field, operationKind, type OperationPlan, type OperationRequest } from '../operation-kind.js';
import { resolvePermissions, tempBeside } from './file-helpers.js';

function linkText(req: OperationRequest): string {
  const s = field(req.operation, 'source')!;
  return s.startsWith('/') ? s : `${req.src_dir}/${s}`;
}

async function plan(ctx: PluginContext<unknown>, req: OperationRequest): Promise<OperationPlan> {
  const o = req.operation;
  const files = new HostFiles(ctx);
  const target = field(o, 'target')!;
  const source = field(o, 'source')!;
  const problems: OperationPlan['problems'] = [];
  const pointed = source.startsWith('/') ? ctx.fs.diskPath(source) : `${req.src_dir}/${source}`;
  if (!(await files.lstat(pointed)))
    problems.push({
      field: 'source',
      detail: `names ${pointed}, which does not exist (the link would dangle)`,
      found: source,
    });
  const perms = await resolvePermissions(ctx, req.root, o, problems);
  if (perms.mode !== undefined && !source.startsWith('/'))
    problems.push({
      field: 'permissions.mode',
      detail:
        "would change the mode of the module's own src/ file; set that file's mode in src/ instead, or link to an absolute host path",
      found: (o.permissions as { mode: string }).mode,
    });
  const touches = [
    target,
    tempBeside(target, req.step),
    ...(perms.mode !== undefined && source.startsWith('/') ? [source] : []),
  ];
  return {
    touches,
    summary: `link ${target} -> ${linkText(req)}${perms.mode !== undefined ? ` (mode ${perms.mode.toString(8)} on ${source})` : ''}`,
    preview: [{ path: target, symlink_to: linkText(req) }],
    // With a mode, the file it points to is changed in place (chmod): its backup must be a copy.
    replaces: perms.mode === undefined,
    problems,
  };
}

async function apply(ctx: PluginContext<unknown>, req: OperationRequest) {
  const o = req.operation;
  const files = new HostFiles(ctx);
  const target = ctx.fs.diskPath(field(o, 'target')!);
  const tmp = ctx.fs.diskPath(tempBeside(field(o, 'target')!, req.step));
  const perms = await resolvePermissions(ctx, req.root, o, []);
  await files.mkdir(target.slice(0, target.lastIndexOf('/')) || '/');
  if (await files.lstat(tmp)) await files.remove(tmp);
  await files.symlink(linkText(req), tmp);
  await files.lchown(tmp, perms.uid, perms.gid);
  await files.rename(tmp, target);
  const source = field(o, 'source')!;
  if (perms.mode !== undefined && source.startsWith('/')) await files.chmod(ctx.fs.diskPath(source), perms.mode);
  return { ok: true, detail: `${target} -> ${linkText(req)}` };
}

export const symlinkOperation = defineContribution(
  operationKind,
  'symlink',
  { description: 'make a file a symbolic link (what was there is backed up; permissions)' },
  async (ctx, req) => (req.op === 'plan' ? plan(ctx, req) : apply(ctx, req)),
);
