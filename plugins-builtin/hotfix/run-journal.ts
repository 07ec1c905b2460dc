/**
 * The write-ahead journal of a hotfix run: `<backup_dir>/runs/<run>/journal.jsonl`, one JSON
 * record per line, each appended and fsynced before the step it announces is taken (format:
 * schemas/hotfix-journal.schema.json, read by cx-ops-rollback too). A record torn by a crash
 * (the last line, without its newline) is ignored: the step it would have announced had not begun.
 *
 * Per step: the prior state of every path it touches (with a backup) and its undo actions go in
 * an `intent` record; `done` follows once the step finished and its changes are durable. Steps
 * that only replace files (undo: restore) and touch different paths are journaled as a batch:
 * their backups are synced together, then their intents are appended in one write (one fsync),
 * the steps run in order, their changes are synced together, then their `done` records go in
 * one write. An intent whose step never ran undoes nothing (its paths are as they were).
 * Rolling back undoes every step with an intent and no `undone`, newest first, so a kill at any
 * point can be undone.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CxError, type PluginContext } from 'cx-ops/sdk';
import { describeSchemaError, type SchemaValidator } from 'cx-ops/sdk/host';
import type { HostFiles } from './host-files.js';

const require = createRequire(import.meta.url);
/** Written by the build beside the compiled plugin (dist only). */
const PRECOMPILED = ['.', 'hotfix-journal.validator.cjs'].join('/');
let validator: SchemaValidator | null = null;

/** schemas/hotfix-journal.schema.json: precompiled by the build (dist), else compiled here once. */
function recordValidator(): SchemaValidator {
  if (validator) return validator;
  try {
    const mod = require(PRECOMPILED) as { default?: SchemaValidator } & SchemaValidator;
    validator = mod.default ?? mod;
  } catch {
    const { Ajv } = require('ajv') as typeof import('ajv');
    // strictRequired off: `required` inside if/then names properties declared beside it.
    validator = new Ajv({ strict: true, strictRequired: false, validateFormats: false }).compile(
      require(SCHEMA_FILE) as object,
    );
  }
  return validator;
}

export const JOURNAL_VERSION = 1;

/** A path as it was before a step: enough to put it back byte for byte. */
export interface PathState {
  /** The real path (under --root). */
  path: string;
  kind: 'absent' | 'file' | 'symlink';
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  sha256?: string;
  /** Symlink target. */
  target?: string;
  /** Backup copy of the file, relative to the run directory. */
  backup?: string;
  /** Directories the step creates above the path (real paths, outermost first): removed again when empty. */
  created_dirs?: string[];
}

/** What undoing a step does, as data (cx-ops-rollback performs the same actions). */
export type UndoAction =
  | { do: 'restore' }
  | { do: 'remove_block'; path: string; begin: string; end: string; written_sha256: string }
  | { do: 'run'; argv: string[]; cwd: string; timeout_ms: number; env: Record<string, string> }
  | { do: 'pg_restore'; dump: string; conn: { host?: string; port?: number; user?: string; database: string } }
  | { do: 'sqlite_restore'; backup: string; path: string }
  | { do: 'services'; file: string };

export type JournalRecord =
  | {
      t: 'begin';
      run: string;
      module_dir: string;
      module_file: string;
      schema_version: string;
      description?: string;
      root: string;
      backup_dir: string;
      steps: Array<{ step: number; op: string; type: string }>;
      resumable: boolean;
    }
  | { t: 'intent'; step: number; op: string; type: string; prior: PathState[]; undo: UndoAction[]; summary: string }
  | { t: 'done'; step: number; op: string; detail?: string }
  | { t: 'failed'; step: number; op: string; error: string }
  | { t: 'checks'; phase: 'pre' | 'post'; ok: boolean }
  | { t: 'commit'; schema_version: string }
  | { t: 'rollback_begin'; reason: string }
  | { t: 'undone'; step: number; op: string; detail: string }
  | { t: 'undo_failed'; step: number; op: string; error: string }
  | { t: 'rollback_end'; complete: boolean; remaining: number[]; kept?: boolean }
  | { t: 'resume' };

export type Stamped = JournalRecord & { v: number; ts: string };

/** Where a run is, read from its journal. */
export type RunState = 'applied' | 'interrupted' | 'rolled-back' | 'rollback-incomplete' | 'failed';

export interface RunSummary {
  run: string;
  dir: string;
  journal: string;
  state: RunState;
  module_dir: string;
  schema_version: string;
  started: string;
  /** Steps with an intent and no undone record, newest first. */
  to_undo: number[];
  records: Stamped[];
}

/** Test hook: CX_HOTFIX_CRASH_AT=N kills this process (SIGKILL) at the Nth crash point. */
const proc = (
  globalThis as {
    process?: { env: Record<string, string | undefined>; pid: number; kill(pid: number, sig: string): void };
  }
).process;
let points = 0;

/** Counts a crash point; at the one CX_HOTFIX_CRASH_AT names, the process dies at once (tests only). */
export function crashPoint(): boolean {
  points++;
  return proc?.env.CX_HOTFIX_CRASH_AT !== undefined && Number(proc.env.CX_HOTFIX_CRASH_AT) === points;
}

function die(): never {
  proc!.kill(proc!.pid, 'SIGKILL');
  throw new Error('unreachable: killed');
}

/** An open run journal. */
export class RunJournal {
  /** True when the journal ends in a torn record that the next append must first end with a newline. */
  private torn = false;
  constructor(
    private readonly files: HostFiles,
    readonly dir: string,
  ) {}

  /** Opens an existing journal to append to it (after a crash: notes a torn tail). */
  async reopen(ctx: PluginContext<unknown>): Promise<void> {
    const text = (await ctx.localFs.stat(this.file)) ? await ctx.localFs.readFile(this.file) : '';
    this.torn = text !== '' && !text.endsWith('\n');
  }

