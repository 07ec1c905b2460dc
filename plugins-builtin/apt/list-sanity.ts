/**
 * A read of the package lists that finds what makes apt's cache build fail ("Unable to parse
 * package file"): a list apt's own `apt-helper cat-file` cannot decompress, or a line that is
 * neither `Field: value`, a continuation nor a blank line. Each list is read by the shared pass
 * (list-pass.ts: the read security_updates scans too). It decides whether `apt-get check` must
 * run, as dpkg-deps.ts does.
 */
import { mapLimit, type PluginContext } from 'cx-ops/sdk';
import { APT_HELPER, listVerdict } from './list-pass.js';

/** The index files apt's cache is built from (any compression). */
const INDEX = /_(Packages|Sources|Translation-[\w@.-]+)(\.\w+)?$/;

/** The lists that would not parse, each with its first bad line; empty when all read cleanly. */
export async function corruptLists(ctx: PluginContext<unknown>, listsDir: string): Promise<string[]> {
  if (!(await ctx.localFs.stat(listsDir))) return [];
  const lists = (await ctx.localFs.readDir(listsDir))
    .filter((e) => e.type === 'file' && INDEX.test(e.name))
    .map((e) => `${listsDir}/${e.name}`)
    .sort();
  if (!lists.length) return [];
  if (!(await ctx.localFs.stat(APT_HELPER))) return [`${APT_HELPER} is not installed: the lists were not read`];
  const verdicts = await mapLimit(lists, 2, (list) => listVerdict(ctx, list));
  return lists.flatMap((list, i) => (verdicts[i] === null ? [] : [`${list}: ${verdicts[i]}`.slice(0, 300)]));
}
