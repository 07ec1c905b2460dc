/**
 * capturePath and restorePath for many paths at once, through fs.batch: a thousand files are
 * lstat'ed in one call, backed up (a hard link, else a copy) and hashed in a second, and put
 * back (link of the backup, rename over the path) in one and verified (hash and owner) in
 * another, instead of four to six guarded calls per file. What a batch cannot do the way the
 * common case goes (a path that is absent or a symlink, a link refused, a temp file left by a
 * cut-short restore, a restored file that differs) goes through the single-path functions, so
 * the outcome is theirs exactly.
 */
import { messageOf, type FsBatchOp, type FsBatchResult } from 'cx-ops/sdk';
import type { HostFiles } from './host-files.js';
import { capturePath, restorePath, restoreTemp, TargetTypeError, type Captured } from './prior-state.js';
import type { PathState } from './run-journal.js';

/** One path to capture: its backup name in the run directory, and whether a hard link may keep it. */
export interface CaptureItem {
  path: string;
  backup: string;
  link: boolean;
}

/**
 * Runs `ops` through fs.batch from the start; where one fails, `failed(index)` handles it and
 * says where to go on (the index of the next op to run). Resolves with each op's result.
 */
async function batchWith(
  files: HostFiles,
  ops: FsBatchOp[],
  sync: boolean,
  failed: (index: number, error: NonNullable<FsBatchResult['error']>) => Promise<number>,
): Promise<Array<FsBatchResult['results'][number] | undefined>> {
  const out: Array<FsBatchResult['results'][number] | undefined> = new Array(ops.length);
  for (let start = 0; start < ops.length;) {
    const r = await files.batch(ops.slice(start), sync);
    r.results.forEach((x, k) => (out[start + k] = x));
    if (!r.error) break;
    start = await failed(start + r.error.index, r.error);
  }
  return out;
}

/**
 * capturePath for each item (same states, same backups). The backups a batch makes are synced
 * (files, their directory); what `unsynced` names (paths captured alone) the caller syncs, with
 * the backup directory, before it journals.
 */
export async function captureMany(
  files: HostFiles,
  items: CaptureItem[],
  runDir: string,
  stop: string,
  dirs: Set<string>,
): Promise<Captured[]> {
  if (!items.length) return [];
  const seen = await files.batch(
    items.map((i) => ({ op: 'lstat' as const, path: i.path })),
    false,
  );
  if (seen.error) throw new Error(seen.error.message);
  const out: Captured[] = new Array(items.length);
  const ops: FsBatchOp[] = [];
  const of: number[] = [];
  for (const [k, item] of items.entries()) {
    const info = seen.results[k]!.stat;
    if (!info || info.type === 'symlink') {
      // Absent (the directories to create are worked out) or a symlink: as one path.
      out[k] = await capturePath(files, item.path, runDir, item.backup, stop, item.link, dirs);
      continue;
    }
    if (info.type !== 'file')
      throw new TargetTypeError(
        `${item.path} is a ${info.type === 'dir' ? 'directory' : 'device, FIFO or socket'}; a hotfix operation replaces files and symlinks only`,
      );
    const to = `${runDir}/${item.backup}`;
    ops.push(
      item.link && info.nlink === 1
        ? { op: 'link', from: item.path, to, hash: true }
        : { op: 'copy', from: item.path, to, hash: true },
    );
    of.push(k);
  }
  // Synced as they are made (a copy before its rename, the directory once): durable before the intents.
  const results = await batchWith(files, ops, true, async (j, error) => {
    const op = ops[j]!;
    // A link refused (another file system, or not permitted): copied instead, as capturePath does.
    if (op.op !== 'link') throw new Error(error.message);
    ops[j] = { op: 'copy', from: op.from, to: op.to, hash: true };
    return j;
  });
  for (const [j, k] of of.entries()) {
    const info = seen.results[k]!.stat!;
    const state: PathState = {
      path: items[k]!.path,
      kind: 'file',
      mode: info.mode,
      uid: info.uid,
      gid: info.gid,
      size: info.size,
      sha256: results[j]!.sha256!,
      backup: items[k]!.backup,
    };
    out[k] = { state, unsynced: [] };
  }
  return out;
}

/**
 * restorePath for each state (same outcome: what still differs, or the error), with `unsynced`
 * collecting what the caller fsyncs. Files whose backup links back in place are restored and
 * verified in two batches; everything else, and any file a batch could not restore exactly,
 * through restorePath.
 */
export async function restoreMany(
  files: HostFiles,
  states: PathState[],
  runDir: string,
  unsynced: Set<string>,
): Promise<Array<string[] | Error>> {
  const out: Array<string[] | Error> = new Array(states.length);
  const single = async (k: number) => {
    out[k] = await restorePath(files, states[k]!, runDir, unsynced).catch((e: unknown) => new Error(messageOf(e)));
  };
  const linked: number[] = [];
  for (const [k, s] of states.entries()) {
    if (s.kind !== 'file') await single(k);
    else linked.push(k);
  }
  const ops: FsBatchOp[] = [];
  for (const k of linked) {
    const s = states[k]!;
    // A run killed inside a write of this path left the writer's temp file beside it.
    await files.sweepWriteTemps(s.path);
    unsynced.add(s.path.slice(0, s.path.lastIndexOf('/')) || '/');
    const tmp = restoreTemp(s.path);
    ops.push({ op: 'link', from: `${runDir}/${s.backup}`, to: tmp }, { op: 'rename', from: tmp, to: s.path });
  }
  const redo = new Set<number>();
  // Two ops per file: where one fails, that file is restored alone and the batch goes on after it.
  await batchWith(files, ops, false, async (j) => {
    const pair = j >> 1;
    redo.add(pair);
    await single(linked[pair]!);
    return (pair + 1) * 2;
  });
  const check = linked.filter((_, pair) => !redo.has(pair));
  const verified = await batchWith(
    files,
    check.map((k) => ({ op: 'hash' as const, path: states[k]!.path })),
    false,
    async (j) => {
      await single(check[j]!);
      return j + 1;
    },
  );
  for (const [j, k] of check.entries()) {
    const got = verified[j];
    if (!got) continue; // restored alone above
    const s = states[k]!;
    const st = got.stat!;
    if (st.nlink > 2 || st.mode !== s.mode || st.uid !== s.uid || st.gid !== s.gid || st.size !== s.size)
      await single(k); // a link left beside it, or mode/owner to set: as one path
    else out[k] = got.sha256 === s.sha256 ? [] : [`${s.path}: content differs (sha256)`];
  }
  return out;
}
