/**
 * The `hotfix-operation` contribution kind: one contribution per operation type (`copy`,
 * `append`, `symlink`, `execute`, `capture` are built in; a plugin adds another with
 * `defineContribution('hotfix-operation', 'my-type', { description, schema }, run)`).
 *
 * A type answers two plain-JSON requests, so it works sandboxed too:
 * - `plan`: what the operation will touch (host paths; the engine backs them up and journals
 *   them before `apply`), how to undo it (UndoAction data, default: restore those paths), a
 *   preview for --dry-run, files to keep in the run directory (a rollback script), and problems.
 *   A plan changes nothing.
 * - `apply`: does it; throws (or resolves { ok: false }) on failure. It may leave its changes
 *   unsynced (fs calls with `sync: false`): the engine fsyncs every touched path and its
 *   directory before it journals the step as done.
 * `meta.schema` (optional) is a JSON Schema the operation object must match.
 *
 * A type may also fill `hotfix-operation-batch` under the same id: it is then asked once for
 * many steps of that type that the engine applies side by side (`{ requests: [...] }`, one
 * ApplyResult each, in order), so it can make their changes in one fs.batch call.
 */
import { defineKind, type InvokeOptions, type Json, type PluginContext } from 'cx-ops/sdk';
import type { OperationBase } from './module-types.js';
import type { UndoAction } from './run-journal.js';

export const OPERATION_KIND = 'hotfix-operation';

/** What a type is told about the module and the run. */
export interface OperationContext {
  operation: OperationBase;
  /** The module directory and its src/ (real paths, as given). */
  module_dir: string;
  src_dir: string;
  /** --root ("/" on a live host). */
  root: string;
  /** The run's directory under backup_dir (real path); files named in `stash` are there. */
  run_dir: string;
  step: number;
  /** Real paths of what the engine captured, in `touches` order (apply only). */
  prior?: Array<{ path: string; kind: string; mode?: number; uid?: number; gid?: number }>;
}

export type OperationRequest = ({ op: 'plan' } | { op: 'apply' }) & OperationContext;

/** A change shown by --dry-run. */
export type Preview =
  | { path: string; new_text: string }
  | { path: string; new_from: string }
  | { path: string; symlink_to: string }
  | { command: string[]; cwd: string; note: string }
  | { note: string };

export interface PlanProblem {
  /** A field of the operation ('source', 'target', ...), or 'target-file' for a marker problem in the target. */
  field: string;
  detail: string;
  found?: Json;
  /** For problems inside a target file: the file, line and how to fix it. */
  file?: string;
  line?: number;
  fix?: string;
}

export interface OperationPlan {
  /** Host paths the operation changes (absolute on the host; placed under --root by the engine). */
  touches: string[];
  /** One line for the plan, e.g. "replace /etc/x with src/x (mode 644)". */
  summary: string;
  preview: Preview[];
  /** Undo actions; default [{ do: 'restore' }] (put the touched paths back). */
  undo?: UndoAction[];
  /**
   * True when `apply` replaces every touched path by rename and never writes one in place: the
   * engine may then keep a hard link of a replaced file as its backup instead of a copy.
   */
  replaces?: boolean;
  /** Files to copy into the run directory before the intent is journaled: { from: real path, to: relative }. */
  stash?: Array<{ from: string; to: string }>;
  problems: PlanProblem[];
}

export interface ApplyResult {
  ok: boolean;
  detail: string;
  /** The step's changes are durable already (its paths and their directories fsynced): the engine need not sync them. */
  synced?: boolean;
}

/** What a batch applier is asked: the apply requests of several steps of its type. */
export interface OperationBatchRequest {
  requests: OperationContext[];
}

/** What a type answers to each request. */
export type OperationReply<R extends OperationRequest> = R extends { op: 'plan' } ? OperationPlan : ApplyResult;

/** The `hotfix-operation` kind (declared by this plugin; each operation type fills it). */
export const operationKind = defineKind<OperationRequest, OperationPlan | ApplyResult>(OPERATION_KIND, {
  description:
    "A hotfix operation type: answers { op: 'plan' | 'apply', operation, ... } (see plugins-builtin/hotfix/README.md)",
  metaSchema: {
    type: 'object',
    required: ['description'],
    properties: { description: { type: 'string' }, schema: { type: 'object' } },
  },
});

/** The `hotfix-operation-batch` kind: a type that applies many of its steps in one answer. */
export const operationBatchKind = defineKind<OperationBatchRequest, ApplyResult[]>('hotfix-operation-batch', {
  description:
    'Applies many steps of one hotfix operation type at once: answers { requests: [...] } with one ApplyResult per request, in order',
  metaSchema: { type: 'object', required: ['description'], properties: { description: { type: 'string' } } },
});

/** Asks an operation type; the answer is typed by the request. */
export async function askOperation<R extends OperationRequest>(
  ctx: PluginContext<unknown>,
  type: string,
  req: R,
  options?: InvokeOptions,
): Promise<OperationReply<R>> {
  return (await ctx.registry.invoke(operationKind, type, req, options)) as OperationReply<R>;
}

/** Reads a request's operation field as a string (schema-checked already). */
export function field(o: OperationBase, name: string): string | undefined {
  const v = o[name];
  return typeof v === 'string' ? v : undefined;
}
