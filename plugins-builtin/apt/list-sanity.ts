/**
 * A read of the package lists that finds what makes apt's cache build fail ("Unable to parse
 * package file"): a list apt's own `apt-helper cat-file` cannot decompress, or a line that is
 * neither `Field: value`, a continuation nor a blank line. One `sh` for every list; each list
 * stops at its first bad line. It decides whether `apt-get check` must run, as dpkg-deps.ts does.
 */
import type { PluginContext } from 'cx-ops/sdk';

const APT_HELPER = '/usr/lib/apt/apt-helper';

/** The index files apt's cache is built from (any compression). */
const INDEX = /_(Packages|Sources|Translation-[\w@.-]+)(\.\w+)?$/;

/** `sh -c LIST_SANITY_SCRIPT sh <apt-helper> <list>...`: `<list>\t<first bad line>` per bad list. */
export const LIST_SANITY_SCRIPT = `h=$1; shift
for f in "$@"; do
  bad=$( { "$h" cat-file "$f" 2>&1 || echo "apt-helper cat-file failed (exit $?)"; } | grep -v -m1 -E '^([^[:space:]:#][^:[:space:]]*:|[[:space:]]|$)')
  [ -n "$bad" ] && printf '%s\\t%s\\n' "$f" "$bad"
done
exit 0`;

/** The lists that would not parse, each with its first bad line; empty when all read cleanly. */
export async function corruptLists(ctx: PluginContext<unknown>, listsDir: string): Promise<string[]> {
  if (!(await ctx.localFs.stat(listsDir))) return [];
  const lists = (await ctx.localFs.readDir(listsDir))
    .filter((e) => e.type === 'file' && INDEX.test(e.name))
    .map((e) => `${listsDir}/${e.name}`);
  if (!lists.length) return [];
  if (!(await ctx.localFs.stat(APT_HELPER))) return [`${APT_HELPER} is not installed: the lists were not read`];
  const r = await ctx.exec.run('sh', ['-c', LIST_SANITY_SCRIPT, 'sh', APT_HELPER, ...lists], {
    timeoutMs: 120_000,
    readOnly: true,
    env: { LC_ALL: 'C' },
  });
  if (r.exitCode !== 0) return [`the list check failed (exit ${r.exitCode}): ${r.stderr.trim()}`];
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace('\t', ': ').slice(0, 300));
}
