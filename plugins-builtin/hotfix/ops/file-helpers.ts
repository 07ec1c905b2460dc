/** What the file operation types share: the temp name beside a target, permissions. */
import { type PluginContext } from 'cx-ops/sdk';
import { accountId } from '../host-files.js';
import type { OperationBase } from '../module-types.js';
import type { PlanProblem } from '../operation-kind.js';

/** The temp file a step builds beside `target` before renaming it over (a host path). */
export function tempBeside(target: string, step: number): string {
  const i = target.lastIndexOf('/');
  return `${target.slice(0, i)}/.${target.slice(i + 1)}.hotfix-${step}.tmp`;
}

/** `permissions` with names resolved through <root>/etc/passwd and group; problems for unknown ones. */
export async function resolvePermissions(
  ctx: PluginContext<unknown>,
  root: string,
  o: OperationBase,
  problems: PlanProblem[],
): Promise<{ uid?: number; gid?: number; mode?: number }> {
  const p = (o.permissions ?? {}) as { user?: string; group?: string; mode?: string };
  const out: { uid?: number; gid?: number; mode?: number } = {};
  if (p.mode) out.mode = parseInt(p.mode, 8);
  if (p.user) {
    const id = await accountId(ctx, ctx.fs.diskPath('/etc/passwd'), p.user);
    if (id === null)
      problems.push({
        field: 'permissions.user',
        detail: `names a user that ${ctx.fs.diskPath('/etc/passwd')} does not have`,
        found: p.user,
      });
    else out.uid = id;
  }
  if (p.group) {
    const id = await accountId(ctx, ctx.fs.diskPath('/etc/group'), p.group);
    if (id === null)
      problems.push({
        field: 'permissions.group',
        detail: `names a group that ${ctx.fs.diskPath('/etc/group')} does not have`,
        found: p.group,
      });
    else out.gid = id;
  }
  return out;
}
