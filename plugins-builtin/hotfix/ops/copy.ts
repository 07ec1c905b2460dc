/**
 * `copy`: replaces `target` with `src/<source>` (bytes exactly), with `permissions` (user, group,
 * mode) or else the mode and owner the target had. The new file is written beside the target
 * (with its mode and owner) and renamed over it, so the target is never half-written.
 */
import { defineContribution, messageOf, type FsBatchOp, type PluginContext } from 'cx-ops/sdk';
import { HostFiles } from '../host-files.js';
import {
  field,
  operationBatchKind,
  operationKind,
  type ApplyResult,
  type OperationContext,
  type OperationPlan,
  type OperationRequest,
} from '../operation-kind.js';
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

/** What one copy step writes: source, target (real paths) and the new file's mode and owner; its directory made. */
async function prepare(ctx: PluginContext<unknown>, files: HostFiles, req: OperationContext) {
  const o = req.operation;
  const target = ctx.fs.diskPath(field(o, 'target')!);
  const prior = req.prior?.[0];
  const perms = await resolvePermissions(ctx, req.root, o, []);
  // A target that was there has its directory; a new one may need it made.
  if (!prior || prior.kind === 'absent') await files.mkdir(target.slice(0, target.lastIndexOf('/')) || '/');
  const had = prior && prior.kind === 'file' ? prior : null;
  const as = { mode: perms.mode ?? had?.mode ?? 0o644, uid: perms.uid ?? had?.uid, gid: perms.gid ?? had?.gid };
  return { from: `${req.src_dir}/${field(o, 'source')}`, target, as };
}

async function apply(ctx: PluginContext<unknown>, req: OperationContext): Promise<ApplyResult> {
  const files = new HostFiles(ctx);
  const { from, target, as } = await prepare(ctx, files, req);
  // One atomic copy: written beside the target with its final mode and owner, then renamed over
  // it. Unsynced: the engine fsyncs the target and its directory before it journals the step done.
  await files.copyAs(from, target, as, false);
  return { ok: true, detail: `${target} replaced` };
}

/**
 * Many copy steps in one fs.batch: each file written beside its target and renamed over it, as
 * one step does, and synced (files, then each directory once) before the batch answers. The
 * batch stops at its first failure: that step fails with its error, the ones after it are
 * applied one at a time, as if alone.
 */
async function applyMany(ctx: PluginContext<unknown>, reqs: OperationContext[]): Promise<ApplyResult[]> {
  const files = new HostFiles(ctx);
  const ops: FsBatchOp[] = [];
  for (const req of reqs) {
    const { from, target, as } = await prepare(ctx, files, req);
    ops.push({ op: 'copy', from, to: target, preserve: false, ...as });
  }
  const r = await files.batch(ops, true);
  const out: ApplyResult[] = ops
    .slice(0, r.done)
    .map((op) => ({ ok: true, detail: `${(op as { to: string }).to} replaced`, synced: true }));
  if (!r.error) return out;
  out.push({ ok: false, detail: r.error.message });
  for (const req of reqs.slice(r.error.index + 1))
    out.push(await apply(ctx, req).catch((e: unknown) => ({ ok: false, detail: messageOf(e) })));
  return out;
}

export const copyOperation = defineContribution(
  operationKind,
  'copy',
  { description: 'replace a file with src/<source> (backup, permissions user/group/mode)' },
  async (ctx, req) => (req.op === 'plan' ? plan(ctx, req) : apply(ctx, req)),
);

export const copyBatchOperation = defineContribution(
  operationBatchKind,
  'copy',
  { description: 'apply many copy steps in one fs.batch (synced before it answers)' },
  async (ctx, req) => applyMany(ctx, req.requests),
);
