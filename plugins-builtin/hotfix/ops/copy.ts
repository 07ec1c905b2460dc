/**
 * `copy`: replaces `target` with `src/<source>` (bytes exactly), with `permissions` (user, group,
 * mode) or else the mode and owner the target had. The new file is written beside the target
 * (with its mode and owner) and renamed over it, so the target is never half-written.
 */
import { defineContribution, type PluginContext } from 'cx-ops/sdk';
import { HostFiles } from '../host-files.js';
import { field, operationKind, type OperationPlan, type OperationRequest } from '../operation-kind.js';
import { resolvePermissions } from './file-helpers.js';

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
    touches: [target],
    summary: `replace ${target} with src/${field(o, 'source')}${mode}`,
    preview: [{ path: target, new_from: source }],
    replaces: true,
    problems,
  };
}

async function apply(ctx: PluginContext<unknown>, req: OperationRequest) {
  const o = req.operation;
  const files = new HostFiles(ctx);
  const target = ctx.fs.diskPath(field(o, 'target')!);
  const prior = req.prior?.[0];
  const perms = await resolvePermissions(ctx, req.root, o, []);
  // A target that was there has its directory; a new one may need it made.
  if (!prior || prior.kind === 'absent') await files.mkdir(target.slice(0, target.lastIndexOf('/')) || '/');
  const had = prior && prior.kind === 'file' ? prior : null;
  // One atomic copy: written beside the target with its final mode and owner, then renamed over
  // it. Unsynced: the engine fsyncs the target and its directory before it journals the step done.
  const as = { mode: perms.mode ?? had?.mode ?? 0o644, uid: perms.uid ?? had?.uid, gid: perms.gid ?? had?.gid };
  await files.copyAs(`${req.src_dir}/${field(o, 'source')}`, target, as, false);
  return { ok: true, detail: `${target} replaced` };
}

export const copyOperation = defineContribution(
  operationKind,
  'copy',
  { description: 'replace a file with src/<source> (backup, permissions user/group/mode)' },
  async (ctx, req) => (req.op === 'plan' ? plan(ctx, req) : apply(ctx, req)),
);
