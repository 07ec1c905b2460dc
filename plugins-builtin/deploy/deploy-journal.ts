/**
 * The write-ahead journal of `deploy apply`, one per manifest file: a JSON line is appended
 * before each change (with what was there, from the driver's capture) and after it, so a run
 * killed midway can be resumed (`deploy apply` again) or reverted (`deploy rollback`).
 */
import { CxError, type Json, type PluginContext } from 'cx-ops/sdk';

export type JournalEvent =
  | { ev: 'begin'; run: string; file: string; at: string; only: string[] | null }
  | { ev: 'deploying'; run: string; service: string; wave: number; driver: string; before: Json }
  | { ev: 'deployed'; run: string; service: string; ok: boolean; changed: boolean; detail: string }
  | { ev: 'healthy'; run: string; service: string; reason: string }
  | { ev: 'unhealthy'; run: string; service: string; reason: string }
  | { ev: 'reverted'; run: string; service: string; ok: boolean; detail: string }
  | { ev: 'end'; run: string; outcome: 'deployed' | 'reverted' | 'failed' | 'rolled-back'; at: string };

/** The journal file of a manifest (its path as given, made a file name). */
export function journalPath(ctx: PluginContext<unknown>, file: string): string {
  return `${ctx.env.stateDir}/runs/${file.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '')}.jsonl`;
}

/** Appends one event; nothing in a dry run. */
export async function journal(ctx: PluginContext<unknown>, path: string, e: JournalEvent): Promise<void> {
  if (ctx.env.dryRun) return;
  await ctx.localFs.mkdir(`${ctx.env.stateDir}/runs`, { mode: 0o700 });
  await ctx.localFs.writeFile(path, `${JSON.stringify(e)}\n`, { append: true, mode: 0o600 });
}

/** Every run's events (grouped by run id: a rollback appends to an older run), oldest first; a torn last line is ignored. */
export async function readRuns(ctx: PluginContext<unknown>, path: string): Promise<JournalEvent[][]> {
  if (!(await ctx.localFs.stat(path))) return [];
  const runs = new Map<string, JournalEvent[]>();
  for (const [i, line] of (await ctx.localFs.readFile(path)).split('\n').entries()) {
    if (!line.trim()) continue;
    let e: JournalEvent;
    try {
      e = JSON.parse(line) as JournalEvent;
    } catch {
      // A line cut short by a kill: what it would have said did not happen yet.
      continue;
    }
    const wrong = eventProblem(e);
    if (wrong)
      throw new CxError('CX_ERR_STATE_INVALID', {
        file: ctx.localFs.diskPath(path),
        detail: `line ${i + 1}: ${wrong}`,
        what: 'deploy journal',
        schema: 'plugins-builtin/deploy/deploy-journal.ts (one JSON event per line)',
        consequence: 'the next apply then starts without it, so `deploy rollback` cannot undo that run',
      });
    const run = runs.get(e.run);
    if (run) run.push(e);
    else runs.set(e.run, [e]);
  }
  return [...runs.values()];
}

const EVENT_FIELDS: Record<JournalEvent['ev'], Record<string, 'string' | 'boolean' | 'number'>> = {
  begin: { file: 'string', at: 'string' },
  deploying: { service: 'string', wave: 'number', driver: 'string' },
  deployed: { service: 'string', ok: 'boolean', changed: 'boolean', detail: 'string' },
  healthy: { service: 'string', reason: 'string' },
  unhealthy: { service: 'string', reason: 'string' },
  reverted: { service: 'string', ok: 'boolean', detail: 'string' },
  end: { outcome: 'string', at: 'string' },
};

/** What is wrong with a parsed journal line as an event (the fields readers use), or undefined. */
function eventProblem(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || Array.isArray(e))
    return `is not an event object (found: ${JSON.stringify(e)?.slice(0, 40)})`;
  const rec = e as Record<string, unknown>;
  if (typeof rec.run !== 'string') return "field 'run' must be a string";
  const fields =
    typeof rec.ev === 'string' && Object.hasOwn(EVENT_FIELDS, rec.ev)
      ? EVENT_FIELDS[rec.ev as JournalEvent['ev']]
      : undefined;
  if (!fields)
    return `field 'ev' must be one of ${Object.keys(EVENT_FIELDS).join(', ')} (found: ${JSON.stringify(rec.ev)?.slice(0, 40)})`;
  for (const [k, type] of Object.entries(fields))
    if (typeof rec[k] !== type) return `field '${k}' of a '${rec.ev}' event must be a ${type}`;
  return undefined;
}

/** The events of the newest run (empty when there is none). */
export async function lastRun(ctx: PluginContext<unknown>, path: string): Promise<JournalEvent[]> {
  return (await readRuns(ctx, path)).pop() ?? [];
}

/**
 * What the run changed and has not reverted yet, in the order it changed them. A deploy that
 * reported no change is left out; one without a `deployed` line (killed midway) counts as a change.
 */
export function pendingChanges(events: JournalEvent[]): Array<Extract<JournalEvent, { ev: 'deploying' }>> {
  const reverted = new Set(
    events.filter((e) => e.ev === 'reverted' && e.ok).map((e) => (e as { service: string }).service),
  );
  for (const e of events) if (e.ev === 'deployed' && !e.changed && e.ok) reverted.add(e.service);
  const seen = new Set<string>();
  const out: Array<Extract<JournalEvent, { ev: 'deploying' }>> = [];
  for (const e of events) {
    if (e.ev !== 'deploying' || reverted.has(e.service) || seen.has(e.service)) continue;
    // The first capture of a run is what was there before it (a resumed run deploys again).
    seen.add(e.service);
    out.push(e);
  }
  return out;
}

export const isFinished = (events: JournalEvent[]) => events.some((e) => e.ev === 'end');
