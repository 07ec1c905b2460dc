/**
 * One read of each package list, shared by everything that needs it: security_updates' scan for
 * newer versions of installed packages (checks-packages/apt-upgradable.ts) and the apt
 * diagnosis' look for lists apt could not parse (list-sanity.ts, behind repair apt and
 * apt_status). A list is decompressed once by apt's own `apt-helper cat-file` (every format apt
 * stores, natively, in another process) and cut by one grep, run with LC_ALL=C (bytes, not
 * UTF-8 characters: ten times faster with bracket expressions), to the four fields the scan
 * reads and the lines apt's parser would refuse ("Unable to parse package file").
 *
 * A list's read is kept per file, keyed on its size and mtime: in memory for a few seconds (both
 * checks of a doctor run or a daemon cycle share it; the daemon does not carry megabytes of list
 * text between cycles), and what each reader takes from it (the scan: the fields; the
 * diagnosis: the verdict) in that reader's cache directory, so the next run after `apt update`
 * changed only some lists decompresses only those.
 */
import type { ExecResult, PluginContext } from 'cx-ops/sdk';

/** The helper apt decompresses its own lists with. */
export const APT_HELPER = '/usr/lib/apt/apt-helper';

/** The fields the upgradable scan reads. */
const FIELDS = ['Package', 'Version', 'Architecture', 'Phased-Update-Percentage'];

/**
 * `sh -c LIST_PASS_SCRIPT <apt-helper> <list>`: the list decompressed, cut to the field lines and
 * the bad lines (neither `Field: value`, a continuation nor blank). A failure of the helper is a
 * last line `cx-ops-exit: N` (sh has no pipefail).
 */
export const LIST_PASS_SCRIPT = `{ "$0" cat-file "$1" || echo "cx-ops-exit: $?"; } | LC_ALL=C grep -E '^(${FIELDS.join('|')}): |^cx-ops-exit: |^[:#]|^[^[:space:]:#][^:[:space:]]*([[:space:]]|$)'`;

/** One list, read. */
export type ListPass =
  | {
      ok: true;
      /** The field lines in the list's order (stanzas start at "Package: "), and any bad lines. */
      fields: string;
      /** The first line apt's parser would refuse, or null when the list parses. */
      bad: string | null;
    }
  | { ok: false; error: string };

const BAD_LINE = new RegExp(`^(?!(?:${FIELDS.join('|')}): ).+`, 'm');

/** Reads the output of LIST_PASS_SCRIPT (exported for tests). */
export function passOf(r: Pick<ExecResult, 'exitCode' | 'stdout' | 'stderr' | 'truncated'>): ListPass {
  const failed = /(?:^|\n)cx-ops-exit: (\d+)\n?$/.exec(r.stdout);
  if (failed)
    return {
      ok: false,
      error: `apt-helper cat-file failed (exit ${failed[1]})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''}`,
    };
  // grep: 1 = no line matched (an empty list).
  if (r.exitCode !== 0 && r.exitCode !== 1)
    return { ok: false, error: `the list was not read (exit ${r.exitCode}): ${r.stderr.trim() || 'no message'}` };
  const bad = BAD_LINE.exec(r.stdout)?.[0] ?? null;
  if (r.truncated)
    return { ok: false, error: `the list is too large to read${bad === null ? '' : `; its first bad line: ${bad}`}` };
  return { ok: true, fields: r.stdout, bad };
}

/** How long a finished read stays in memory for the other reader of the same run or cycle. */
const HELD_MS = 10_000;

/** The read of each list in this process (the latest only: a list changed on disk replaces its entry). */
const reads = new Map<string, { key: string; pass: Promise<ListPass> }>();

/** Decompresses and cuts one list, once per size and mtime in this process. */
function readList(ctx: PluginContext<unknown>, file: string, key: string): Promise<ListPass> {
  const held = reads.get(file);
  if (held?.key === key) return held.pass;
  const pass = ctx.exec
    .run('sh', ['-c', LIST_PASS_SCRIPT, APT_HELPER, file], {
      timeoutMs: 60_000,
      readOnly: true,
      maxOutputBytes: 64 * 1024 * 1024,
      env: { LC_ALL: 'C' },
    })
    .then(passOf);
  reads.set(file, { key, pass });
  // A read that failed (a time limit, a list being replaced) is not kept; one that worked only
  // for HELD_MS (the readers' own caches on disk serve later runs).
  const drop = () => {
    if (reads.get(file)?.pass === pass) reads.delete(file);
  };
  pass.then(
    (p) => (p.ok ? setTimeout(drop, HELD_MS).unref() : drop()),
    () => drop(),
  );
  return pass;
}

/** What a reader keeps on disk of a list's pass, under the key it was read with. */
interface Stored<T> {
  file: string;
  key: string;
  value: T;
}

/** Beyond this the cache file would be over what readFile takes (8 MiB): not written. */
const MAX_STORED = 7 * 1024 * 1024;

/**
 * What `reader` takes from one list (`file`: a path on this machine, as for ctx.localFs): from
 * the caller's cache directory while the list keeps its size and mtime, else from the list's
 * shared read. A value whose pass failed is not stored.
 */
async function kept<T>(
  ctx: PluginContext<unknown>,
  file: string,
  reader: { name: string; of: (p: ListPass) => T },
): Promise<T> {
  const st = await ctx.localFs.stat(file);
  if (!st) return reader.of({ ok: false, error: 'the list is gone' });
  const key = `${st.size}:${st.mtimeMs}`;
  const cache = `${ctx.env.cacheDir}/lists/${file.replace(/^.*\//, '')}.${reader.name}.json`;
  try {
    if (await ctx.localFs.stat(cache)) {
      const stored = JSON.parse(await ctx.localFs.readFile(cache)) as Stored<T>;
      if (stored.file === file && stored.key === key) return stored.value;
    }
  } catch {
    /* an unreadable cache: the list is read */
  }
  const pass = await readList(ctx, file, key);
  const value = reader.of(pass);
  const text = pass.ok ? JSON.stringify({ file, key, value } satisfies Stored<T>) : '';
  if (text && text.length < MAX_STORED) {
    try {
      await ctx.localFs.mkdir(`${ctx.env.cacheDir}/lists`);
      await ctx.localFs.writeFile(cache, text);
    } catch (e) {
      ctx.log.debug(`could not write the list cache ${cache}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return value;
}

/** The pass over one list for security_updates' scan (the field lines). */
export function listPass(ctx: PluginContext<unknown>, file: string): Promise<ListPass> {
  return kept(ctx, file, { name: 'fields', of: (p) => p });
}

/** Why apt could not parse one list (its first bad line, or why it was not read); null when it parses. */
export function listVerdict(ctx: PluginContext<unknown>, file: string): Promise<string | null> {
  return kept(ctx, file, { name: 'verdict', of: (p) => (p.ok ? p.bad : p.error) });
}
