/**
 * The plan as a person reads it before saying yes, and `--dry-run`'s unified diffs: a file's
 * change as `diff -u` shows it (run through ctx.exec, read-only), a symlink as old -> new, an
 * execute as its exact command with the plain warning that it cannot be previewed further.
 */
import { type PluginContext } from 'cx-ops/sdk';
import { HostFiles } from './host-files.js';
import type { Preview } from './operation-kind.js';
import type { ModulePlan } from './plan-module.js';

/** One line per operation, in run order. */
export function planLines(p: ModulePlan): string[] {
  const m = p.module;
  const lines = [
    `hotfix ${m.dir} ${m.metadata.schema_version}${m.metadata.description ? `: ${m.metadata.description}` : ''}`,
  ];
  if (m.validation.pre_checks.length)
    lines.push(`  pre_checks: ${m.validation.pre_checks.map((c) => c.description ?? c.command).join('; ')}`);
  for (const s of p.steps)
    lines.push(
      `  ${s.step}. [phase ${s.op.phase}] ${s.op.id} (${s.op.type}${s.op.critical ? ', critical' : ''}): ${s.plan.summary}`,
    );
  for (const d of p.disabled) lines.push(`  -  ${d.id} (${d.type}): skipped (enabled: false)`);
  if (m.validation.post_checks.length)
    lines.push(`  post_checks: ${m.validation.post_checks.map((c) => c.description ?? c.command).join('; ')}`);
  lines.push(
    `  backups and journal: ${p.backupDir}/runs/<run>/ (rollback_on_failure: ${m.config.rollback_on_failure ? 'on' : 'off'})`,
  );
  return lines;
}

/** The unified diff (or description) of one preview. */
export async function previewText(ctx: PluginContext<unknown>, v: Preview): Promise<string> {
  if ('note' in v && !('command' in v)) return `${v.note}\n`;
  if ('command' in v)
    return `would run: ${v.command.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ')}\n  in ${v.cwd}\n  NOTE: ${v.note}\n`;
  const real = ctx.fs.diskPath(v.path);
  const files = new HostFiles(ctx);
  const now = await files.lstat(real);
  if ('symlink_to' in v) {
    const was = !now
      ? 'nothing there'
      : now.type === 'symlink'
        ? `a symlink to ${await files.readlink(real)}`
        : `a ${now.type} (backed up first)`;
    return `symlink ${v.path} -> ${v.symlink_to} (now: ${was})\n`;
  }
  const old = now?.type === 'file' ? real : '/dev/null';
  const args = [
    '-u',
    '--label',
    now ? `a${v.path}` : '/dev/null',
    '--label',
    `b${v.path}`,
    old,
    'new_from' in v ? v.new_from : '-',
  ];
  const r = await ctx.exec.run('diff', args, {
    readOnly: true,
    timeoutMs: 60_000,
    input: 'new_text' in v ? v.new_text : undefined,
    maxOutputBytes: 4 * 1024 * 1024,
  });
  if (r.exitCode === 0) return `${v.path}: unchanged\n`;
  if (r.exitCode === 2)
    return `${v.path}: ${/binary/i.test(r.stdout + r.stderr) ? 'binary file would change' : `cannot diff: ${r.stderr.trim()}`}\n`;
  return r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n\\ No newline at end of file\n`;
}