  get file(): string {
    return `${this.dir}/journal.jsonl`;
  }

  /** Appends one record, fsynced before it resolves. */
  append(rec: JournalRecord): Promise<void> {
    return this.appendAll([rec]);
  }

  /**
   * Appends records (one line each) in one write and one fsync. Crash points: before the write
   * and inside it (torn half-way through its last record: the lines before are whole, the torn
   * one is skipped by every reader).
   */
  async appendAll(recs: JournalRecord[]): Promise<void> {
    if (!recs.length) return;
    const ts = new Date().toISOString();
    const text = `${this.torn ? '\n' : ''}${recs.map((r) => `${JSON.stringify({ v: JOURNAL_VERSION, ts, ...r })}\n`).join('')}`;
    this.torn = false;
    if (crashPoint()) die();
    if (crashPoint()) {
      // Torn half-way through the last record: the ones before it in the same write are whole.
      const last = text.lastIndexOf('\n', text.length - 2) + 1;
      await this.files.appendDurable(this.file, text.slice(0, last + Math.floor((text.length - last) / 2)));
      die();
    }
    await this.files.appendDurable(this.file, text);
  }
}

const SCHEMA_FILE = fileURLToPath(new URL('../../schemas/hotfix-journal.schema.json', import.meta.url));
let branches: Map<unknown, string> | null = null;

/**
 * The errors of the record type a record says it is: the schema is a oneOf by `t`, and the first
 * error of the whole is another type's missing field.
 */
function ownBranchErrors(errors: SchemaValidator['errors'], rec: unknown): SchemaValidator['errors'] {
  branches ??= new Map(
    (require(SCHEMA_FILE) as { oneOf: Array<{ properties: { t: { const: string } } }> }).oneOf.map((b, i) => [
      b.properties.t.const,
      `#/oneOf/${i}/`,
    ]),
  );
  const at = branches.get((rec as { t?: unknown } | null)?.t);
  const own = at ? (errors ?? []).filter((e) => e.schemaPath.startsWith(at)) : [];
  return own.length ? own : errors;
}

/**
 * Parses the journal `file`'s text. A line that is not JSON is a record torn by a crash mid-write
 * (every append is one whole line otherwise; a writer that finds a torn tail ends it with a
 * newline first): it announced nothing that had begun, so it is skipped. A line that is JSON but
 * not a record of schemas/hotfix-journal.schema.json was not written by cx-ops: the journal is
 * damaged (CX_ERR_STATE_INVALID naming the line), never undone from guesses.
 */
export function parseJournal(text: string, file: string): Stamped[] {
  const out: Stamped[] = [];
  const validate = recordValidator();
  for (const [i, l] of text.split('\n').entries()) {
    if (!l) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(l);
    } catch {
      continue; // torn record
    }
    if (!validate(rec)) {
      const p = describeSchemaError(ownBranchErrors(validate.errors, rec), rec);
      throw new CxError('CX_ERR_STATE_INVALID', {
        file,
        detail: `line ${i + 1}: field '${p.field}' ${p.detail}`,
        what: 'hotfix run journal',
        schema: 'schemas/hotfix-journal.schema.json',
        consequence: 'that run can then no longer be rolled back by cx-ops: its backups stay in the run directory',
      });
    }
    out.push(rec as Stamped);
  }
  return out;
}

/** The state of a run from its records. */
export function summarize(dir: string, records: Stamped[]): RunSummary {
  const begin = records.find((r) => r.t === 'begin') as Extract<Stamped, { t: 'begin' }> | undefined;
  // A step needs undoing when its last intent comes after its last undone record (a resumed
  // run undoes an interrupted step and journals its intent again before redoing it).
  const last = new Map<number, 'intent' | 'undone'>();
  for (const r of records) if (r.t === 'intent' || r.t === 'undone') last.set(r.step, r.t);
  const to_undo = [...last]
    .filter(([, t]) => t === 'intent')
    .map(([step]) => step)
    .sort((a, b) => b - a);
  let state: RunState = 'interrupted';
  const end = [...records]
    .reverse()
    .find((r) => r.t === 'commit' || r.t === 'rollback_end' || r.t === 'rollback_begin' || r.t === 'resume');
  if (end?.t === 'commit') state = 'applied';
  else if (end?.t === 'rollback_end')
    state = end.complete ? 'rolled-back' : end.kept ? 'failed' : 'rollback-incomplete';
  return {
    run: begin?.run ?? dir.split('/').pop()!,
    dir,
    journal: `${dir}/journal.jsonl`,
    state,
    module_dir: begin?.module_dir ?? '',
    schema_version: begin?.schema_version ?? '',
    started: begin?.ts ?? '',
    to_undo,
    records,
  };
}

/** Reads the run in `dir` (a directory holding journal.jsonl); null when it has none. */
export async function readRun(ctx: PluginContext<unknown>, dir: string): Promise<RunSummary | null> {
  const file = `${dir}/journal.jsonl`;
  if (!(await ctx.localFs.stat(file))) return null;
  return summarize(dir, parseJournal(await ctx.localFs.readFile(file), ctx.localFs.diskPath(file)));
}

/**
 * Orders runs newest first: by the begin record's time (milliseconds), then by id. Two runs
 * started in the same second have ids that differ only in their random part.
 */
export function newestFirst(a: Pick<RunSummary, 'started' | 'run'>, b: Pick<RunSummary, 'started' | 'run'>): number {
  return b.started.localeCompare(a.started) || b.run.localeCompare(a.run);
}

/** `20261201-204512-3fa9`: UTC time and 4 random hex digits. */
export const RUN_ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

export function newRunId(now: Date, random: string): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}-${random}`;
}
