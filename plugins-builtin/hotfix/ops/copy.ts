/**
 * `copy`: replaces `target` with `src/<source>` (bytes exactly), with `permissions` (user, group,
 * mode) or else the mode and owner the target had. The new file is written beside the target and
 * renamed over it, so the target is never half-written.
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import { HostFiles } from '../host-files.js';
import { field, operationKind, type OperationPlan, type OperationRequest } from '../operation-kind.js';
import { resolvePermissions, tempBeside } from './file-helpers.js';

async function plan(ctx: PluginContext<unknown>, req: OperationRequest): Promise<OperationPlan> {
  const o = req.operation;
  const files = new HostFiles(ctx);
  const source = `${req.src_dir}/${field(o, 'source')}`;
  const target = field(o, 'target')!;
  const problems: OperationPlan['problems'] = [];
  const src = await files.lstat(source);
  if (!src || src.type !== 'file')
    problems.push({
      field: 'source',
      detail: `names ${source}, which ${src ? 'is not a regular file' : 'does not exist'}`,
      found: field(o, 'source')!,
    });
  const perms = await resolvePermissions(ctx, req.root, o, problems);
  const mode = perms.mode !== undefined ? ` (mode ${perms.mode.toString(8)})` : '';
  return {
    touches: [target, tempBeside(target, req.step)],
    summary: `replace ${target} with src/${field(o, 'source')}${mode}`,
    preview: [{ path: target, new_from: source }],
    problems,
  };
}

async function apply(ctx: PluginContext<unknown>, req: OperationRequest) {
  const o = req.operation;
  const files = new HostFiles(ctx);
  const target = ctx.fs.diskPath(field(o, 'target')!);
  const tmp = ctx.fs.diskPath(tempBeside(field(o, 'target')!, req.step));
  const prior = req.prior?.[0];
  const perms = await resolvePermissions(ctx, req.root, o, []);
  await files.mkdir(target.slice(0, target.lastIndexOf('/')) || '/');
  if (await files.lstat(tmp)) await files.remove(tmp);
  await files.copyBytes(`${req.src_dir}/${field(o, 'source')}`, tmp);
  const had = prior && prior.kind === 'file' ? prior : null;
  await files.chmod(tmp, perms.mode ?? had?.mode ?? 0o644);
  const uid = perms.uid ?? had?.uid;
  const gid = perms.gid ?? had?.gid;
  await files.lchown(tmp, uid, gid);
  await files.rename(tmp, target);
  return { ok: true, detail: `${target} replaced` };
}

export const copyOperation = defineContribution(
  operationKind,
  'copy',
  { description: 'replace a file with src/<source> (backup, permissions user/group/mode)' },
  async (ctx, req) => (req.op === 'plan' ? plan(ctx, req) : apply(ctx, req)),
);
