/**
 * What listing runs needs of each run (its state, module, version, start, steps to undo) without
 * parsing its journal every time: `<stateDir>/runs-cache.json` keeps each run's head beside the
 * size and mtime its journal had. A journal is only ever appended to, so a journal whose size and
 * mtime are still those is unchanged: one lstat instead of a parse. Any other journal (a new run,
 * one cx-ops-rollback rolled back, one this process wrote to) is read again and its head kept.
 * The journal stays the truth: a cache that is missing, damaged or stale only costs the reads.
 */
import type { PluginContext } from 'cx-ops/sdk';
import { newestFirst, readRun, RUN_ID_PATTERN, type RunSummary } from './run-journal.js';

/** A run's summary without its records (read them with readRun). */
export type RunHead = Omit<RunSummary, 'records'> & {
  /** The journal's size when the head was taken. */
  journal_bytes: number;
};

interface Cached {
  bytes: number;
  mtimeMs: number;
  head: RunHead;
}

const cacheFile = (ctx: PluginContext<unknown>) => `${ctx.env.stateDir}/runs-cache.json`;

/** Whether `v` has the fields a cached head is used for (anything else is read again). */
function isCached(v: unknown): v is Cached {
  const c = v as Cached | null;
  const h = c?.head;
  return (
    typeof c?.bytes === 'number' &&
    typeof c.mtimeMs === 'number' &&
    typeof h?.run === 'string' &&
    typeof h.dir === 'string' &&
    typeof h.journal === 'string' &&
    typeof h.state === 'string' &&
    typeof h.module_dir === 'string' &&
    typeof h.schema_version === 'string' &&
    typeof h.started === 'string' &&
    typeof h.journal_bytes === 'number' &&
    Array.isArray(h.to_undo) &&
    h.to_undo.every((n) => typeof n === 'number')
  );
}

/** The head of a run read whole. */
export function headOf(r: RunSummary, bytes: number): RunHead {
  const { records: _records, ...head } = r;
  return { ...head, journal_bytes: bytes };
}

/** The run heads of one command: loaded once, saved when a head was read again. */
export class RunHeads {
  private changed = false;

  private constructor(
    private readonly ctx: PluginContext<unknown>,
    private readonly known: Map<string, Cached>,
  ) {}

  /** Loads the cache (missing or damaged: empty). */
  static async load(ctx: PluginContext<unknown>): Promise<RunHeads> {
    const known = new Map<string, Cached>();
    try {
      if (await ctx.localFs.lstat(cacheFile(ctx))) {
        const runs = (JSON.parse(await ctx.localFs.readFile(cacheFile(ctx))) as { runs?: unknown }).runs;
        if (runs && typeof runs === 'object')
          for (const [dir, c] of Object.entries(runs)) if (isCached(c) && c.head.dir === dir) known.set(dir, c);
      }
    } catch {
      // damaged or unreadable: every journal is read
    }
    return new RunHeads(ctx, known);
  }

  /** The head of the run in `dir` (null: no journal there), from the cache while its journal is unchanged. */
  async head(dir: string): Promise<RunHead | null> {
    const st = await this.ctx.localFs.lstat(`${dir}/journal.jsonl`);
    if (!st || st.type !== 'file') {
      if (this.known.delete(dir)) this.changed = true;
      return null;
    }
    const c = this.known.get(dir);
    if (c && c.bytes === st.size && c.mtimeMs === st.mtimeMs) return c.head;
    const r = await readRun(this.ctx, dir);
    if (!r) return null;
    const head = headOf(r, st.size);
    this.known.set(dir, { bytes: st.size, mtimeMs: st.mtimeMs, head });
    this.changed = true;
    return head;
  }

  /** Takes the head of a run just read whole (its journal not read again). */
  async took(r: RunSummary): Promise<void> {
    const st = await this.ctx.localFs.lstat(r.journal);
    if (!st || st.type !== 'file') return;
    this.known.set(r.dir, { bytes: st.size, mtimeMs: st.mtimeMs, head: headOf(r, st.size) });
    this.changed = true;
  }

  /** Writes the cache when a head changed (not in a dry run: nothing is written then). */
  async save(): Promise<void> {
    if (!this.changed || this.ctx.env.dryRun) return;
    this.changed = false;
    await this.ctx.localFs.mkdir(this.ctx.env.stateDir, { mode: 0o700 });
    await this.ctx.localFs.writeFile(
      cacheFile(this.ctx),
      `${JSON.stringify({ runs: Object.fromEntries(this.known) })}\n`,
      {
        mode: 0o600,
      },
    );
  }
}

/** Every run under `<backup_dir>/runs` (real path), newest first. */
export async function listHeads(ctx: PluginContext<unknown>, backupDir: string, heads: RunHeads): Promise<RunHead[]> {
  const runs = `${backupDir}/runs`;
  if (!(await ctx.localFs.stat(runs))) return [];
  const out: RunHead[] = [];
  for (const e of await ctx.localFs.readDir(runs)) {
    if (e.type !== 'directory' || !RUN_ID_PATTERN.test(e.name)) continue;
    const r = await heads.head(`${runs}/${e.name}`);
    if (r) out.push(r);
  }
  return out.sort(newestFirst);
}
