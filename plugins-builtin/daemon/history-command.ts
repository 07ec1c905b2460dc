/** `cx-ops history [--check ID] [--since 1h] [--limit N] [--json]`: reads the one history store. */
import { join } from 'node:path';
import { CxError, defineCommand, type CommandInput, type PluginContext } from 'cx-ops/sdk';
import { parseDuration } from './duration.js';
import { escapeControl } from './event-log.js';
import { withHistory } from './history-query.js';
import type { StoredResult } from './history-store.js';

export async function runHistory(ctx: PluginContext<unknown>, input: CommandInput): Promise<number> {
  const o = input.options;
  const since = typeof o.since === 'string' ? parseDuration(o.since) : undefined;
  if (typeof o.since === 'string' && since === undefined)
    throw new CxError('CX_ERR_USAGE', {
      detail: `--since ${o.since} is not a duration`,
      hint: 'give e.g. --since 30m, --since 1h or --since 7d',
      plugin: 'daemon',
    });
  const limit = o.limit === undefined ? 100 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new CxError('CX_ERR_USAGE', {
      detail: `--limit ${String(o.limit)} is not a positive whole number`,
      hint: 'cx-ops history --limit 50',
      plugin: 'daemon',
    });
  const check = typeof o.check === 'string' ? o.check : undefined;
  const file = join(ctx.env.dataDir, 'history.db');
  const got = await withHistory(ctx, (h) => ({
    results: h.results({ check, since: since === undefined ? undefined : Date.now() - since, limit }),
    counts: h.counts(),
  }));
  const results: StoredResult[] = got?.results ?? [];
  if (o.json) {
    ctx.io.out(
      `${JSON.stringify({ database: file, exists: Boolean(got), filter: { check: check ?? null, since: typeof o.since === 'string' ? o.since : null, limit }, results }, null, 2)}\n`,
    );
    return 0;
  }
  if (!got) {
    ctx.io.out(`no history yet: ${file} does not exist (it is written by cx-ops daemon)\n`);
    return 0;
  }
  if (!results.length) {
    ctx.io.out(
      `no results${check ? ` for check '${check}'` : ''}${o.since ? ` in the last ${String(o.since)}` : ''} (${got.counts.results} stored in ${file})\n`,
    );
    return 0;
  }
  for (const r of results)
    ctx.io.out(`${r.ts}  ${r.check_id.padEnd(22)} ${r.status.padEnd(5)} ${escapeControl(r.message)}\n`);
  return 0;
}

export const historyCommand = defineCommand({
  name: 'history',
  description: 'Show stored check results from the daemon history store, newest first',
  options: [
    { flags: '--check <id>', description: 'only this check' },
    { flags: '--since <duration>', description: 'only results newer than this, e.g. 30m, 1h, 7d' },
    { flags: '--limit <n>', description: 'at most this many results (default 100)' },
    { flags: '--json', description: 'print the result as JSON' },
  ],
  help: 'The store is <data-dir>/history.db (SQLite), written by cx-ops daemon.',
  run: runHistory,
});
